"""Agreement between our lint and squawk (squawk-cli from PyPI) over a generated corpus.

Each case is one migration file: a statement on a table that already exists (declared in a
base migration that runs first) or on a table the same file creates. Both tools lint the same
files (squawk with --assume-in-transaction, as our runner wraps a migration in a transaction);
per shared rule we count: both flag, only ours, only squawk, neither. Prints agreement and
examples of each disagreement.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

from _common import BIN
from schema_tools.engine.files import read_migration
from schema_tools.linter import lint_migrations

SHARED = {  # ours -> squawk's
    "index-not-concurrently": {"require-concurrent-index-creation"},
    "concurrently-in-transaction": {"ban-concurrent-index-creation-in-transaction"},
    "constraint-not-valid": {"constraint-missing-not-valid", "adding-foreign-key-constraint"},
    "add-column-not-null-no-default": {"adding-required-field"},
    "set-not-null": {"adding-not-nullable-field"},
    "column-type-change": {"changing-column-type"},
    "add-unique-directly": {"disallowed-unique-constraint"},
    "rename": {"renaming-column", "renaming-table"},
    "drop-column": {"ban-drop-column"},
    "drop-table": {"ban-drop-table"},
    "missing-lock-timeout": {"require-lock-timeout"},
    "timestamp-without-tz": {"prefer-timestamp-tz"},
    "varchar-n": {"prefer-text-field"},
    "serial": {"prefer-identity"},
}
BASE = """CREATE TABLE customers (id bigint PRIMARY KEY, email text, name varchar(50), created timestamptz);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, total numeric(10,2), note varchar(50), status text,
                     created timestamptz);
"""
NEW_TABLE = {"orders": "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, total numeric(10,2), "
                       "note varchar(50), status text, created timestamptz);\n",
             "customers": "CREATE TABLE customers (id bigint PRIMARY KEY, email text, name varchar(50), created timestamptz);\n"}
TEMPLATES = [
    "CREATE INDEX {t}_created_idx ON {t} (created);",
    "CREATE INDEX IF NOT EXISTS {t}_created_idx ON {t} (created);",
    "CREATE INDEX {t}_created_part_idx ON {t} (created) WHERE created > '2026-01-01';",
    "CREATE UNIQUE INDEX {t}_id_created_key ON {t} (id, created);",
    "CREATE INDEX {t}_gin_idx ON {t} USING gin (to_tsvector('simple', coalesce({c}, '')));",
    "CREATE INDEX CONCURRENTLY {t}_created_idx ON {t} (created);",
    "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {t}_id_created_key ON {t} (id, created);",
    "ALTER TABLE {t} ADD CONSTRAINT {t}_self_fk FOREIGN KEY (id) REFERENCES customers (id);",
    "ALTER TABLE {t} ADD CONSTRAINT {t}_self_fk FOREIGN KEY (id) REFERENCES customers (id) NOT VALID;",
    "ALTER TABLE {t} ADD CONSTRAINT {t}_id_check CHECK (id > 0);",
    "ALTER TABLE {t} ADD CONSTRAINT {t}_id_check CHECK (id > 0) NOT VALID;",
    "ALTER TABLE {t} ADD COLUMN ref_id bigint REFERENCES customers (id);",
    "ALTER TABLE {t} ADD COLUMN flag boolean NOT NULL;",
    "ALTER TABLE {t} ADD COLUMN flag boolean NOT NULL DEFAULT false;",
    "ALTER TABLE {t} ADD COLUMN flag boolean;",
    "ALTER TABLE {t} ADD COLUMN seen timestamptz DEFAULT now();",
    "ALTER TABLE {t} ALTER COLUMN created SET NOT NULL;",
    "ALTER TABLE {t} ALTER COLUMN created DROP NOT NULL;",
    "ALTER TABLE {t} ALTER COLUMN id TYPE integer;",
    "ALTER TABLE {t} ALTER COLUMN {c} TYPE varchar(100);",
    "ALTER TABLE {t} ALTER COLUMN {c} TYPE text;",
    "ALTER TABLE {t} ALTER COLUMN created TYPE timestamp;",
    "ALTER TABLE {t} ADD CONSTRAINT {t}_created_key UNIQUE (created);",
    "ALTER TABLE {t} ADD COLUMN code text UNIQUE;",
    "ALTER TABLE {t} RENAME COLUMN created TO created_at;",
    "ALTER TABLE {t} RENAME TO {t}_v2;",
    "ALTER TABLE {t} DROP COLUMN created;",
    "DROP TABLE {t};",
    "SET lock_timeout = '2s';\nALTER TABLE {t} ADD COLUMN extra text;",
    "ALTER TABLE {t} ADD COLUMN extra text;",
    "ALTER TABLE {t} ADD COLUMN stamp timestamp;",
    "ALTER TABLE {t} ADD COLUMN label varchar(30);",
    "ALTER TABLE {t} ADD COLUMN seq serial;",
    "ALTER TABLE {t} ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;",
    "CREATE TABLE {t}_log (id bigserial PRIMARY KEY, at timestamp, msg varchar(200), {t}_id bigint);",
    "CREATE TABLE {t}_log (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at timestamptz, msg text);",
    "CREATE TABLE {t}_tags (id serial PRIMARY KEY, tag varchar);",
    "COMMENT ON TABLE {t} IS 'x';",
    "UPDATE {t} SET id = id WHERE false;",
    "ALTER TABLE {t} VALIDATE CONSTRAINT {t}_pkey;",
]


def cases() -> list[tuple[str, str, str]]:
    """(name, file text, context) for every template, table and context."""
    out = []
    for n, template in enumerate(TEMPLATES):
        for table, column in (("orders", "note"), ("customers", "name")):
            statement = template.format(t=table, c=column)
            for context in ("existing", "new"):
                if context == "new" and template.startswith("CREATE TABLE"):
                    continue
                prefix = NEW_TABLE[table] if context == "new" else ""
                out.append((f"c{n:02d}_{table}_{context}", prefix + statement + "\n", context))
    return out


def ours(folder: Path, name: str, text: str, context: str) -> set[str]:
    base = folder / "ours" / "0000_base.sql"
    path = folder / "ours" / f"0001_{name}.sql"
    path.write_text(("-- depends: 0000_base\n" if context == "existing" else "") + text)
    path.with_name(f"0001_{name}.rollback.sql").write_text("SELECT 1;\n")
    migrations = [read_migration(base), read_migration(path)] if context == "existing" else [read_migration(path)]
    report = lint_migrations(migrations, {str(path)})
    last_line = text.rstrip().count("\n") + 1 + (1 if context == "existing" else 0)
    flagged = set()
    for f in report.findings:
        if f.rule == "missing-lock-timeout" or f.line == last_line:
            flagged.add(f.rule)
    path.unlink()
    path.with_name(f"0001_{name}.rollback.sql").unlink()
    return flagged


def squawk(folder: Path, all_cases: list[tuple[str, str, str]]) -> dict[str, set[str]]:
    binary = shutil.which("squawk") or str(BIN / "squawk")
    if not Path(binary).exists():
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "squawk-cli>=2,<3"], check=True)
        binary = str(BIN / "squawk")
    files = []
    for name, text, _ in all_cases:
        path = folder / "squawk" / f"{name}.sql"
        path.write_text(text)
        files.append(str(path))
    done = subprocess.run([binary, "--reporter", "json", "--assume-in-transaction", *files], capture_output=True, text=True)
    flagged: dict[str, set[str]] = defaultdict(set)
    for v in json.loads(done.stdout or "[]"):
        name = Path(v["file"]).stem
        text = next(t for n, t, _ in all_cases if n == name)
        last_line = text.rstrip().count("\n")  # squawk's lines start at 0
        if v["line"] == last_line or v["rule_name"] == "require-lock-timeout":
            flagged[name].add(v["rule_name"])
    return flagged


def main() -> None:
    all_cases = cases()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "ours").mkdir()
        (folder / "squawk").mkdir()
        (folder / "ours" / "0000_base.sql").write_text(BASE)
        (folder / "ours" / "0000_base.rollback.sql").write_text("SELECT 1;\n")
        theirs = squawk(folder, all_cases)
        table: dict[str, Counter[str]] = {rule: Counter() for rule in SHARED}
        examples: dict[tuple[str, str], list[str]] = defaultdict(list)
        by_context: Counter[tuple[str, str, str]] = Counter()
        for name, text, context in all_cases:
            mine = ours(folder, name, text, context)
            for rule, squawk_rules in SHARED.items():
                a, b = rule in mine, bool(theirs.get(name, set()) & squawk_rules)
                outcome = "both" if a and b else "ours only" if a else "squawk only" if b else "neither"
                table[rule][outcome] += 1
                by_context[(rule, outcome, context)] += 1
                if outcome in ("ours only", "squawk only") and len(examples[(rule, outcome)]) < 3:
                    examples[(rule, outcome)].append(f"{context}: {text.strip().splitlines()[-1]}")
    print(f"{len(all_cases)} migration files, {sum(len(t.strip().splitlines()) for _, t, _ in all_cases)} statements\n")
    print(f"{'rule':<32} {'both':>5} {'ours':>5} {'squawk':>7} {'neither':>8} {'agree':>7}")
    for rule, counts in table.items():
        total = sum(counts.values())
        agree = (counts["both"] + counts["neither"]) / total
        print(f"{rule:<32} {counts['both']:>5} {counts['ours only']:>5} {counts['squawk only']:>7} "
              f"{counts['neither']:>8} {agree:>6.0%}")
    print("\nDisagreements by context (a table 'new' is created earlier in the same file):")
    for (rule, outcome, context), count in sorted(by_context.items()):
        if outcome in ("ours only", "squawk only"):
            print(f"  {rule:<32} {outcome:<12} {context:<9} {count}")
    print("\nDisagreements (examples):")
    for (rule, outcome), items in sorted(examples.items()):
        for item in items:
            print(f"  {rule} [{outcome}] {item}")


if __name__ == "__main__":
    main()
