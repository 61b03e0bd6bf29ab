"""``ralph run``: pick a story, let the agent work, verify on a shadow database, promote, log.

The database and the stories file decide what is left to do (``passes`` is only a cache,
re-verified before a story is skipped), so a run after a crash resumes where the database is.
progress.log gets the seed's lines, one whole line per write; one JSON record per iteration
goes to ``.ralph/iterations/``.
"""

from __future__ import annotations

import json
import re
import os
import signal
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path

from schema_tools import ConfigError, SchemaToolsError, Settings, connect, database_url, read_migrations
from schema_tools.harness import exclusive

from .attempt import Outcome, attempt, story_problems
from .completion import completion_lines
from .drafting import StoryDraft, draft_story, write_draft
from .agent import choose_sandbox
from ..logformat import (ProgressLog, bullet, finding, iteration_ended, iteration_started, note, printable, run_ended,
                        run_started, stamp, stamped, story_completed)
from .prompt import Situation, build_prompt, learnings, next_migration_id
from .stories import Story, load_stories, set_passes
from .servers import run_target
from .target import Target, TargetState
from .turn import Turn, TurnFiles, agent_tail, agent_turn


@dataclass(frozen=True)
class RunOptions:
    settings: Settings
    stories: Path
    log: Path
    state: Path
    max_iterations: int = 10
    story: str | None = None
    agent: list[str] | None = None
    agent_timeout: float = 1800.0
    max_identical_failures: int = 3
    sandbox: str = "auto"  # auto | bubblewrap | none
    run_lock_wait: float = 0.0  # seconds to wait for another ralph run on the same target
    generate: bool = False  # draft each story's migration with schema-tools generate first
    max_statement_timeout: str = "1min"  # cap on every migration's statement_timeout (lock_timeout: the project's)
    say: Callable[[str], None] = print  # a line for the terminal


VARYING = re.compile(r"schema_tools_(?:scratch|agent)_[0-9a-f]+|\S*/\S*|\S+\.(?:log|json|md|tmp)\b|\d{4}-\d\d-\d\d[T ][\d:.+-]+|\b(?:pid|port)[ =:]+\d+|\b[0-9a-f]{12,}\b|\b\d{5,}\b")


def failure_signature(finding: str) -> str:
    """A finding without what changes from one run of the same failure to the next: paths, times,
    process ids, ports, hashes and generated names (so the stop rule can see the failure repeat)."""
    return VARYING.sub("#", finding)


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt("SIGTERM")


class Loop:
    def __init__(self, options: RunOptions) -> None:
        self.o = options
        self.log = ProgressLog(options.log)
        self.run_id = datetime.now().strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}"
        self.attempts: dict[str, int] = {}
        self.use_sandbox = False

    def say(self, text: str) -> None:
        """A line for the terminal, with no control character (an agent's or a RAISE's escape sequences
        would move the cursor, retitle the window or write the clipboard)."""
        self.o.say(printable(text))

    def line(self, body: str) -> None:
        self.log.append(stamped(body))

    # --- the run -------------------------------------------------------------------------
    def run(self) -> int:
        stories = load_stories(self.o.stories)  # bad input fails before the log is touched
        if self.o.story and self.o.story not in {s.id for s in stories}:
            raise ConfigError(f"--story {self.o.story}: no such story in {self.o.stories}",
                              hint=f"stories: {', '.join(s.id for s in stories)}")
        read_migrations(self.o.settings)
        self.use_sandbox = choose_sandbox(self.o.sandbox) if self.o.agent else False
        settings = replace(self.o.settings.with_database(database_url(self.o.settings)),
                           max_lock_timeout=self.o.settings.lock_timeout,
                           max_statement_timeout=self.o.max_statement_timeout)  # headers may lower them, never raise
        with connect(settings, "ralph run") as conn, \
                exclusive(conn, "ralph.run", wait=self.o.run_lock_wait, holder="another ralph run"):
            self.line(run_started(self.o.max_iterations))
            if self.o.agent and not self.use_sandbox:
                unsafe = ("no sandbox: the agent runs as you, so what it changes outside its workspace is detected "
                          "and fails the iteration, but is not prevented (install bubblewrap)")
                self.line(note(unsafe))
                print(f"ralph: {unsafe}", file=sys.stderr, flush=True)  # said where the person running it looks
            reason: str | None = "stopped by an error"
            previous = signal.signal(signal.SIGTERM, _terminated)  # a CI timeout or kill: end the log cleanly
            try:
                with ExitStack() as stack:
                    code, reason = self._iterate(Target(settings, conn), stack)
            except KeyboardInterrupt as exc:
                code, reason = 130, f"interrupted by {exc.args[0] if exc.args else 'Ctrl-C'}"
            except SchemaToolsError as exc:
                reason = f"error: {exc.one_line()}"
                raise
            finally:
                signal.signal(signal.SIGTERM, previous)
                self.line(run_ended(reason))
        passing = sum(s.passes for s in load_stories(self.o.stories))
        self.say(f"ralph: {passing} of {len(stories)} stories pass after {sum(self.attempts.values())} iteration(s)"
                   + (f"; {reason}" if reason else "") + f" (log: {self.o.log})")
        return code

    def _passing(self, stories: list[Story], state: TargetState) -> dict[str, list[str]]:
        """Problems per story on the target (empty list: it holds); the passes cache synced."""
        problems = {}
        for story in stories:
            found = story_problems(story, state)
            problems[story.id] = found
            if story.passes != (not found):
                set_passes(self.o.stories, story.id, not found)
        return problems

    def _next(self, stories: list[Story], problems: dict[str, list[str]]) -> tuple[Story | None, str | None]:
        wanted = [s for s in stories if s.id == self.o.story] if self.o.story else stories
        todo = sorted((s for s in wanted if problems[s.id]), key=lambda s: (s.priority, s.id))
        if not todo:
            return None, None
        for story in todo:
            if all(not problems[d] for d in story.depends_on):
                return story, None
        waiting = todo[0]
        blocked = [d for d in waiting.depends_on if problems[d]]
        return None, f"no story can run: {waiting.id} waits for {', '.join(blocked)}"

    def _iterate(self, target: Target, stack: ExitStack) -> tuple[int, str | None]:
        """Iterations until every story passes or a stop rule; the owner login and the throwaway
        cluster are set up (in ``stack``) before the first, only when there is one."""
        ready = False
        last: tuple[str, tuple[str, ...]] | None = None
        repeats = 0
        previous: list[str] = []
        for iteration in range(1, self.o.max_iterations + 2):
            stories = load_stories(self.o.stories)
            state = target.read()
            problems = self._passing(stories, state)
            story, blocked = self._next(stories, problems)
            if story is None:
                return (1, blocked) if blocked else (0, None)
            if iteration > self.o.max_iterations:
                return 1, f"max iterations ({self.o.max_iterations}) reached; {story.id} still open"
            if not ready:
                target, ready = stack.enter_context(run_target(target, self.line)), True
            self.line(iteration_started(iteration, story.id, story.title))
            open_owned = {m for s in stories if s.id != story.id and problems[s.id] for m in s.migrations}
            outcome, after = self._iteration(target, state, iteration, story, previous, open_owned,
                                             [s for s in stories if s.id != story.id and not problems[s.id]],
                                             problems[story.id])
            took = f"{outcome.durations.get('total', 0):.1f} s"
            if outcome.passed and after is not None:
                self.say(f"iteration {iteration}: {story.id} passed ({took})")
                self.line(iteration_ended(iteration, "success"))
                self._complete(target.settings, story, outcome, after)
                last, repeats, previous = None, 0, []
                continue
            self.say(f"iteration {iteration}: {story.id} failed ({took}): " + "; ".join(outcome.findings[:3])
                       + (f" (+{len(outcome.findings) - 3} more in progress.log)" if len(outcome.findings) > 3 else ""))
            self.log.append(stamped(iteration_ended(iteration, "issues")), *map(finding, outcome.findings))
            signature = (story.id, tuple(sorted({failure_signature(f) for f in outcome.findings})))
            repeats = repeats + 1 if signature == last else 1
            last, previous = signature, outcome.findings
            limit = self.o.max_identical_failures if self.o.agent else 2
            if repeats >= limit:
                who = f"{limit} times in a row" if self.o.agent else "twice and no agent is configured to fix it"
                return 1, f"stopped: {story.id} failed the same way {who}: {outcome.findings[0]}"
        raise AssertionError("unreachable")

    # --- one iteration -------------------------------------------------------------------
    def _iteration(self, target: Target, state: TargetState, iteration: int, story: Story, previous: list[str],
                   open_owned: set[str], passing: list[Story], open_because: list[str]) -> tuple[Outcome, TargetState | None]:
        started = time.monotonic()
        self.attempts[story.id] = self.attempts.get(story.id, 0) + 1
        settings = target.settings
        before = target.fingerprint()
        turn: Turn | None = None
        # proven on the throwaway cluster: the target's server is not asked for a scratch database
        drafted = draft_story(target.scratch or settings, self.o.stories, story.id) if self.o.generate else None
        if drafted is not None and (drafted.usable or not self.o.agent):
            outcome, after = self._drafted(target, state, story, drafted, open_owned, passing)
            if outcome.passed or not self.o.agent:
                outcome.durations["total"] = round(time.monotonic() - started, 3)
                self._record(iteration, story, outcome, before, target.fingerprint(), None)
                return outcome, after
            previous = outcome.findings  # the agent starts from the draft and why it failed
        if self.o.agent:
            situation = Situation(
                applied=tuple(m.id for m in read_migrations(settings) if m.id in state.applied), catalog=state.catalog,
                open_because=tuple(open_because), next_id=next_migration_id(settings.migrations_dir, story),
                passed_before=story.passes, learned=tuple(n for n in learnings(self.o.log, story.id) if n not in previous))
            prompt = build_prompt(story, settings.migrations_dir, previous, situation)
            if drafted is not None:
                prompt += "\n" + drafted.prompt_section(settings.migrations_dir.name) + "\n"
            files = TurnFiles(self.o.stories, self.o.log, self.o.state,
                              self.o.state / "iterations" / f"{self.run_id}-{iteration:03d}-agent.log")
            turn = agent_turn(target, state, story, open_owned, self.o.agent, prompt, files, self.o.agent_timeout,
                              iteration, self.use_sandbox)
        if turn is not None and turn.taken:
            self.line(note(f"took back from the agent's workspace: {', '.join(turn.taken)}"))
        if turn is not None and turn.findings:  # tampering or refused files: nothing of this iteration is promoted
            outcome, after = Outcome(findings=list(turn.findings)), None
        else:
            outcome, after = attempt(target, story, open_owned, state, passing)
        outcome.durations["total"] = round(time.monotonic() - started, 3)
        if turn is not None:
            outcome.durations["agent"] = turn.seconds
            if turn.exit_code not in (0, None):
                said = agent_tail(turn.log)
                exited = f"agent: exited with code {turn.exit_code}" + (f"; its last output: {said}" if said else "")
                if outcome.passed:
                    self.line(note(exited + " (the harness verified its work all the same)"))
                else:
                    outcome.findings.append(exited)
        self._record(iteration, story, outcome, before, target.fingerprint(), turn)
        return outcome, after

    def _drafted(self, target: Target, state: TargetState, story: Story, drafted: StoryDraft, open_owned: set[str],
                 passing: list[Story]) -> tuple[Outcome, TargetState | None]:
        """A complete draft is written and attempted like the agent's work; an incomplete one fails."""
        if not drafted.usable:
            return Outcome(findings=drafted.findings()), None
        written = write_draft(target.settings, drafted)
        self.line(note(f"generate: drafted {', '.join(n for n in written if not n.endswith('.rollback.sql'))} "
                       "from the story's expectations (proven on a scratch database)"))
        return attempt(target, story, open_owned, state, passing)

    def _complete(self, settings: Settings, story: Story, outcome: Outcome, state: TargetState) -> None:
        owned = [m for m in read_migrations(settings) if m.id in story.migrations]
        lines = completion_lines(story, owned, state.catalog, settings.project_root, outcome.verdicts, outcome.checks)
        self.log.append("", stamped(story_completed(story.id)), *map(bullet, lines), "")
        set_passes(self.o.stories, story.id, True)

    def _record(self, iteration: int, story: Story, outcome: Outcome, before: str, after: str,
                turn: Turn | None) -> None:
        folder = self.o.state / "iterations"
        folder.mkdir(parents=True, exist_ok=True)
        record = {
            "run": self.run_id, "iteration": iteration, "story": story.id, "attempt": self.attempts[story.id],
            "outcome": "success" if outcome.passed else "issues", "findings": outcome.findings,
            "criteria": [asdict(v) for v in outcome.verdicts],
            "schema_fingerprint_before": before, "schema_fingerprint_after": after,
            "durations_seconds": outcome.durations, "at": stamp(),
            "agent": None if turn is None else {"exit_code": turn.exit_code, "sandbox": turn.sandbox,
                                                "taken_back": turn.taken},
        }
        path = folder / f"{self.run_id}-{iteration:03d}.json"
        path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
