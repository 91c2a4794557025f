"""qrepeater.physics"""
