"""ralph: the Ralph loop over schema stories, and tools for reading its progress.log.

It uses only the names ``schema_tools`` exports.
"""
