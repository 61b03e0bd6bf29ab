"""ralph: two products over one log format.

- ``ralph.harness``: the Ralph loop over schema stories (``ralph run``, ``ralph import``), which
  appends to progress.log;
- ``ralph.review``: what a reviewer reads of any progress.log (``ralph log``, ``ralph report``);
- ``ralph.logformat``: the one grammar of progress.log, writers and reader, which both use.

The review never imports the harness, nor the harness the review (``tests/test_ralph_layers.py``);
both use only the names ``schema_tools`` exports.
"""
