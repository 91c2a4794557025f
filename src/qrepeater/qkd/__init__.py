"""qrepeater.qkd"""
