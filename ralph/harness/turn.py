"""The agent's turn of an iteration, run as if the agent were an attacker.

1. A private copy of the project (the workspace) and a scratch database with a login that
   reaches only it; nothing of the harness's credentials in the agent's environment.
2. The agent runs in bubblewrap where the machine has it (the file system read-only but for the
   workspace; the harness's state, passfiles and service files hidden), as a child of a
   subreaper; whatever it leaves running is killed and reported.
3. Afterwards, sandbox or not: every file the harness reads (its code and its dependencies'
   included) is compared with its snapshot and restored; the target is compared with its mark.
4. Only then are the story's own pending migration files taken back from the workspace.
Any tampering fails the iteration before anything is taken back or promoted.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import site
import string
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from schema_tools import SchemaToolsError, Settings, connect
from schema_tools.harness import changes_on, mark_on, migrate_on, password_of, scratch_login, secret_files

from .agent import Sandbox, agent_environment, run_agent
from .guard import Guard, purge_bytecode
from .stories import Story
from .target import Target, TargetState
from .workspace import make_workspace, take_back

DEPENDENCIES = ("schema_tools", "ralph", "psycopg", "psycopg_binary", "sqlglot", "sqlglotc", "tomlkit")


@dataclass
class Turn:
    """What the agent's turn gave: findings that fail the iteration, and what was taken back."""

    findings: list[str] = field(default_factory=list)
    taken: list[str] = field(default_factory=list)
    exit_code: int | None = None
    seconds: float = 0.0
    sandbox: str = "none"
    log: Path | None = None  # its output (secrets redacted), kept by the harness


@dataclass(frozen=True)
class TurnFiles:
    """The harness's files: what it reads (guarded) and where the agent's output goes."""

    stories: Path
    log: Path
    state: Path
    agent_log: Path


def _package_dir(name: str) -> Path | None:
    """Where the package this process runs is (an imported module's own file first: a folder of
    the same name in the current folder must not stand in for it)."""
    if name == "ralph":
        return Path(__file__).resolve().parents[1]  # ralph/, not ralph/harness/: all of its code
    module = sys.modules.get(name)
    if module is not None and getattr(module, "__file__", None):
        return Path(str(module.__file__)).resolve().parent
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.origin or spec.origin == "namespace":
        return None
    return Path(spec.origin).resolve().parent


def guarded(settings: Settings, files: TurnFiles, sandboxed: bool) -> Guard:
    """Everything the harness reads: its inputs, its records, its code and (without a sandbox, where
    the agent could rewrite them) its dependencies' code and the interpreter's start-up hooks."""
    inputs = [files.stories, files.log, *(p for p in (settings.pyproject, settings.integrity_checks) if p),
              *settings.expect_files]
    trees = [(settings.migrations_dir, "*"), (files.state / "iterations", "*")]
    names = DEPENDENCIES if not sandboxed else ("schema_tools", "ralph")
    trees += [(folder, "*") for folder in map(_package_dir, names) if folder is not None]
    # Python code in the project that `python -m ralph` there would import in place of ours.
    trees += [(settings.project_root / name, "*.py") for name in names]
    hooks = [(Path(folder), "*.pth") for folder in [*site.getsitepackages(), site.getusersitepackages()]]
    hooks.append((settings.project_root, "*.py"))
    return Guard(inputs, trees, settings.project_root, flat=hooks)


def hidden_paths(settings: Settings) -> tuple[Path, ...]:
    """What the sandboxed agent must not see: the harness's state (the embedded server's
    passfile is there), its records, and the user's libpq password and service files."""
    home = Path.home()
    candidates = [settings.state_path, settings.project_root / ".ralph", home / ".pgpass", home / ".pg_service.conf"]
    for variable in ("PGPASSFILE", "PGSERVICEFILE"):
        if os.environ.get(variable):
            candidates.append(Path(os.environ[variable]))
    candidates += secret_files(settings.database_url or "")
    return tuple(dict.fromkeys(c for c in candidates if c.exists()))


def agent_tail(log: Path | None, lines: int = 3) -> str:
    """The last non-empty lines of the agent's output, on one line (it is redacted already)."""
    if log is None or not log.exists():
        return ""
    with open(log, "rb") as handle:
        handle.seek(max(0, log.stat().st_size - 4096))
        text = handle.read().decode("utf-8", "replace")
    kept = [" ".join(line.split())[:200] for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(kept)


SAFE_NAME = frozenset(string.ascii_letters + string.digits + "_-")


def badly_named(project: Path, settings: Settings) -> list[str]:
    """The agent's new or changed migration files whose names hold anything but ASCII letters, digits,
    ``_`` and ``-`` (before ``.sql`` or ``.rollback.sql``): refused, as a look-alike letter would make a
    file no one can tell from another (and a control character would write its own lines in the log)."""
    try:
        folder = project / settings.migrations_dir.relative_to(settings.project_root)
    except ValueError:
        return []
    found = []
    for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
        name = entry.name
        stem = name.removesuffix(".sql").removesuffix(".rollback")
        if not name.endswith(".sql") or (stem and set(stem) <= SAFE_NAME) or (settings.migrations_dir / name).exists():
            continue
        found.append(f"refused: the agent wrote a migration file named {ascii(name)}; a name holds only ASCII "
                     "letters, digits, '_' and '-' (then .sql or .rollback.sql)")
    return found


def copy_schema(scratch: Settings, applied: frozenset[str]) -> str:
    """Apply the target's applied migrations to the agent's scratch database, as the agent's own
    login (so it owns what they create): the target's schema, none of its data. '' when it
    worked, else what went wrong."""
    if not applied:
        return ""
    try:
        with connect(scratch, "ralph scratch copy") as conn:
            migrate_on(conn, scratch, only=applied)
    except SchemaToolsError as exc:
        return exc.one_line()
    except psycopg.Error as exc:
        return " ".join(str(exc).split())[:300]
    return ""


def agent_turn(target: Target, state: TargetState, story: Story, others: set[str], argv: list[str], prompt: str,
               files: TurnFiles, timeout: float, iteration: int, use_sandbox: bool) -> Turn:
    """Run the agent once and bring back what it may give; see the module's docstring."""
    settings = target.settings
    turn = Turn(sandbox="bubblewrap" if use_sandbox else "none")
    workspace = make_workspace(settings.project_root)
    guard = guarded(settings, files, use_sandbox)
    started = time.time()
    try:
        before = mark_on(target.conn)
        server, admin = target.scratch_server  # a throwaway local cluster: the target's server never hears of it
        with scratch_login(server, admin) as login:
            copied = copy_schema(settings.with_database(login.url), state.applied)
            if copied:
                prompt += f"\nNote: the scratch database does not hold every applied migration: {copied}\n"
            secrets = [login.password, password_of(settings.database_url or "") or ""]
            env = agent_environment({"DATABASE_URL": login.url, "RALPH_PROMPT_FILE": str(workspace.prompt_file),
                                     "RALPH_STORY_ID": story.id, "RALPH_ITERATION": str(iteration),
                                     "TMPDIR": str(workspace.temporary)}, secrets)
            box = Sandbox(workspace.project, workspace.base, hidden_paths(settings))
            result = run_agent(argv, prompt, workspace.prompt_file, workspace.base / "agent.log", env, timeout, box,
                               use_sandbox, secrets, echo=_to_terminal if sys.stderr.isatty() else None)
        turn.exit_code, turn.seconds = result.exit_code, round(result.seconds, 3)
        if result.timed_out:  # its processes were killed by the timeout, the harness's own doing: said once, as such
            turn.findings.append(f"agent: timed out after {timeout:g}s; the harness killed it and every process it "
                                 "had started (its output: .ralph/iterations/)")
        else:
            turn.findings += [f"tampering: a process outlived the agent and was killed ({s})" for s in result.survivors]
        turn.findings += [f"tampering: {left}" for left in login.leftovers]
        turn.findings += guard.restore_changes()
        purge_bytecode(guard.folders, started)
        files.agent_log.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(result.log, files.agent_log)  # after the check: the harness's own new file
        turn.log = files.agent_log
        turn.findings += [f"tampering: on the target, {change} while the agent ran"
                          for change in changes_on(target.conn, before, strict=turn.sandbox == "none")]
        if turn.findings:
            return turn
        turn.findings += badly_named(workspace.project, settings)
        if turn.findings:
            return turn
        back = take_back(workspace, settings, story.migrations, state.applied, others)
        turn.taken, turn.findings = back.taken, back.refused
        return turn
    finally:
        workspace.remove()


def _to_terminal(line: str) -> None:
    """One line of the agent's output, live, on a terminal's stderr (already redacted and inert)."""
    print(f"  agent | {line}", file=sys.stderr, flush=True)
