"""Settings: built once from CLI arguments, environment and pyproject, then frozen.

This module is the only reader of environment variables and of ``[tool.schema_tools]``.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError

DURATION = re.compile(r"^\d+\s*(ms|s|min|h|d)?$")
VERIFY_KEYS = {
    "expect": "expectation files (or stories files) verify reads when --expect is not given",
    "disable": "invariants to switch off, e.g. ['timestamptz']",
    "schemas": "schemas to read (default: every non-system schema)",
}
LINT_KEYS = {
    "disable": "lint rules to switch off",
    "warn": "lint rules reported as warnings (exit 0) instead of errors",
}
INTEGRITY_KEYS = {
    "checks": "a checks file (TOML) with [[orphans]], [[membership]], [[rows]], [[ranges]], [[unique]]",
    "samples": "sample primary keys shown per finding (integer)",
}
DISTRIBUTION_KEYS = {"column": "distribution column: lint checks the schema can be distributed by it (Citus)"}
SECTIONS = ("verify", "lint", "integrity", "distribution")
TOP_LEVEL_KEYS = {
    "migrations": "folder of NNNN_name.sql migrations, relative to pyproject.toml",
    "lock_wait": "seconds to wait for another runner's lock (number)",
    "lock_timeout": "PostgreSQL lock_timeout for each migration, e.g. '5s'",
    "statement_timeout": "PostgreSQL statement_timeout for each migration, e.g. '10min'",
    "lock_retries": "times a migration is retried after a lock timeout (integer)",
    "strict_order": "true: a pending migration that sorts before applied ones is an error",
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
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def state_path(self) -> Path:
        """Git-ignored folder for the embedded database and other local state."""
        return self.state_dir or self.project_root / ".schema_tools"

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


def read_tool_table(pyproject: Path) -> dict[str, Any]:
    """``[tool.schema_tools]`` of a pyproject.toml, or {} when absent."""
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{pyproject}: not valid TOML ({exc})", hint="fix the syntax at that line"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{pyproject}: cannot be read ({exc})") from None
    tool = data.get("tool", {})
    table = tool.get("schema_tools", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.schema_tools] must be a table")
    return table


def _duration(value: Any, key: str, source: str) -> str:
    text = str(value).strip()
    if not DURATION.match(text):
        raise ConfigError(
            f"{source}: {key} = {value!r} is not a duration",
            hint="write a whole number with a unit: ms, s, min, h or d (for example '5s')",
        )
    return text


def _number(value: Any, key: str, source: str, kind: type) -> Any:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        number = -1
    if isinstance(value, bool) or number < 0:
        raise ConfigError(f"{source}: {key} = {value!r} must be a non-negative {kind.__name__}")
    return number


def _strings(value: Any, key: str, source: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{source}: {key} must be a list of strings", hint=f'write {key.split(".")[-1]} = ["..."]')
    return tuple(value)


def _inside(root: Path, value: str, key: str, source: str) -> Path:
    """A path from the settings, refused when it points outside the project."""
    path = (root / value).resolve()
    if not path.is_relative_to(root.resolve()):
        raise ConfigError(f"{source}: {key} = {value!r} points outside the project ({root})",
                          hint="keep expectation and check files inside the repository")
    return path


def _boolean(value: Any, key: str, source: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{source}: {key} = {value!r} must be true or false")
    return value


def load_settings(
    *,
    database: str | None = None,
    migrations: str | Path | None = None,
    lock_wait: float | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Settings from CLI values, then the environment, then pyproject, then defaults."""
    env = os.environ if env is None else env
    here = (cwd or Path.cwd()).resolve()
    pyproject = find_pyproject(here)
    table = read_tool_table(pyproject) if pyproject else {}
    root = pyproject.parent if pyproject else here
    source = f"{pyproject} [tool.schema_tools]" if pyproject else "settings"

    extra = {k: v for k, v in table.items() if k in SECTIONS and isinstance(v, dict)}
    unknown = sorted(k for k in table if k not in TOP_LEVEL_KEYS and k not in extra)
    if unknown:
        known = ", ".join(sorted(TOP_LEVEL_KEYS) + [f"[{s}]" for s in SECTIONS])
        raise ConfigError(f"{source}: unknown key {unknown[0]!r}", hint=f"known keys: {known}")
    verify, lint, integrity = extra.get("verify", {}), extra.get("lint", {}), extra.get("integrity", {})
    distribution = extra.get("distribution", {})
    for section, keys, given in (("verify", VERIFY_KEYS, verify), ("lint", LINT_KEYS, lint),
                                 ("integrity", INTEGRITY_KEYS, integrity), ("distribution", DISTRIBUTION_KEYS, distribution)):
        for key in given:
            if key not in keys:
                raise ConfigError(f"{source}.{section}: unknown key {key!r}", hint=f"known keys: {', '.join(keys)}")

    if migrations is not None:
        migrations_dir = (here / Path(migrations)).resolve()
    elif "migrations" in table:
        migrations_dir = (root / str(table["migrations"])).resolve()
    else:
        migrations_dir = root / "migrations"

    state_dir = env.get("SCHEMA_TOOLS_STATE_DIR")
    bindir = env.get("SCHEMA_TOOLS_PG_BINDIR")
    return Settings(
        project_root=root,
        migrations_dir=migrations_dir,
        database_url=database or env.get("DATABASE_URL") or None,
        state_dir=Path(state_dir).resolve() if state_dir else None,
        lock_wait=(
            _number(lock_wait, "--lock-wait", "arguments", float)
            if lock_wait is not None
            else _number(table.get("lock_wait", 60.0), "lock_wait", source, float)
        ),
        lock_timeout=_duration(table.get("lock_timeout", "5s"), "lock_timeout", source),
        statement_timeout=_duration(
            table.get("statement_timeout", "10min"), "statement_timeout", source
        ),
        lock_retries=_number(table.get("lock_retries", 3), "lock_retries", source, int),
        strict_order=_boolean(table.get("strict_order", False), "strict_order", source),
        pg_bindir=Path(bindir) if bindir else None,
        pg_user=env.get("SCHEMA_TOOLS_PG_USER") or None,
        pyproject=pyproject,
        expect_files=tuple(_inside(root, p, "verify.expect", source)
                           for p in _strings(verify.get("expect", []), "verify.expect", source)),
        disabled_invariants=_strings(verify.get("disable", []), "verify.disable", source),
        schemas=_strings(verify["schemas"], "verify.schemas", source) if "schemas" in verify else None,
        lint_disable=_strings(lint.get("disable", []), "lint.disable", source),
        lint_warn=_strings(lint.get("warn", []), "lint.warn", source),
        integrity_checks=_inside(root, str(integrity["checks"]), "integrity.checks", source)
        if "checks" in integrity else None,
        integrity_samples=_number(integrity.get("samples", 5), "integrity.samples", source, int),
        distribution_column=_strings([distribution["column"]], "distribution.column", source)[0]
        if "column" in distribution else None,
        extra=extra,
    )
