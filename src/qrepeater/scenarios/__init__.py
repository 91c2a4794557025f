"""qrepeater.scenarios"""
