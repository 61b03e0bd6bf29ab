"""Apply a generated history shaped like a real project's (about 350 migrations of one to three
small statements: columns added and renamed, indexes, views, functions, comments, data fixes; some
empty, some non-transactional with CREATE INDEX CONCURRENTLY) with our runner, yoyo and psql, in
the same run. Generated here, not copied from any project. The figure (issue 27): schema-tools'
time over psql's plus a Python process that imports psycopg and connects (the floor any Python
tool pays), each round's ratio, median of the rounds; target <= 1.15.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from migrate import compare

COUNT = int(sys.argv[1]) if len(sys.argv) > 1 else 350


def generate(folder: Path, count: int) -> list[str]:
    rng = random.Random(42)
    ids: list[str] = []
    tables: list[str] = []
    for i in range(1, count + 1):
        mid = f"{i:04d}_step_{i}"
        header = f"-- depends: {ids[-1]}\n" if ids else ""
        roll = rng.random()
        body: list[str] = []
        if not tables or roll < 0.25:
            name = f"t{i}"
            tables.append(name)
            body = [f"CREATE TABLE {name} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
                    f"name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"]
        elif roll < 0.40:
            table = rng.choice(tables)
            body = [f"ALTER TABLE {table} ADD COLUMN c{i} integer", f"COMMENT ON COLUMN {table}.c{i} IS 'step {i}'"]
        elif roll < 0.50:
            table = rng.choice(tables)
            body = [f"ALTER TABLE {table} ADD COLUMN r{i} text", f"ALTER TABLE {table} RENAME r{i} TO renamed_{i}"]
        elif roll < 0.60:
            header += "-- transactional: false\n"
            table = rng.choice(tables)
            body = [f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {table}_i{i} ON {table} (created_at, id)"]
        elif roll < 0.70:
            table = rng.choice(tables)
            body = [f"CREATE OR REPLACE VIEW v{i} AS SELECT id, name FROM {table} WHERE created_at > 'epoch'"]
        elif roll < 0.80:
            body = [f"CREATE OR REPLACE FUNCTION f{i}(x integer) RETURNS integer LANGUAGE plpgsql AS $$ "
                    f"BEGIN IF x > {i} THEN RETURN x; END IF; RETURN {i}; END $$"]
        elif roll < 0.90:
            table = rng.choice(tables)
            body = [f"INSERT INTO {table} (name) VALUES ('seed {i}')", f"UPDATE {table} SET name = upper(name) "
                    f"WHERE name LIKE 'seed%'", f"DELETE FROM {table} WHERE name = 'nothing'"]
        # else: an empty migration (it happens: a placeholder, or everything moved elsewhere)
        (folder / f"{mid}.sql").write_text(header + "".join(f"{s};\n" for s in body) if body else header + "-- empty\n")
        ids.append(mid)
    return ids


if __name__ == "__main__":
    compare(generate, COUNT, 1.5, "shaped like a real history", floor_target=1.15)
