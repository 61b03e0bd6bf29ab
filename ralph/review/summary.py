"""Summarise a progress.log: runs, iterations, stories, and the anomalies a reviewer must see.

Streaming: each run is handed to ``on_run`` when it is complete and not kept (unless
``keep_runs``), stories and anomaly counts are aggregates, and anomaly examples are capped,
so memory stays flat however long the log is.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from ..logformat import (Blank, Bullet, Comment, Event, Finding, IterationEnded, IterationStarted, Note, Outcome,
                        RunEnded, RunStarted, StoryCompleted, Tally, Unknown, Unreadable, deliver,
                        dispatch_log, parse_stamp)

EXAMPLES_PER_ANOMALY = 20
FINDINGS_PER_ITERATION = 20
ANOMALY_TITLES = {
    "rerun-after-success": "story run again after it succeeded",
    "failed-after-success": "story succeeded, then later failed",
    "run-never-ended": "run started and never ended",
    "iteration-without-outcome": "iteration started and never got an outcome",
    "completed-without-iteration": "story reported completed with no iteration logged for it",
    "completed-after-failure": "story reported completed although its last iteration had issues",
    "timezones": "timestamps whose time zones cannot be reconciled",
    "unreadable-lines": "lines that could not be read",
    "overlapping-runs": "two runs wrote to the log at the same time (lines interleaved)",
}
OPEN_RUNS = 4  # runs that may still be writing at once; an older one beyond that is taken as ended (never)


def _time(stamp: str) -> datetime | None:
    return parse_stamp(stamp) if stamp else None


def _delta(start: datetime | None, end: datetime | None) -> timedelta | None:
    if start is None or end is None or (start.tzinfo is None) != (end.tzinfo is None):
        return None
    return end - start


@dataclass(slots=True)
class Iteration:
    number: int
    story: str
    title: str
    started: str
    line: int
    started_at: datetime
    outcome: Outcome | None = None  # None: it never got one
    ended: str = ""
    duration: timedelta | None = None
    findings: list[str] = field(default_factory=list)


@dataclass(slots=True, eq=False)  # a run is itself, not its fields: open runs are found by identity
class Run:
    index: int
    started: str
    line: int
    max_iterations: int
    ended: str = ""
    end_reason: str | None = None
    iterations: list[Iteration] = field(default_factory=list)
    pending: Iteration | None = None  # the iteration started last, while it awaits its outcome
    touched: int = 0  # the line of the last event that belonged to it
    overlapped: bool = False  # flagged already as overlapping a later run

    @property
    def never_ended(self) -> bool:
        return not self.ended


@dataclass
class StoryStats:
    id: str
    title: str = ""
    attempts: int = 0
    successes: int = 0
    issues: int = 0
    no_outcome: int = 0
    first_attempt: str = ""
    first_success: str = ""
    completed_at: str = ""
    last_outcome: Outcome | None = None
    bullets: list[str] = field(default_factory=list)
    reruns_after_success: int = 0
    first_rerun: tuple[str, int] = ("", 0)
    failures_after_success: int = 0
    first_failure_after_success: tuple[str, int] = ("", 0)

    @property
    def time_to_completion(self) -> timedelta | None:
        """From the first attempt to the first success (or, without one, the completion block)."""
        return _delta(_time(self.first_attempt), _time(self.first_success or self.completed_at))


@dataclass
class Anomaly:
    kind: str
    message: str
    line: int


@dataclass
class Summary:
    path: str = ""
    lines: int = 0
    runs: int = 0
    runs_ended: int = 0
    iterations: int = 0
    stories: dict[str, StoryStats] = field(default_factory=dict)
    anomalies: list[Anomaly] = field(default_factory=list)
    anomaly_counts: dict[str, int] = field(default_factory=dict)
    unknown_lines: int = 0
    unreadable_lines: int = 0
    stamp_styles: dict[str, int] = field(default_factory=dict)
    first_stamp: str = ""
    last_stamp: str = ""
    kept_runs: deque[Run] = field(default_factory=deque)

    def flag(self, kind: str, message: str, line: int) -> None:
        count = self.anomaly_counts.get(kind, 0)
        self.anomaly_counts[kind] = count + 1
        if count < EXAMPLES_PER_ANOMALY:
            self.anomalies.append(Anomaly(kind, message, line))

    def counted(self, kind: str) -> bool:
        """Count an anomaly of ``kind`` that has its examples already (no message to write): True
        when it has, else ``flag`` it."""
        count = self.anomaly_counts.get(kind, 0)
        if count < EXAMPLES_PER_ANOMALY:
            return False
        self.anomaly_counts[kind] = count + 1
        return True


class _Summariser:
    """Runs are told apart even when two of them write to one log at the same time: each line
    goes to the open run it fits (iteration numbers follow each other within a run, an outcome
    answers its run's pending iteration), and findings follow the outcome line they come after."""

    def __init__(self, on_run: Callable[[Run], None] | None, keep_runs: int) -> None:
        self.s = Summary(kept_runs=deque(maxlen=keep_runs or None) if keep_runs else deque(maxlen=0))
        self.on_run = on_run
        self.open: list[Run] = []  # started, not ended; oldest first
        self.done: dict[int, Run] = {}  # closed, waiting for older runs to close (runs are handed on in order)
        self.next_index = 1
        self.last_outcome: Iteration | None = None  # findings after an outcome line belong to it
        self.story_block: StoryStats | None = None
        self.stories = self.s.stories
        self.kept = self.s.kept_runs if keep_runs else None

    def handlers(self) -> dict[type[Event], Callable[..., None]]:
        """The handler of each event class (``logformat.Handlers``)."""
        return {IterationEnded: self.iteration_ended, IterationStarted: self.iteration_started, Finding: self.finding,
                RunStarted: self.run_started, RunEnded: self.run_ended, StoryCompleted: self.story_completed,
                Bullet: self.bullet, Note: self.note, Unreadable: self.unreadable, Unknown: self.unknown,
                Blank: self.nothing, Comment: self.nothing}

    def story(self, story_id: str) -> StoryStats:
        found = self.stories.get(story_id)
        if found is None:
            found = self.stories[story_id] = StoryStats(story_id)
        return found

    # --- runs ---

    def _start(self, stamp: str, line: int, max_iterations: int) -> Run:
        self.s.runs += 1
        run = Run(self.next_index, stamp, line, max_iterations, "", None, [], None, line)  # positional: cheaper
        self.next_index += 1
        self.open.append(run)
        if len(self.open) > OPEN_RUNS:
            self.close_run(self.open[0])
        return run

    def _touch(self, run: Run, line: int) -> None:
        """``run`` got a line: when a later run had started meanwhile, the two overlapped."""
        run.touched = line
        if run is self.open[-1] or run.overlapped:  # the usual case: the newest run writes
            return
        later = next(r for r in self.open if r.index > run.index)
        run.overlapped = True
        self.s.flag("overlapping-runs", f"run {run.index} (started {run.started}) wrote line {line} after run "
                    f"{later.index} (started {later.started}) had started: two runs shared this log", line)

    def close_iteration(self, run: Run) -> None:
        """The run's pending iteration never got an outcome (another started, or the run ended)."""
        it = run.pending
        if it is not None:
            self.story(it.story).no_outcome += 1
            if not self.s.counted("iteration-without-outcome"):
                self.s.flag("iteration-without-outcome", f"iteration {it.number} of {it.story} (started "
                            f"{it.started}, run {run.index}) never got an outcome", it.line)
            run.pending = None

    def close_run(self, run: Run) -> None:
        if run.pending is not None:
            self.close_iteration(run)
        runs = self.open
        runs.remove(run)
        if run.ended:
            self.s.runs_ended += 1
        elif not self.s.counted("run-never-ended"):
            self.s.flag("run-never-ended", f"run {run.index} (started {run.started}, "
                        f"{len(run.iterations)} iteration(s)) never ended", run.line)
        if runs and runs[0].index < run.index:  # an older run is still open: runs go on in order
            self.done[run.index] = run
            return
        self._hand_on(run)
        if self.done:
            oldest_open = runs[0].index if runs else None
            for index in sorted(self.done):  # those that waited for it (all newer than it)
                if oldest_open is not None and index > oldest_open:
                    break
                self._hand_on(self.done.pop(index))

    def _hand_on(self, run: Run) -> None:
        if self.on_run is not None:
            self.on_run(run)
        if self.kept is not None:
            self.kept.append(run)

    def _run_for_iteration(self, number: int) -> Run:
        """The open run whose next iteration is ``number`` (the newest such), else the newest."""
        for run in reversed(self.open):
            if run.pending is None and number == (run.iterations[-1].number if run.iterations else 0) + 1:
                return run
        return self.open[-1]

    def _run_for_outcome(self, number: int) -> Run | None:
        """The newest open run whose pending iteration is ``number``."""
        for run in reversed(self.open):
            if run.pending is not None and run.pending.number == number:
                return run
        return None

    # --- one handler per event class ---

    def run_started(self, line: int, stamp: str, at: datetime, fields: tuple[int]) -> None:
        self.story_block = self.last_outcome = None
        self._start(stamp, line, fields[0])

    def run_ended(self, line: int, stamp: str, at: datetime, fields: tuple[str | None]) -> None:
        self.last_outcome = None
        runs = self.open
        if not runs:
            self.s.unknown_lines += 1
            return
        run = runs[0]  # the run that wrote last ends (it has nothing left to do)
        for other in runs:
            if other.touched > run.touched:
                run = other
        if run is runs[-1]:
            run.touched = line  # the newest run ends: the usual case
        else:
            self._touch(run, line)
        if run.pending is not None:
            self.close_iteration(run)
        run.ended, run.end_reason = stamp, fields[0]
        self.close_run(run)

    def iteration_started(self, line: int, stamp: str, at: datetime, fields: tuple[int, str, str]) -> None:
        number, story_id, title = fields
        self.story_block = self.last_outcome = None
        runs = self.open
        run = runs[-1] if runs else self._start(stamp, line, 0)  # outside any run: an implicit one
        iterations = run.iterations
        if run.pending is None and number == (iterations[-1].number if iterations else 0) + 1:
            run.touched = line  # the newest run's next iteration: the usual case
        else:
            run = self._run_for_iteration(number)
            self._touch(run, line)
            if run.pending is not None:
                self.close_iteration(run)
            iterations = run.iterations
        run.pending = it = Iteration(number, story_id, title, stamp, line, at, None, "", None, [])  # positional: cheaper
        iterations.append(it)
        self.s.iterations += 1
        story = self.stories.get(story_id) or self.story(story_id)
        story.attempts += 1
        if not story.title:
            story.title = title
        if not story.first_attempt:
            story.first_attempt = stamp
        if story.first_success:
            story.reruns_after_success += 1
            if not story.first_rerun[0]:
                story.first_rerun = (stamp, line)

    def iteration_ended(self, line: int, stamp: str, at: datetime, fields: tuple[int, Outcome, str | None]) -> None:
        number, outcome, detail = fields
        runs = self.open
        run = runs[-1] if runs else None
        it = run.pending if run is not None else None
        if run is not None and it is not None and it.number == number:
            run.touched = line  # the newest run's pending iteration: the usual case
        else:
            run = self._run_for_outcome(number)
            it = run.pending if run is not None else None
            if run is None or it is None:
                self.s.unknown_lines += 1
                self.s.flag("iteration-without-outcome", f"outcome for iteration {number} at {stamp} "
                            "matches no started iteration", line)
                self.last_outcome = None
                return
            self._touch(run, line)
        run.pending = None
        it.outcome, it.ended = outcome, stamp
        try:
            it.duration = at - it.started_at
        except TypeError:  # one has a UTC offset, the other not (_delta)
            it.duration = None
        self.last_outcome = it
        if detail:
            it.findings.append(detail)
        story = self.stories.get(it.story) or self.story(it.story)
        story.last_outcome = outcome
        if outcome == "success":
            story.successes += 1
            if not story.first_success:
                story.first_success = stamp
        else:
            story.issues += 1
            if story.first_success:
                story.failures_after_success += 1
                if not story.first_failure_after_success[0]:
                    story.first_failure_after_success = (stamp, line)

    def finding(self, line: int, fields: tuple[str]) -> None:
        target = self.last_outcome
        if target is not None and target.outcome == "issues":
            if len(target.findings) < FINDINGS_PER_ITERATION:
                target.findings.append(fields[0])
        elif self.story_block is not None:
            self.story_block.bullets.append(fields[0])
        else:
            self.s.unknown_lines += 1

    def story_completed(self, line: int, stamp: str, at: datetime, fields: tuple[str]) -> None:
        """Inside a run (ralph run writes it there) or after one (the seed)."""
        s = self.s
        self.last_outcome = None
        story = self.story(fields[0])
        story.completed_at = story.completed_at or stamp
        self.story_block = story
        story.bullets.clear()
        if story.attempts == 0:
            s.flag("completed-without-iteration", f"{story.id} is reported completed at {stamp}, "
                   "but no iteration for it was logged", line)
        elif story.last_outcome == "issues":
            s.flag("completed-after-failure", f"{story.id} is reported completed at {stamp}, but its "
                   "last logged iteration completed with issues", line)

    def bullet(self, line: int, fields: tuple[str]) -> None:
        if self.story_block is not None:
            self.story_block.bullets.append(fields[0])
        else:
            self.s.unknown_lines += 1

    def note(self, line: int, stamp: str, at: datetime, fields: tuple[str]) -> None:
        """A note changes nothing (its stamp is tallied with the others)."""

    def unreadable(self, line: int, fields: tuple[str]) -> None:
        self.s.unreadable_lines += 1

    def unknown(self, line: int, fields: tuple[str]) -> None:
        self.s.unknown_lines += 1

    def nothing(self, line: int, fields: tuple[str] | tuple[()]) -> None:
        """Blank lines and comments change nothing."""

    def finish(self, path: str, read: Tally) -> Summary:
        """The summary of ``path``, once every event is in (and ``read`` tallied them)."""
        s = self.s
        s.path, s.lines, s.stamp_styles = path, read.lines, read.styles
        s.first_stamp, s.last_stamp = read.first, read.last
        for run in list(self.open):
            self.close_run(run)
        for story in s.stories.values():
            if story.reruns_after_success:
                stamp, line = story.first_rerun
                s.flag("rerun-after-success", f"{story.id} ran {story.reruns_after_success} more time(s) after it "
                       f"succeeded at {story.first_success}, first at {stamp}", line)
            if story.failures_after_success:
                stamp, line = story.first_failure_after_success
                s.flag("failed-after-success", f"{story.id} succeeded at {story.first_success}, then completed with "
                       f"issues {story.failures_after_success} time(s), first at {stamp}", line)
        if s.unreadable_lines:
            s.flag("unreadable-lines", f"{s.unreadable_lines} line(s) are binary or not UTF-8 text", 0)
        self._timezones()
        return s

    def _timezones(self) -> None:
        s = self.s
        styles = {k for k, v in s.stamp_styles.items() if v}
        if "offset" not in styles or "naive" not in styles and "date" not in styles:
            return
        parts = ", ".join(f"{n} {k}" for k, n in sorted(s.stamp_styles.items()))
        detail = ""
        for story in s.stories.values():
            done = _time(story.completed_at)
            first = _time(story.first_attempt)
            if done is not None and first is not None and done.tzinfo is not None and first.tzinfo is None:
                as_utc = first.replace(tzinfo=done.tzinfo.utc)  # type: ignore[attr-defined]
                as_local = first.replace(tzinfo=done.tzinfo)
                if (done < as_utc) != (done < as_local):
                    detail = (f"; e.g. {story.id}'s completion at {story.completed_at} comes "
                              f"{'before' if done < as_utc else 'after'} its first attempt ({story.first_attempt}) "
                              f"if naive times are UTC, and {'before' if done < as_local else 'after'} it if they "
                              f"are {done.strftime('%z')[:3]}:{done.strftime('%z')[3:]}")
                    break
        s.flag("timezones", f"timestamps mix styles ({parts}): naive times carry no zone, so their order "
               f"against times with an offset is unknown{detail}", 0)


def summarise(events: Iterable[Event], path: str = "", on_run: Callable[[Run], None] | None = None,
              keep_runs: int = 0) -> Summary:
    """Read every event once; hand each finished run to ``on_run``; keep the last ``keep_runs``."""
    worker = _Summariser(on_run, keep_runs)
    handlers = worker.handlers()
    read = Tally()
    for event in events:
        deliver(event, handlers)
        read.count(event)
    return worker.finish(path, read)


def summarise_log(path: Path, on_run: Callable[[Run], None] | None = None, keep_runs: int = 0) -> Summary:
    """``summarise(read_log(path), str(path), ...)``, several times faster: the events' fields go
    straight to the handlers (``logformat.dispatch``), no event is built."""
    worker = _Summariser(on_run, keep_runs)
    return worker.finish(str(path), dispatch_log(path, worker.handlers()))
