"""qrepeater.cli"""
