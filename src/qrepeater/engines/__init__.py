"""qrepeater.engines"""
