"""qrepeater.report"""
