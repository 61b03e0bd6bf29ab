"""Settings: built once from CLI arguments, environment and pyproject, then frozen.

This module is the only reader of environment variables and of ``[tool.schema_tools]``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .tomlspec import (DURATION, Doc, Field, Invalid, Spec, anything, boolean, duration, duration_problem,
                       non_negative, read_toml, string, strings)

__all__ = ["DURATION", "LAYOUT_NAMES", "POSTGRES_OLDEST", "Settings", "duration_problem", "find_pyproject", "load_settings"]

POSTGRES_OLDEST = 15
"""The oldest PostgreSQL major still supported upstream (14 reached end of life in November
2026): what version-dependent lint rules assume unless ``postgres = N`` says otherwise."""
POSTGRES_KNOWN = range(10, 19)
LAYOUT_NAMES = ("yoyo", "flyway", "golang-migrate", "goose", "dbmate", "diesel", "sqitch", "prisma", "popx")
"""The migration tools whose folders schema-tools reads as they are."""


def layout_name(value: Any) -> str:
    if value not in LAYOUT_NAMES:
        raise Invalid(f"must be one of {', '.join(LAYOUT_NAMES)}", 'write layout = "flyway" (or leave it out: detected)')
    return str(value)


def placeholder_values(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise Invalid("must be a table of strings", 'write [tool.schema_tools.placeholders] with name = "value" lines')
    return {str(k): str(v) for k, v in value.items()}


def placeholder_option(text: str) -> tuple[str, str]:
    """``NAME=VALUE`` from the command line."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise ConfigError(f"--placeholder {text!r}: write NAME=VALUE")
    return name.strip(), value


def postgres_major(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in POSTGRES_KNOWN:
        raise Invalid(f"must be a PostgreSQL major version from {POSTGRES_KNOWN[0]} to {POSTGRES_KNOWN[-1]}",
                      "write postgres = 15 (the oldest server the migrations must run on)")
    return int(value)  # a plain int, not the TOML reader's subclass


TOP_LEVEL = {
    "migrations": Field(string, "folder of NNNN_name.sql migrations, relative to pyproject.toml"),
    "lock_wait": Field(non_negative(float), "seconds to wait for another runner's lock (number)", 60.0),
    "lock_timeout": Field(duration, "PostgreSQL lock_timeout for each migration, e.g. '5s'", "5s"),
    "statement_timeout": Field(duration, "PostgreSQL statement_timeout for each migration, e.g. '10min'", "10min"),
    "lock_retries": Field(non_negative(int), "times a migration is retried after a lock timeout (integer)", 3),
    "strict_order": Field(boolean, "true: a pending migration that sorts before applied ones is an error", False),
    "postgres": Field(postgres_major, "the oldest PostgreSQL major the migrations must run on: version-dependent "
                      "lint rules follow it (integer)", POSTGRES_OLDEST),
    "layout": Field(layout_name, "the tool whose folder layout the migrations are in (default: detected)"),
    "placeholders": Field(placeholder_values, "[tool.schema_tools.placeholders]: values of the migrations' "
                          "placeholders, in their tool's syntax", {}),
    "verify": Field(anything, "[tool.schema_tools.verify]", {}),
    "lint": Field(anything, "[tool.schema_tools.lint]", {}),
    "integrity": Field(anything, "[tool.schema_tools.integrity]", {}),
    "distribution": Field(anything, "[tool.schema_tools.distribution]", {}),
}
SECTIONS: dict[str, Spec] = {
    "verify": {
        "expect": Field(strings, "expectation files (or stories files) verify reads when --expect is not given", ()),
        "disable": Field(strings, "invariants to switch off, e.g. ['timestamptz']", ()),
        "schemas": Field(strings, "schemas to read (default: every non-system schema)"),
    },
    "lint": {
        "disable": Field(strings, "lint rules to switch off", ()),
        "warn": Field(strings, "lint rules reported as warnings (exit 0) instead of errors", ()),
    },
    "integrity": {
        "checks": Field(string, "a checks file (TOML) with [[orphans]], [[membership]], [[rows]], [[ranges]], [[unique]]"),
        "samples": Field(non_negative(int), "sample primary keys shown per finding (integer)", 5),
    },
    "distribution": {
        "column": Field(string, "distribution column: lint checks the schema can be distributed by it (Citus)"),
    },
}


@dataclass(frozen=True)
class Settings:
    """Everything the library needs to know, decided once per command."""

    project_root: Path
    migrations_dir: Path
    database_url: str | None = None
    state_dir: Path | None = None
    lock_wait: float = 60.0
    lock_timeout: str = "5s"
    statement_timeout: str = "10min"
    lock_retries: int = 3
    strict_order: bool = False
    pg_bindir: Path | None = None
    pg_user: str | None = None
    pyproject: Path | None = None
    expect_files: tuple[Path, ...] = ()
    disabled_invariants: tuple[str, ...] = ()
    schemas: tuple[str, ...] | None = None
    lint_disable: tuple[str, ...] = ()
    lint_warn: tuple[str, ...] = ()
    integrity_checks: Path | None = None
    integrity_samples: int = 5
    distribution_column: str | None = None
    postgres: int = POSTGRES_OLDEST
    max_lock_timeout: str | None = None  # caps (set by a harness for untrusted migrations): headers may only lower
    max_statement_timeout: str | None = None
    layout: str | None = None
    placeholders: tuple[tuple[str, str], ...] = ()

    @property
    def state_path(self) -> Path:
        """Git-ignored folder for the embedded database and other local state."""
        return self.state_dir or self.project_root / ".schema_tools"

    def timeout_within_cap(self, name: str, value: str) -> bool:
        """Whether ``SET name = value`` keeps lock_timeout or statement_timeout within its cap
        (never 0, which disables it; always, without a cap)."""
        from .tomlspec import milliseconds

        cap = self.max_lock_timeout if name == "lock_timeout" else self.max_statement_timeout
        if cap is None:
            return True
        ms, limit = milliseconds(value), milliseconds(cap)
        return ms is not None and limit is not None and 0 < ms <= limit

    def capped_timeout(self, name: str, value: str) -> str:
        """``value`` for lock_timeout or statement_timeout, or the cap when it is above it (or 0)."""
        cap = self.max_lock_timeout if name == "lock_timeout" else self.max_statement_timeout
        return value if cap is None or self.timeout_within_cap(name, value) else cap

    def with_database(self, url: str | None) -> Settings:
        """A copy pointing at another database."""
        return replace(self, database_url=url)


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above ``start``."""
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _tool_table(pyproject: Path | None) -> tuple[Doc | None, dict[str, Any], dict[str, dict[str, Any]]]:
    """``[tool.schema_tools]`` and its sections, checked; empty when there is none."""
    if pyproject is None:
        return None, {name: field.default for name, field in TOP_LEVEL.items()}, {
            name: {key: field.default for key, field in spec.items()} for name, spec in SECTIONS.items()}
    doc = read_toml(pyproject, what="pyproject.toml", hint="fix or remove it")
    keys = ("tool", "schema_tools")
    top = doc.table(keys, TOP_LEVEL, label="[tool.schema_tools]", value=doc.get(keys, {}), key_prefix="")
    sections = {name: doc.table((*keys, name), spec, label=name) for name, spec in SECTIONS.items()}
    return doc, top, sections


def resolved(path: Path, what: str) -> Path:
    """``path`` made absolute with its symlinks followed; a loop or an unreadable link is a ConfigError."""
    try:
        return path.resolve()
    except (RuntimeError, OSError) as exc:
        raise ConfigError(f"{what} {path}: cannot be followed ({exc})",
                          hint="fix the symbolic link (it points at itself, or goes round in a loop)") from None


def _inside(doc: Doc | None, root: Path, value: str, key: str) -> Path:
    """A path from the settings, refused when it points outside the project."""
    path = resolved(root / value, key)
    if not path.is_relative_to(root.resolve()):
        where = f"{doc.path}:{doc.line(('tool', 'schema_tools', *key.split('.')))}" if doc else "settings"
        raise ConfigError(f"{where}: {key} = {value!r} points outside the project ({root})",
                          hint="keep migrations, expectation and check files inside the repository "
                               "(or name another folder on the command line: --migrations DIR)")
    return path


def _database_url(given: str | None, env: Mapping[str, str]) -> str | None:
    """--database, else $DATABASE_URL, else None (the embedded server). Set but empty is a mistake
    (a CI secret that is missing), never a quiet fall-back to a throwaway server."""
    if given is not None and not given.strip():
        raise ConfigError("--database is empty", hint="give postgresql://user@host:port/dbname, or leave the option out")
    if given is None and "DATABASE_URL" in env and not env["DATABASE_URL"].strip():
        raise ConfigError("DATABASE_URL is set but empty (a missing CI secret?)",
                          hint="set it to postgresql://user@host:port/dbname, or unset it to use the embedded PostgreSQL")
    return given or env.get("DATABASE_URL") or None


def load_settings(
    *,
    database: str | None = None,
    migrations: str | Path | None = None,
    lock_wait: float | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    layout: str | None = None,
    placeholders: Sequence[str] = (),
) -> Settings:
    """Settings from CLI values, then the environment, then pyproject, then defaults."""
    env = os.environ if env is None else env
    here = (cwd or Path.cwd()).resolve()
    pyproject = find_pyproject(here)
    doc, top, sections = _tool_table(pyproject)
    root = pyproject.parent if pyproject else here
    verify, lint, integrity = sections["verify"], sections["lint"], sections["integrity"]
    if lock_wait is not None:
        try:
            lock_wait = non_negative(float)(lock_wait)
        except Invalid as problem:
            raise ConfigError(f"--lock-wait {problem.message}") from None
    if layout is not None and layout not in LAYOUT_NAMES:
        raise ConfigError(f"--layout {layout}: not a layout schema-tools reads", hint=f"use one of {', '.join(LAYOUT_NAMES)}")
    values = {**top["placeholders"], **dict(map(placeholder_option, placeholders))}

    if migrations is not None:  # given on the command line: wherever the user says
        migrations_dir = resolved(here / Path(migrations), "--migrations")
    elif top["migrations"] is not None:
        migrations_dir = _inside(doc, root, top["migrations"], "migrations")
    else:
        migrations_dir = root / "migrations"

    state_dir = env.get("SCHEMA_TOOLS_STATE_DIR")
    bindir = env.get("SCHEMA_TOOLS_PG_BINDIR")
    return Settings(
        project_root=root,
        migrations_dir=migrations_dir,
        database_url=_database_url(database, env),
        state_dir=Path(state_dir).resolve() if state_dir else None,
        lock_wait=lock_wait if lock_wait is not None else top["lock_wait"],
        lock_timeout=top["lock_timeout"],
        statement_timeout=top["statement_timeout"],
        lock_retries=top["lock_retries"],
        strict_order=top["strict_order"],
        pg_bindir=Path(bindir) if bindir else None,
        pg_user=env.get("SCHEMA_TOOLS_PG_USER") or None,
        pyproject=pyproject,
        expect_files=tuple(_inside(doc, root, p, "verify.expect") for p in verify["expect"]),
        disabled_invariants=verify["disable"],
        schemas=verify["schemas"],
        lint_disable=lint["disable"],
        lint_warn=lint["warn"],
        integrity_checks=_inside(doc, root, integrity["checks"], "integrity.checks") if integrity["checks"] else None,
        integrity_samples=integrity["samples"],
        distribution_column=sections["distribution"]["column"],
        postgres=top["postgres"],
        layout=layout or top["layout"],
        placeholders=tuple(sorted(values.items())),
    )
