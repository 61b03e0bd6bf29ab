"""The lint cache: data, never code. Entries are JSON, keyed by the content of every migration up
to a point and by what decides the findings: this package's version and source, sqlglot's
version, the settings that change findings, and the entry format.

Two entries per run: the whole result (for an unchanged history) and the state before the last
migration (for the common edit: the newest file). Entries live in the project's git-ignored
state folder, are written atomically, and only the newest few are kept. An entry that does not
parse, holds the wrong shape, or was written under another key is ignored and rebuilt.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import os
import types
import typing
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from ..migration_files.model import Migration
from ..findings import Finding
from ..sqlmodel.fold import DeclaredSchema, DraftTable

if TYPE_CHECKING:
    from . import LintState

FORMAT = 4  # raise when the shape of an entry changes
KEEP = 8
Covered = dict[tuple[str, int], set[str]]
Final = tuple[dict[str, list[Finding]], Covered, list[Finding]]


class Corrupt(Exception):
    """An entry that does not have the shape its key promises."""


# --- a small codec: dataclasses, enums, tuples, sets and dicts with any keys --------------------


def to_json(value: Any) -> bytes:
    """``value`` as JSON: sets as sorted arrays, dicts with keys other than strings as ``[key,
    value]`` pairs; the rest as orjson writes it itself, without a call back per object
    (dataclasses as objects of their fields, tuples as arrays, str enums as strings)."""
    return orjson.dumps(_keyed(value), default=_default)


def _keyed(value: Any) -> Any:
    """``value`` with every dict whose keys are not all strings as pairs (outside dataclasses:
    the model's dataclasses hold only string-keyed dicts). A key is hashable, so it holds no
    dict or list to rewrite: keys are written as they are."""
    kind = type(value)
    if kind is dict:
        if _STRINGS.issuperset(map(type, value)):
            return value if _CONTAINERS.isdisjoint(map(type, value.values())) else \
                {k: _keyed(v) for k, v in value.items()}
        return [[k, _keyed(v)] for k, v in value.items()]
    if kind is list or kind is tuple:
        return value if _CONTAINERS.isdisjoint(map(type, value)) else [_keyed(v) for v in value]
    return value


_CONTAINERS, _STRINGS = frozenset((dict, list, tuple)), frozenset((str,))


def _default(value: Any) -> Any:
    """What orjson does not write itself: a set (sorted)."""
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"not cached: {type(value).__name__}")


def decode(kind: Any, data: Any) -> Any:
    """``data`` (read from ``to_json``'s text) back as a ``kind``; Corrupt when it does not fit."""
    return _decoder(kind)(data)


@cache
def _decoder(kind: Any) -> Callable[[Any], Any]:
    """A function decoding ``kind``, built once per type (entries hold thousands of findings)."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is Any:
        return lambda data: data
    if origin in (typing.Union, types.UnionType):
        inner = _decoder(next(a for a in args if a is not type(None)))
        return lambda data: None if data is None else inner(data)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        # Scalar fields are only type-checked (most fields are): far fewer calls per object.
        plan = [(f.name, _scalars(hints[f.name]), _decoder(hints[f.name])) for f in dataclasses.fields(kind) if f.init]

        def dataclass_(data: Any) -> Any:
            if type(data) is not dict or len(data) != len(plan):
                raise Corrupt(kind.__name__)
            values = []
            for name, scalars, field in plan:
                value = data[name]
                if scalars is None:
                    value = field(value)
                elif type(value) not in scalars:
                    raise Corrupt(f"{kind.__name__}.{name}")
                values.append(value)
            return kind(*values)
        return dataclass_
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind
    if origin is dict:
        key, value = _decoder(args[0]), _decoder(args[1])

        def dict_(data: Any) -> dict[Any, Any]:
            if type(data) is dict and (args[0] is str or not data):  # string keys (or none): a JSON object
                return {k: value(v) for k, v in data.items()}
            return {key(k): value(v) for k, v in _list(data)}
        return dict_
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        item = _decoder(args[0])
        return lambda data: tuple(item(v) for v in _list(data))
    if origin is tuple:
        items = [_decoder(a) for a in args]

        def tuple_(data: Any) -> tuple[Any, ...]:
            if len(_list(data)) != len(items):
                raise Corrupt("tuple")
            return tuple(item(v) for item, v in zip(items, data))
        return tuple_
    if origin in (list, set, frozenset):
        item, make = _decoder(args[0]), origin
        return lambda data: make(item(v) for v in _list(data))
    if kind in (str, int, bool, float):
        def scalar(data: Any) -> Any:
            if type(data) is not kind:
                raise Corrupt(f"{kind.__name__}: {type(data).__name__}")
            return data
        return scalar
    raise TypeError(f"no decoder for {kind!r}")


def _scalars(kind: Any) -> frozenset[type] | None:
    """The types a scalar (or optional scalar) field may hold; None for anything else."""
    options = typing.get_args(kind) if typing.get_origin(kind) in (typing.Union, types.UnionType) else (kind,)
    return frozenset(options) if all(o in (str, int, bool, float, type(None)) for o in options) else None


def _list(data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise Corrupt("list")
    return data


SCHEMA_FIELDS: dict[str, Any] = {
    "tables": dict[str, DraftTable], "index_owner": dict[str, str], "notes": list[Finding],
    "origins": dict[str, tuple[str, int]], "column_migration": dict[tuple[str, str], str],
}


def schema_fields(schema: DeclaredSchema) -> dict[str, Any]:
    return {name: getattr(schema, name) for name in SCHEMA_FIELDS}


def decode_schema(data: Any) -> DeclaredSchema:
    if not isinstance(data, dict):
        raise Corrupt("schema")
    schema = DeclaredSchema()
    for name, kind in SCHEMA_FIELDS.items():
        setattr(schema, name, decode(kind, data[name]))
    return schema


# --- keys and entries ------------------------------------------------------------------------------


@cache
def _code_version() -> str:
    """This package's own source (which any new version changes), the versions of the parsers
    the findings come from (pglast; sqlglot for the rare expression pglast alone prints) and
    the entry format."""
    from ..sql.grammar import parser_versions

    digest = hashlib.sha256(f"{FORMAT}|{parser_versions()}".encode())
    for path in sorted(Path(__file__).resolve().parents[1].rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


class LintCache:
    def __init__(self, folder: Path, settings_key: str) -> None:
        """``settings_key``: the settings that change findings, as text."""
        self.folder = folder
        self.seed = hashlib.sha256(f"{_code_version()}|{settings_key}".encode()).hexdigest()
        self._hashed: tuple[list[int], list[str]] | None = None  # (the migrations hashed, their prefix keys)

    def _prefixes(self, migrations: Sequence[Migration]) -> list[str]:
        """The key of each prefix of the history (hashed once per run: load, resume and save ask)."""
        if self._hashed is not None and self._hashed[0] == [id(m) for m in migrations]:
            return self._hashed[1]
        hashes, current = [], self.seed
        for m in migrations:
            current = hashlib.sha256(f"{current}|{m.path}|{m.text}|{m.rollback_text}".encode()).hexdigest()
            hashes.append(current)
        self._hashed = ([id(m) for m in migrations], hashes)
        return hashes

    def _read(self, key: str, kind: str) -> Any:
        """The entry's value, or None when it is missing, unreadable, or not the one asked for."""
        try:
            entry = orjson.loads((self.folder / f"{key}.{kind}.json").read_bytes())
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("format") != FORMAT or entry.get("key") != key \
                or entry.get("kind") != kind:
            return None
        return entry.get("value")

    def _write(self, key: str, kind: str, value: Any) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            name = f"{key}.{kind}.json"
            temporary = self.folder / f".{name}.{os.getpid()}.tmp"
            temporary.write_bytes(to_json({"format": FORMAT, "key": key, "kind": kind, "value": value}))
            temporary.replace(self.folder / name)
            entries = sorted(self.folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
            leftovers = [p for p in self.folder.iterdir() if p.suffix != ".json" and not p.name.startswith(".")]
            for old in [*entries[KEEP:], *leftovers]:  # leftovers: entries of older versions, never read
                old.unlink(missing_ok=True)
        except (OSError, TypeError, ValueError):
            pass  # a cache that cannot be written only costs time

    def load(self, migrations: Sequence[Migration]) -> Final | None:
        """The whole result (findings by file, ignores, schema-level findings) when nothing changed."""
        if not migrations:
            return None
        value = self._read(self._prefixes(migrations)[-1], "final")
        try:
            return decode(tuple[dict[str, list[Finding]], Covered, list[Finding]], value) if value is not None else None
        except (Corrupt, KeyError, TypeError, ValueError, StopIteration):
            return None

    def resume(self, migrations: Sequence[Migration]) -> tuple[LintState, int] | None:
        """The state after the longest unchanged prefix we kept, and where to continue."""
        from . import LintState

        prefixes = self._prefixes(migrations)
        try:
            kept = set(os.listdir(self.folder))  # one listing, not a failed open per prefix
        except OSError:
            return None
        for index in range(len(prefixes) - 2, -1, -1):
            if f"{prefixes[index]}.state.json" not in kept:
                continue
            value = self._read(prefixes[index], "state")
            if value is None:
                continue
            try:
                by_file, covered = decode(tuple[dict[str, list[Finding]], Covered], value["found"])
                return LintState(decode_schema(value["schema"]), by_file, covered), index + 1
            except (Corrupt, KeyError, TypeError, ValueError, StopIteration):
                continue
        return None

    def save_state(self, migrations: Sequence[Migration], index: int, state: LintState) -> None:
        self._write(self._prefixes(migrations)[index], "state",
                    {"schema": schema_fields(state.schema), "found": (state.by_file, state.covered)})

    def save_final(self, migrations: Sequence[Migration], state: LintState, schema_findings: list[Finding]) -> None:
        """Only findings: reading them back needs neither sqlglot nor the declared schema."""
        if migrations:
            self._write(self._prefixes(migrations)[-1], "final", (state.by_file, state.covered, schema_findings))
