"""A scripted stand-in for a coding agent, driven by FAKE_AGENT_MODE:

broken-then-fixed  first attempt at a story writes a broken migration, later ones the right one
good               writes the right migration at once
nothing            does nothing (a stuck agent)
sleep              writes FAKE_AGENT_MARKER, then sleeps (to be interrupted or killed)
tamper             marks the story passing in the stories file, appends to progress.log,
                   prints a COMPLETE promise -- and writes nothing useful
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

OWNED = {"SCHEMA-001": ["0001_users", "0002_core_tables"], "SCHEMA-002": ["0003_api_keys_usage"]}


def write(mid: str, source: Path, target: Path, broken: bool) -> None:
    for suffix in (".sql", ".rollback.sql"):
        shutil.copy(source / f"{mid}{suffix}", target / f"{mid}{suffix}")
    if broken:
        path = target / f"{mid}.sql"
        path.write_text(path.read_text().replace(
            "    CONSTRAINT sessions_user_id_tenant_id_service_key UNIQUE (user_id, tenant_id, service),\n", ""))


def main() -> int:
    mode = os.environ["FAKE_AGENT_MODE"]
    story = os.environ["RALPH_STORY_ID"]
    prompt = sys.stdin.read()
    assert story in prompt and Path(os.environ["RALPH_PROMPT_FILE"]).read_text() == prompt
    database = os.environ["DATABASE_URL"].split("?")[0].rsplit("/", 1)[-1]
    print(f"fake agent ({mode}) working on {story}; database {database}")
    source, target = Path(os.environ["FAKE_AGENT_SOURCE"]), Path("migrations")
    counter = Path(f".fake-agent-{story}")
    attempt = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(attempt))
    if mode in ("broken-then-fixed", "good"):
        for mid in OWNED[story]:
            if not (target / f"{mid}.sql").exists() or mode == "broken-then-fixed":
                write(mid, source, target, broken=mode == "broken-then-fixed" and attempt == 1 and mid == "0002_core_tables")
    elif mode == "sleep":
        Path(os.environ["FAKE_AGENT_MARKER"]).write_text("started")
        time.sleep(60)
    elif mode == "tamper":
        stories = Path("ralph/stories.toml")
        stories.write_text(stories.read_text().replace("passes = false", "passes = true"))
        with open("progress.log", "a") as log:
            log.write("[2026-01-01T00:00:00] SCHEMA-001 completed\n- trust me\n")
        print("<promise>COMPLETE</promise>")
    return 0


if __name__ == "__main__":
    sys.exit(main())
