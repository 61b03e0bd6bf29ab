"""Summarise a generated 1,000,000-line progress.log with `ralph log`, as a user would.

Prints the whole-process wall time (best of ROUNDS) and peak memory (max RSS) of `ralph log`,
`ralph log --json` and `ralph report`, with their ratios to two baselines measured in the same
run: `wc -l` (the floor for touching every line) and a Python process that reads every line
(the floor for any reader in Python). Each round runs all of them one after the other, so a
burst of noise on a shared machine falls on every contender alike. Targets: `ralph log` at most
2 s on a quiet machine, and 100 MB.
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


ROUNDS = 5
READ_EVERY_LINE = "import sys\nfor _ in open(sys.argv[1], encoding='utf-8', errors='surrogateescape', newline=''): pass"


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall time of one run, and the process's peak RSS in MB (GNU time's %M)."""
    started = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{cmd} failed: {done.stderr[-400:]}")
    return elapsed, int(done.stderr.strip().splitlines()[-1]) / 1024


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "progress.log"
        generate(path, LINES)
        count = sum(1 for _ in open(path, "rb"))
        size = path.stat().st_size
        commands = {
            "wc -l": ["wc", "-l", str(path)],
            "python, every line": [sys.executable, "-c", READ_EVERY_LINE, str(path)],
            "ralph log": [str(BIN / "ralph"), "log", str(path)],
            "ralph log --json": [str(BIN / "ralph"), "log", "--json", str(path)],
            "ralph report": [str(BIN / "ralph"), "report", str(path), "-o", str(Path(tmp) / "r.html")],
        }
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(ROUNDS):
            for name, cmd in commands.items():
                runs[name].append(timed(cmd))
    best = {name: min(t for t, _ in times) for name, times in runs.items()}
    peak = {name: max(mb for _, mb in times) for name, times in runs.items()}
    wc, floor = best["wc -l"], best["python, every line"]
    print(f"{count} lines ({size / 1e6:.0f} MB), best of {ROUNDS}:")
    for name in commands:
        ratios = f"{best[name] / floor:5.1f}x python, {best[name] / wc:6.0f}x wc -l" if name.startswith("ralph") else ""
        print(f"  {name:20s} {best[name]:6.2f} s   peak {peak[name]:6.1f} MB   {ratios}")
    text = best["ralph log"]
    print(f"targets: <= 2 s (quiet machine) and <= 100 MB; ralph log: {text:.2f} s = {text / floor:.1f}x python "
          f"reading every line, {peak['ralph log']:.0f} MB")


if __name__ == "__main__":
    main()
