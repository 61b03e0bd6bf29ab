"""check-reversible on a generated real-shaped history (tests/shapes.py: renames, views,
functions, triggers, concurrent indexes, a declared-irreversible migration, a rollback that
breaks and one that leaves residue), three runs on the same input, step and chain mode.
Prints each run's time, the time per migration, and the slowest run over the fastest (issue 16:
stable within 1.5x).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import BIN, ROOT

sys.path.insert(0, str(ROOT / "tests"))
from shapes import write_history  # noqa: E402

COUNT = int(sys.argv[1]) if len(sys.argv) > 1 else 300
RUNS = 3


def run(folder: Path, *extra: str) -> float:
    started = time.perf_counter()
    done = subprocess.run([str(BIN / "schema-tools"), "check-reversible", "--migrations", str(folder), *extra],
                          capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise SystemExit(f"check-reversible failed: {done.stderr.strip()[-500:]}")
    return time.perf_counter() - started


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "migrations"
        folder.mkdir()
        write_history(folder, COUNT, breaks={COUNT // 5: "irreversible", COUNT // 2: "rollback-fails",
                                              COUNT * 3 // 4: "rollback-residue"})
        for mode, extra in (("step", ()), ("chain", ("--chain",))):
            times = [run(folder, *extra) for _ in range(RUNS)]
            print(f"{mode:5s} mode, {COUNT} migrations: " + ", ".join(f"{t:.2f} s" for t in times)
                  + f"; {min(times) / COUNT * 1000:.1f} ms per migration (fastest run); "
                  f"slowest / fastest = {max(times) / min(times):.2f} (target <= 1.5)")
