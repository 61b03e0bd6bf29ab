"""Lint 5,000 generated statements in 500 migration files: our whole process against squawk's
(`--reporter json`), best of ROUNDS, in the same run.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import BIN

FILES = int(sys.argv[1]) if len(sys.argv) > 1 else 500
ROUNDS = 3


def generate(folder: Path, files: int) -> int:
    statements = 0
    previous = None
    for i in range(1, files + 1):
        mid = f"{i:04d}_m{i}"
        header = f"-- depends: {previous}\n" if previous else ""
        body = [
            f"CREATE TABLE a{i} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, code text NOT NULL UNIQUE, "
            f"v integer NOT NULL, created_at timestamptz NOT NULL DEFAULT now());",
            f"CREATE TABLE b{i} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, a_id bigint NOT NULL "
            f"REFERENCES a{i} (id) ON DELETE CASCADE, note varchar(40), at timestamp);",
            f"CREATE INDEX b{i}_a_id_idx ON b{i} (a_id);",
            f"CREATE INDEX a{i}_v_idx ON a{i} (v) WHERE v > 0;",
            f"COMMENT ON TABLE a{i} IS 'generated; table {i}';",
            f"INSERT INTO a{i} (code, v) VALUES ('x', 1), ('y', 2);",
        ]
        if i > 1:
            body += [
                f"ALTER TABLE a{i - 1} ADD COLUMN extra text;",
                f"ALTER TABLE a{i - 1} ADD CONSTRAINT a{i - 1}_v_check CHECK (v >= 0) NOT VALID;",
                f"CREATE INDEX a{i - 1}_created_idx ON a{i - 1} (created_at);",
                f"ALTER TABLE b{i - 1} ALTER COLUMN note TYPE text;",
            ]
        else:
            body += ["SELECT 1;"] * 4
        (folder / f"{mid}.sql").write_text(header + "\n".join(body) + "\n")
        (folder / f"{mid}.rollback.sql").write_text(f"DROP TABLE b{i};\nDROP TABLE a{i};\n")
        statements += len(body)
        previous = mid
    return statements


def best(cmd: list[str]) -> float:
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    squawk = shutil.which("squawk") or str(BIN / "squawk")
    if not Path(squawk).exists():
        raise SystemExit("squawk not found: pip install 'schema-tools[bench]' (squawk-cli)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "migrations"
        folder.mkdir()
        count = generate(folder, FILES)
        files = sorted(str(p) for p in folder.glob("*.sql") if not p.name.endswith(".rollback.sql"))
        ours = best([str(BIN / "schema-tools"), "lint", "--migrations", str(folder)])
        theirs = best([squawk, "--reporter", "json", *files])
        startup = best([str(BIN / "schema-tools"), "--help"])
    print(f"{count} statements in {FILES} files, whole process, best of {ROUNDS}:")
    print(f"  schema-tools lint   {ours:6.2f} s   (of which interpreter start and imports: {startup:.2f} s)")
    print(f"  squawk              {theirs:6.2f} s")
    print(f"schema-tools / squawk = {ours / theirs:.1f}x (target <= 5x)")


if __name__ == "__main__":
    main()
