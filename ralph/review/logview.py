"""``ralph log``: the summary as text (runs printed as they are read) or JSON."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO, TypeAlias

from .summary import ANOMALY_TITLES, Iteration, Run, StoryStats, Summary, summarise_log

OUTCOME_WORDS = {"success": "successful", "issues": "with issues", None: "no outcome"}


def seconds(delta: timedelta | None) -> str:
    """``4.0 s``, ``6 min 58 s``, ``2 h 5 min``, or ``-``."""
    if delta is None:
        return "-"
    total = delta.total_seconds()
    if 0 <= total < 60:
        return f"{total:.1f} s"
    if total < 0:
        return f"-{seconds(-delta)}"
    if total < 60:
        return f"{total:.1f} s"
    if total < 3600:
        return f"{int(total // 60)} min {int(total % 60)} s"
    return f"{int(total // 3600)} h {int(total % 3600 // 60)} min"


Durations: TypeAlias = "dict[timedelta | None, str]"
_DURATIONS = 4096  # texts of durations a RunPrinter remembers (they repeat: whole seconds, ...)


def run_lines(run: Run, durations: Durations | None = None) -> list[str]:
    """A run as ``ralph log`` prints it; ``durations`` remembers the text of each duration seen."""
    known: Durations = {} if durations is None else durations
    end = run.ended or "never ended"
    reason = f" ({run.end_reason})" if run.end_reason else ""
    lines = [f"  run {run.index}: {run.started} -> {end}{reason}, max {run.max_iterations} iteration(s)"]
    for it in run.iterations:
        took = known.get(it.duration)
        if took is None:
            if len(known) >= _DURATIONS:
                known.clear()
            took = known[it.duration] = seconds(it.duration)
        lines.append(f"    iteration {it.number}: {it.story} {OUTCOME_WORDS[it.outcome]}, {took}")
        if it.findings:
            lines.extend(map("      - ".__add__, it.findings))
    return lines


class RunPrinter:
    """An ``on_run`` callback printing runs as they complete, a few hundred per write."""

    def __init__(self, out: TextIO, batch: int = 500) -> None:
        self.out, self.batch, self.pending = out, batch, ["Runs"]
        self.durations: Durations = {}

    def __call__(self, run: Run) -> None:
        self.pending += run_lines(run, self.durations)
        if len(self.pending) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if self.pending and self.pending != ["Runs"]:
            self.out.write("\n".join(self.pending) + "\n")
        self.pending = []


def story_lines(story: StoryStats) -> list[str]:
    lines = [f"  {story.id}" + (f" - {story.title}" if story.title else "")]
    lines.append(f"    attempts {story.attempts}: {story.successes} successful, {story.issues} with issues, "
                 f"{story.no_outcome} without outcome")
    lines.append(f"    first attempt {story.first_attempt or '-'}; first success {story.first_success or '-'}; "
                 f"completed at {story.completed_at or '-'}; time to completion {seconds(story.time_to_completion)}")
    return lines


def tail_text(summary: Summary) -> str:
    """Everything after the runs: totals, stories, anomalies, unreadable lines."""
    never = summary.runs - summary.runs_ended
    lines = ["", "Stories"] + [line for story in summary.stories.values() for line in story_lines(story)]
    total = sum(summary.anomaly_counts.values())
    lines += ["", f"Anomalies ({total})"]
    for kind, title in ANOMALY_TITLES.items():
        count = summary.anomaly_counts.get(kind, 0)
        if count:
            lines.append(f"  {title}: {count}")
            lines.extend(f"    line {a.line}: {a.message}" if a.line else f"    {a.message}"
                         for a in summary.anomalies if a.kind == kind)
    lines += ["", f"{summary.path or 'log'}: {summary.lines} lines, {summary.runs} run(s) ({summary.runs_ended} ended, "
              f"{never} never ended), {summary.iterations} iteration(s), {len(summary.stories)} story(ies); "
              f"lines not understood: {summary.unknown_lines} unknown, {summary.unreadable_lines} unreadable"]
    return "\n".join(lines)


def _iteration(it: Iteration) -> dict[str, Any]:
    duration = it.duration
    return {"number": it.number, "story": it.story, "title": it.title, "started": it.started,
            "ended": it.ended or None, "outcome": it.outcome, "seconds": duration.total_seconds() if duration else None,
            "findings": it.findings}


def run_json(run: Run) -> dict[str, Any]:
    return {"run": run.index, "started": run.started, "ended": run.ended or None, "end_reason": run.end_reason,
            "max_iterations": run.max_iterations, "iterations": [_iteration(i) for i in run.iterations]}


def summary_json(summary: Summary) -> dict[str, Any]:
    """Everything but the runs (which are streamed)."""
    def story(s: StoryStats) -> dict[str, Any]:
        ttc = s.time_to_completion
        return {"id": s.id, "title": s.title, "attempts": s.attempts, "successes": s.successes,
                "with_issues": s.issues, "without_outcome": s.no_outcome, "first_attempt": s.first_attempt or None,
                "first_success": s.first_success or None, "completed_at": s.completed_at or None,
                "time_to_completion_seconds": ttc.total_seconds() if ttc else None,
                "reruns_after_success": s.reruns_after_success, "completion_notes": s.bullets}

    return {
        "file": summary.path, "lines": summary.lines, "runs_total": summary.runs, "runs_ended": summary.runs_ended,
        "runs_never_ended": summary.runs - summary.runs_ended, "iterations": summary.iterations,
        "stories": [story(s) for s in summary.stories.values()],
        "anomaly_counts": summary.anomaly_counts,
        "anomalies": [{"kind": a.kind, "message": a.message, "line": a.line or None} for a in summary.anomalies],
        "unknown_lines": summary.unknown_lines, "unreadable_lines": summary.unreadable_lines,
        "timestamp_styles": summary.stamp_styles,
    }


class JsonRunWriter:
    """Streams ``{"runs": [...], ...summary}``: runs written as they complete, in batches."""

    def __init__(self, out: TextIO, batch: int = 500) -> None:
        import json  # ralph log --json alone needs it

        self.out, self.batch, self.pending, self.first = out, batch, ['{"runs": ['], True
        self.dumps = json.dumps

    def __call__(self, run: Run) -> None:
        self.pending.append(("" if self.first else ",") + "\n  " + self.dumps(run_json(run)))
        self.first = False
        if len(self.pending) >= self.batch:
            self.out.write("".join(self.pending))
            self.pending = []

    def finish(self, summary: Summary) -> None:
        rest = self.dumps(summary_json(summary), indent=2)
        self.out.write("".join(self.pending) + "\n],\n" + rest[1:].lstrip("\n") + "\n")
        self.pending = []


def print_log(path: Path, out: TextIO, as_json: bool = False) -> Summary:
    """``ralph log``: each run written as soon as it is read, then the rest; as text or JSON."""
    if as_json:
        writer = JsonRunWriter(out)
        summary = summarise_log(path, on_run=writer)
        writer.finish(summary)
        return summary
    printer = RunPrinter(out)
    summary = summarise_log(path, on_run=printer)
    printer.flush()
    out.write(tail_text(summary) + "\n")
    return summary
