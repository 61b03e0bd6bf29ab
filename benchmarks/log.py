"""Summarise a generated 1,000,000-line progress.log with `ralph log`, as a user would.

Prints the whole-process wall time and peak memory (max RSS of the process) for the text and
the JSON output, against `wc -l` reading the same file (the floor for touching every line).
Targets: at most 3 s and 100 MB.
"""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from _common import BIN
from ralph import logformat as lf

LINES = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000


def generate(path: Path, lines: int) -> None:
    rng = random.Random(7)
    now = datetime(2026, 1, 1, 0, 0, 0)
    written = 0
    def naive(body: str) -> str:  # the seed's older stamp style: no offset
        return f"[{now.isoformat(timespec='microseconds')}] {body}\n"

    with open(path, "w") as out:
        out.write("# Ralph Loop Progress Log\n\n")
        story = 0
        while written < lines:
            now += timedelta(seconds=rng.randint(1, 30))
            out.write(naive(lf.run_started(3)))
            written += 1
            for i in range(1, 4):
                now += timedelta(seconds=rng.randint(1, 60))
                sid = f"SCHEMA-{story % 500 + 1:03d}"
                out.write(naive(lf.iteration_started(i, sid, f"Story {sid}")))
                written += 1
                if rng.random() < 0.05:  # crashed mid-iteration: the run never ends
                    break
                now += timedelta(seconds=rng.randint(1, 60))
                if rng.random() < 0.4:
                    out.write(naive(lf.iteration_ended(i, "issues")))
                    out.write(lf.finding("verify: index on usage_events(tenant_id) missing") + "\n"
                              + lf.finding("lint: CONCURRENTLY needed") + "\n")
                    written += 3
                else:
                    out.write(naive(lf.iteration_ended(i, "success")))
                    written += 1
                    story += 1
            else:
                out.write(naive(lf.run_ended()))
                written += 1
            if rng.random() < 0.1:
                done = f"SCHEMA-{story % 500 + 1:03d}"
                out.write(f"\n[{now.isoformat(timespec='seconds')}+00:00] {lf.story_completed(done)}\n"
                          f"{lf.bullet('Created migrations/0002_core_tables.sql')}\n{lf.bullet('tenants: id, name')}\n\n")
                written += 5


ROUNDS = 3


def measure(cmd: list[str]) -> tuple[float, float]:
    """Best wall time of ROUNDS runs, and the process's peak RSS (GNU time's %M)."""
    best, peak = float("inf"), 0.0
    for _ in range(ROUNDS):
        started = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        best = min(best, time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"{cmd} failed: {done.stderr[-400:]}")
        peak = max(peak, int(done.stderr.strip().splitlines()[-1]) / 1024)
    return best, peak


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "progress.log"
        generate(path, LINES)
        count = sum(1 for _ in open(path, "rb"))
        size = path.stat().st_size
        floor, _ = measure(["wc", "-l", str(path)])
        text_time, text_mb = measure([str(BIN / "ralph"), "log", str(path)])
        json_time, json_mb = measure([str(BIN / "ralph"), "log", "--json", str(path)])
        report_time, report_mb = measure([str(BIN / "ralph"), "report", str(path), "-o", str(Path(tmp) / "r.html")])
    print(f"{count} lines ({size / 1e6:.0f} MB), best of {ROUNDS}:")
    print(f"  wc -l                 {floor:6.2f} s")
    print(f"  ralph log (text)      {text_time:6.2f} s   peak {text_mb:6.1f} MB")
    print(f"  ralph log --json      {json_time:6.2f} s   peak {json_mb:6.1f} MB")
    print(f"  ralph report          {report_time:6.2f} s   peak {report_mb:6.1f} MB")
    print(f"targets: <= 3 s and <= 100 MB; ralph log text: {text_time:.2f} s, {text_mb:.0f} MB")


if __name__ == "__main__":
    main()
