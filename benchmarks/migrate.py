"""Apply 500 generated migrations with our runner, with `yoyo apply`, and with psql `\\ir`-ing
the same files in one session, each on a fresh database, in the same run.

Each migration: 2 tables with a FK between them, a unique constraint and 2 indexes each.
Prints wall times (whole process, best of ROUNDS) and the ratios against psql.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from _common import BIN, fresh_database, psql_path, run, timed

COUNT = int(sys.argv[1]) if len(sys.argv) > 1 else 500
ROUNDS = 5


def generate(folder: Path, count: int) -> list[str]:
    previous = None
    for i in range(1, count + 1):
        mid = f"{i:04d}_m{i}"
        header = f"-- depends: {previous}\n" if previous else ""
        (folder / f"{mid}.sql").write_text(header + f"""
CREATE TABLE a{i} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, code text NOT NULL UNIQUE,
                   v integer NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX a{i}_v_idx ON a{i} (v);
CREATE INDEX a{i}_created_at_idx ON a{i} (created_at);
CREATE TABLE b{i} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, a_id bigint NOT NULL REFERENCES a{i} (id),
                   code text NOT NULL UNIQUE, created_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX b{i}_a_id_idx ON b{i} (a_id);
CREATE INDEX b{i}_created_at_idx ON b{i} (created_at);
""")
        (folder / f"{mid}.rollback.sql").write_text(f"DROP TABLE b{i};\nDROP TABLE a{i};\n")
        previous = mid
    return [f"{i:04d}_m{i}" for i in range(1, count + 1)]


def compare(generate: Callable[[Path, int], list[str]], count: int, target: float, what: str,
            floor_target: float | None = None) -> None:
    """Apply the generated migrations with each tool on a fresh database, ROUNDS times, rotating
    the order; print the best times, the median of each round's ratio to psql and of ours to the
    floor any Python tool pays (psql's time plus the python floor, same round)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "migrations"
        folder.mkdir()
        ids = generate(folder, count)
        (Path(tmp) / "all.sql").write_text("".join(f"\\ir migrations/{mid}.sql\n" for mid in ids))
        psql = psql_path()
        tools = {
            "psql": lambda url: run([psql, url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(Path(tmp) / "all.sql")]),
            # The least any Python tool pays before its first statement: the interpreter, psycopg, a connection.
            "python floor": lambda url: run([sys.executable, "-c", f"import psycopg; psycopg.connect({url!r}).close()"]),
            "yoyo": lambda url: run([str(BIN / "yoyo"), "apply", "--batch", "--database",
                                     url.replace("postgresql://", "postgresql+psycopg://", 1), str(folder)]),
            "schema-tools": lambda url: run([str(BIN / "schema-tools"), "migrate", "--database", url,
                                             "--migrations", str(folder)]),
        }
        best: dict[str, float] = {}
        ratios: dict[str, list[float]] = {"schema-tools": [], "yoyo": [], "python floor": []}
        over_floor: list[float] = []
        names = list(tools)
        for round_ in range(ROUNDS):
            this_round = {}
            for name in names[round_ % len(names):] + names[:round_ % len(names)]:  # rotate: no tool always first
                with fresh_database(f"bench_migrate_{name.replace('-', '_').replace(' ', '_')}") as url:
                    this_round[name] = timed(lambda: tools[name](url))  # noqa: B023 -- called at once
                best[name] = min(best.get(name, this_round[name]), this_round[name])
            for name in ratios:
                ratios[name].append(this_round[name] / this_round["psql"])
            over_floor.append(this_round["schema-tools"] / (this_round["psql"] + this_round["python floor"]))
            print(f"round {round_ + 1}: " + ", ".join(f"{n} {t:.2f} s" for n, t in this_round.items()), flush=True)
    print(f"\n{count} migrations ({what}), whole process, fresh database each, {ROUNDS} rounds:")
    for name, seconds in best.items():
        print(f"  {name:<13} best {seconds:6.2f} s  {(seconds - best['psql']) / count * 1000:+6.1f} ms/migration vs psql")
    for name, values in ratios.items():
        print(f"  {name} / psql, median of the rounds' ratios: {statistics.median(values):.2f} "
              f"(rounds: {', '.join(f'{v:.2f}' for v in values)})")
    floor = statistics.median(ratios["python floor"])
    print(f"target: schema-tools within {target}x of psql; yoyo / schema-tools = "
          f"{statistics.median(ratios['yoyo']) / statistics.median(ratios['schema-tools']):.2f}")
    print(f"a Python tool's floor: psql's own time plus the python floor = {1 + floor:.2f}x psql, before any "
          "work of its own (the same statements cost the server what they cost psql)")
    print(f"schema-tools / (psql + python floor), median of the rounds: {statistics.median(over_floor):.2f} "
          f"(rounds: {', '.join(f'{v:.2f}' for v in over_floor)})"
          + (f"; target <= {floor_target}" if floor_target else ""))


if __name__ == "__main__":
    compare(generate, COUNT, 1.25, "2 tables, 4 indexes each")
