"""The review of a progress.log, any of them, old and messy ones included (``ralph log``, ``ralph
report``). It reads the log through ``ralph.logformat`` and never imports ``ralph.harness``.

- ``summary.py``: runs, iterations, stories and anomalies, streamed with flat memory
- ``logview.py``: ``ralph log`` as text or JSON; ``report.py``: ``ralph report``'s HTML page, with
  ``er.py``'s ER diagram and verify results of the database ``database.py`` attaches
"""
