"""Start-up: whole processes of `schema-tools status` and of `schema-tools migrate` with nothing
to apply, against `python -c "import psycopg"` (the floor any tool that talks to PostgreSQL in
Python pays), interleaved in the same run; prints the median of each and the ratios.
Target (issue 15): both within 1.5x."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from _common import BIN, ROOT, fresh_database

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 21


def whole(cmd: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr}")
    return elapsed


def main() -> None:
    with fresh_database("bench_startup") as url:
        whole([str(BIN / "schema-tools"), "migrate", "--database", url])
        commands = {
            "python -c 'import psycopg'": [sys.executable, "-c", "import psycopg"],
            "schema-tools status": [str(BIN / "schema-tools"), "status", "--database", url],
            "schema-tools migrate (nothing to do)": [str(BIN / "schema-tools"), "migrate", "--database", url],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(ROUNDS):  # interleaved: a noisy moment hits all alike
            for name, cmd in commands.items():
                times[name].append(whole(cmd))
    floor = statistics.median(times["python -c 'import psycopg'"])
    print(f"whole processes, median of {ROUNDS} interleaved runs:")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:<40} {median:6.3f} s   {median / floor:4.2f}x the floor")


if __name__ == "__main__":
    main()
