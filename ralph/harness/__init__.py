"""The Ralph loop harness (``ralph run``, ``ralph import``): pick a story, let the agent (if any)
work, check its migrations on a shadow database, promote them to the target, and append to
progress.log. It writes the log through ``ralph.logformat`` and never imports ``ralph.review``.

- ``loop.py``: the loop, one iteration at a time; ``attempt.py``: shadow, checks, promotion;
  ``target.py``: the target's connection and state; ``servers.py``: the owner login promotion runs
  as and the throwaway cluster for the agent's scratch database and the shadows; ``promotion.py``:
  the checks on the target, inside the promotion's transaction, on a pinned session
- ``turn.py``, ``agent.py``, ``workspace.py``: the agent's turn (workspace, scratch login,
  bubblewrap, subreaper) and the take-back of the story's migrations
- the guards: ``guard.py`` (the harness's own files), ``data_guard.py`` (the target's rows),
  ``scope.py`` (what a story's migrations may change); ``criteria.py`` judges a story,
  ``completion.py`` writes its completion block
- ``prompt.py`` and ``drafting.py``: what the agent is told, and ``--generate``'s draft;
  ``stories.py`` and ``prd.py``: the stories file and the import of a prd.json
"""
