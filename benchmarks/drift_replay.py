"""drift by replay, and check-reversible --chain, on a 350-migration real-shaped history
(tests/shapes.py with ``hard=True``: typed literal defaults, freed names, enum value renames,
CREATE TABLE AS...), each against psql doing the same work in one session, in the same run.

- drift: ``schema-tools drift`` (a whole process: scratch database and login, replay, two
  inventories, compare) vs creating a database, ``psql`` applying the same files in one session,
  and one catalog read (the inventory query) on the target. Target: within 1.5x.
- chain: ``schema-tools check-reversible --chain`` vs ``psql`` in one session applying each file,
  then each rollback in reverse, then each file again, with the inventory read after each step
  (what a psql oracle compares). Target: within 3x.

Usage: python benchmarks/drift_replay.py [COUNT] [ROUNDS]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import BIN, ROOT, fresh_database, psql_path, timed
from schema_tools.catalog.inventory import INVENTORY_SQL
from schema_tools.catalog.model import BOOKKEEPING

sys.path.insert(0, str(ROOT / "tests"))
from shapes import write_history  # noqa: E402

COUNT = int(sys.argv[1]) if len(sys.argv) > 1 else 350
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
WHICH = sys.argv[3] if len(sys.argv) > 3 else "both"  # drift | chain | both
READ = INVENTORY_SQL.replace("%%", "%").replace("%(skip)s", "ARRAY[" + ",".join(f"'{b}'" for b in BOOKKEEPING) + "]")


def tool(*args: str) -> None:
    """Run schema-tools outside the project (no pyproject: no expectations, default settings)."""
    done = subprocess.run([str(BIN / "schema-tools"), *args], capture_output=True, text=True, cwd=tempfile.gettempdir())
    if done.returncode != 0:
        raise SystemExit(f"schema-tools {args[0]} exited {done.returncode}: {(done.stdout + done.stderr)[-800:]}")


def psql(url: str, script: Path) -> None:
    done = subprocess.run([psql_path(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(script), url],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"psql failed: {done.stderr.strip()[-500:]}")


def script(tmp: Path, name: str, steps: list[Path], read_after_each: bool, read_at_end: bool) -> Path:
    lines = []
    for path in steps:
        lines.append(f"\\i {path}")
        if read_after_each:
            lines += ["\\o /dev/null", READ.strip() + ";", "\\o"]
    if read_at_end:
        lines += ["\\o /dev/null", READ.strip() + ";", "\\o"]
    out = tmp / name
    out.write_text("\n".join(lines) + "\n")
    return out


def psql_drift(tmp: Path, ups: list[Path], target: str) -> None:
    with fresh_database("bench_drift_psql") as url:
        psql(url, script(tmp, "drift.psql", ups, False, False))
    psql(target, script(tmp, "read.psql", [], False, True))


def psql_chain(tmp: Path, ups: list[Path], downs: list[Path]) -> None:
    with fresh_database("bench_chain_psql") as url:
        psql(url, script(tmp, "chain.psql", ups + downs[::-1] + ups, True, False))


def main() -> None:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        folder = tmp / "migrations"
        folder.mkdir()
        write_history(folder, COUNT, seed=17, hard=True)
        ups = sorted(p for p in folder.glob("*.sql") if not p.name.endswith(".rollback.sql"))
        downs = [p.with_name(p.name[:-4] + ".rollback.sql") for p in ups]
        with fresh_database("bench_drift_target") as target:
            tool("migrate", "--migrations", str(folder), "--database", target)
            pairs = []
            for _ in range(ROUNDS if WHICH != "chain" else 0):
                ours = timed(lambda: tool("drift", "--migrations", str(folder), "--database", target))
                base = timed(lambda: psql_drift(tmp, ups, target))
                pairs.append((ours, base))
            if pairs:
                ratio = statistics.median(o / b for o, b in pairs)
                print(f"drift by replay, {COUNT} migrations: ours {min(o for o, _ in pairs):.2f} s, psql session + "
                      f"catalog read {min(b for _, b in pairs):.2f} s; median ratio {ratio:.2f}x (target <= 1.5)")
            pairs = []
            for _ in range(ROUNDS if WHICH != "drift" else 0):
                ours = timed(lambda: tool("check-reversible", "--chain", "--migrations", str(folder), "--database",
                                          target))
                base = timed(lambda: psql_chain(tmp, ups, downs))
                pairs.append((ours, base))
            if pairs:
                ratio = statistics.median(o / b for o, b in pairs)
                print(f"check-reversible --chain, {COUNT} migrations: ours {min(o for o, _ in pairs):.2f} s, psql "
                      f"chain with a catalog read per step {min(b for _, b in pairs):.2f} s; median ratio {ratio:.2f}x "
                      "(target <= 3)")


if __name__ == "__main__":
    main()
