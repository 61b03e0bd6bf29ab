"""TOML inputs: read once, checked against declarative field specs, errors at ``file:line``.

Every TOML file the project reads (pyproject's ``[tool.schema_tools]``, expectation files,
checks files, stories files, fleet files) goes through here:

    doc = read_toml(path, what="checks file", hint="check [tool.schema_tools.integrity] checks")
    values = doc.table(("orphans", 0), {"name": Field(string), "column": Field(string, required=True)},
                       label="[[orphans]] #1")

A kind is a function that returns the value (converted) or raises ``Invalid`` with what the
value must be; ``Doc.table`` refuses unknown keys, applies the kinds and the defaults, and turns
any problem into a one-line ``ConfigError`` that names the file and the line of the key.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .tomlread import Keys as Keys, Positions, TomlError, read  # Keys: the path of a key, for the readers

DURATION = re.compile(r"^\d+\s*(ms|s|min|h|d)?$", re.ASCII)


class Invalid(Exception):
    """A value a kind refuses: ``message`` completes "<key> ..." (e.g. "must be true or false")."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


Kind = Callable[[Any], Any]


@dataclass(frozen=True)
class Field:
    """One key of a table: its kind, whether it must be there, and its default otherwise."""

    kind: Kind
    help: str = ""
    default: Any = None
    required: bool = False


Spec = Mapping[str, Field]


# --- kinds ---------------------------------------------------------------------------------------


def anything(value: Any) -> Any:
    return value


def string(value: Any) -> str:
    if not isinstance(value, str):
        raise Invalid("must be a string", 'write key = "..."')
    return value


def nonempty_string(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid("must be a non-empty string", 'write key = "..."')
    return value


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid("must be true or false", "write key = true")
    return value


def integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid("must be a whole number", "write key = 3")
    return int(value)  # a plain int, not the TOML reader's subclass


def non_negative(kind: type) -> Kind:
    """A finite number of ``kind`` (int or float) that is not below zero."""
    def check(value: Any) -> Any:
        try:
            number = kind(value)
        except (TypeError, ValueError, OverflowError):
            number = -1
        if isinstance(value, bool) or isinstance(value, str) or not math.isfinite(number) or number < 0:
            raise Invalid(f"= {value!r} must be a non-negative {kind.__name__}")
        return number
    return check


def strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid("must be a list of strings", 'write key = ["..."]')
    return tuple(value)


UNIT_MS = {"ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000, None: 1}
MAX_MS = 2_147_483_647  # PostgreSQL's limit for lock_timeout and statement_timeout


def duration_problem(text: str) -> str | None:
    """Why ``text`` is not a duration PostgreSQL takes for a timeout (None: it is one)."""
    match = DURATION.match(text.strip())
    if match is None:
        return "is not a duration"
    number = int(re.match(r"\d+", text.strip()).group())  # type: ignore[union-attr]
    return "is longer than PostgreSQL allows (about 24 days)" if number * UNIT_MS[match.group(1)] > MAX_MS else None


def milliseconds(text: str) -> int | None:
    """A timeout's length in milliseconds (0: none, PostgreSQL's "disabled"), or None when
    ``text`` is not a duration."""
    match = DURATION.match(text.strip())
    if match is None:
        return None
    return int(re.match(r"\d+", text.strip()).group()) * UNIT_MS[match.group(1)]  # type: ignore[union-attr]


def duration(value: Any) -> str:
    text = str(value).strip()
    problem = "is not a duration" if isinstance(value, bool) else duration_problem(text)
    if problem:
        raise Invalid(f"= {value!r} {problem}",
                      "write a whole number with a unit: ms, s, min, h or d (for example '5s'), at most 24 days")
    return text


def one_of(*choices: str) -> Kind:
    def check(value: Any) -> str:
        if not isinstance(value, str) or value.lower() not in choices:
            raise Invalid(f"= {value!r} is not one of: {', '.join(choices)}", f"use one of: {', '.join(choices)}")
        return value.lower()
    return check


def table_of(kind: Kind, what: str = "a table") -> Kind:
    def check(value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise Invalid(f"must be {what}", "write [section] or key = {...}")
        return {k: kind(v) for k, v in value.items()}
    return check


class Kinds:
    """The kinds, for code outside this package: ``Field(Kinds.strings, default=())``."""

    anything = staticmethod(anything)
    string = staticmethod(string)
    nonempty_string = staticmethod(nonempty_string)
    boolean = staticmethod(boolean)
    integer = staticmethod(integer)
    strings = staticmethod(strings)
    duration = staticmethod(duration)
    non_negative = staticmethod(non_negative)
    one_of = staticmethod(one_of)


# --- documents -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Doc:
    """A parsed TOML file and where each of its keys is (``positions``: None for data read
    from elsewhere, e.g. JSON)."""

    path: Path
    data: dict[str, Any]
    text: str
    positions: Positions | None = field(default=None, repr=False)

    def line(self, keys: Keys) -> int:
        """The line of ``keys``, else of its longest known prefix, else 1."""
        return self.positions.line(keys) if self.positions is not None else 1

    def lines(self, keys: Keys) -> dict[str, int]:
        """The line of each key right inside the table at ``keys``."""
        return self.positions.lines(keys) if self.positions is not None else {}

    def error(self, keys: Keys, message: str, hint: str = "") -> ConfigError:
        """``FILE:LINE: message`` (``FILE: message`` for a document without line positions)."""
        where = f"{self.path}:{self.line(keys)}" if self.positions is not None else str(self.path)
        return ConfigError(f"{where}: {message}", hint=hint)

    def get(self, keys: Keys, default: Any = None) -> Any:
        value: Any = self.data
        for key in keys:
            try:
                value = value[key]
            except (KeyError, IndexError, TypeError):
                return default
        return value

    def check(self, keys: Keys, kind: Kind, label: str, value: Any) -> Any:
        """``kind(value)``, a refusal reported at the line of ``keys`` as "LABEL must be ..."."""
        try:
            return kind(value)
        except Invalid as problem:
            raise self._refusal(keys, label, problem) from None

    def _refusal(self, keys: Keys, label: str, problem: Invalid) -> ConfigError:
        name = str(keys[-1]) if keys and isinstance(keys[-1], str) else "key"
        return self.error(keys, f"{label} {problem.message}", problem.hint.replace("key = ", f"{name} = "))

    def table(self, keys: Keys, spec: Spec, *, label: str, value: Any = None, hint: str = "",
              key_prefix: str | None = None) -> dict[str, Any]:
        """The table at ``keys`` (or ``value``) checked against ``spec``: unknown keys refused,
        each key's kind applied, defaults filled in for absent keys. Errors call the table
        ``label`` and its keys ``KEY_PREFIX.key`` (default: ``label.key``)."""
        prefix = label if key_prefix is None else key_prefix
        value = self.get(keys, {}) if value is None else value
        if not isinstance(value, dict):
            raise self.error(keys, f"{label} must be a table", hint or "write it as a [section] or {key = value}")
        for key in value:
            if key not in spec:
                raise self.error((*keys, key), f"unknown key {key!r} in {label}",
                                 f"known keys: {', '.join(spec)}" + (f"; {hint}" if hint else ""))
        out: dict[str, Any] = {}
        for key, wanted in spec.items():
            if key in value:
                try:
                    out[key] = wanted.kind(value[key])
                except Invalid as problem:
                    raise self._refusal((*keys, key), f"{prefix}.{key}" if prefix else key, problem) from None
            elif wanted.required:
                raise self.error(keys, f"{label} needs {key}" + (f" ({wanted.help})" if wanted.help else ""),
                                 hint or f"add {key} = ...")
            else:
                out[key] = wanted.default
        return out


def parse_toml(text: str, path: Path) -> Doc:
    """A TOML text, with errors as one line (file, line, what to fix)."""
    try:
        data, positions = read(text)
    except TomlError as exc:
        raise ConfigError(f"{path}:{exc.line}: not valid TOML: {exc.message} (column {exc.column})",
                          hint="fix the syntax at that line") from None
    return Doc(path, data, text, positions)


def read_toml(path: Path, *, what: str, hint: str) -> Doc:
    """Read and parse a TOML file; ``what`` it is and ``hint`` (how to point at another) go into
    the error when it does not exist."""
    if not path.exists():
        raise ConfigError(f"{path}: no such {what}", hint=hint)
    if not path.is_file():  # a folder, a FIFO, a device: never opened (a FIFO would block)
        raise ConfigError(f"{path}: not a regular file, so not {'an' if what[:1] in 'aeiou' else 'a'} {what}", hint=hint)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[:exc.start]
        line = before.count(b"\n") + before.count(b"\r") - before.count(b"\r\n") + 1  # \n, \r\n or \r ends a line
        raise ConfigError(f"{path}:{line}: not valid TOML: byte {data[exc.start]:#04x} is not UTF-8",
                          hint="save the file as UTF-8") from None
    return parse_toml(text.replace("\r\n", "\n").replace("\r", "\n"), path)  # newlines as a text file reads them
