"""qrepeater.links"""
