"""TOML text -> data and where each key is, in one pass linear in the text's length.

The rules are TOML 1.0's as ``tomllib`` applies them (same values, same documents refused), but
no step looks back over what it has read: tomllib is quadratic in a dotted key's length (a 40 KB
key takes half a minute), and a second scan for line numbers was too. Each table, array and key
records its offset as it is made, so ``Positions.line`` walks a path once. Errors carry the line
and column. Pure: imports nothing of ours.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

Keys = tuple[str | int, ...]
Spots = dict[int, tuple[Any, Any]]  # id(table or array) -> (it, {key: offset} or [offset of each element])
MAX_DEPTH = 100  # arrays and inline tables inside each other; ours nest a few levels

_CTRL = r"\x00-\x08\x0a-\x1f\x7f"  # control characters but tab: never in a comment or a one-line string
_COMMENT = re.compile(rf"#[^{_CTRL}]*")
_SKIP = re.compile(rf"(?:[ \t]*(?:#[^{_CTRL}]*)?\n)*[ \t]*")  # blank and comment lines, then indentation
_NEXT = re.compile(rf"[ \t]*(?:#[^{_CTRL}]*)?(?:\n{_SKIP.pattern}|\Z)")  # the end of a statement's line, and _SKIP
_KEY_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-\"'")
_WS = re.compile(r"[ \t]*")
_ARRAY_WS = re.compile(rf"(?:[ \t\n]+|#[^{_CTRL}]*)*")
_ARRAY_NEXT = re.compile(rf"(?:[ \t\n]+|#[^{_CTRL}]*)*(,?)(?:[ \t\n]+|#[^{_CTRL}]*)*")  # blanks, a comma?, blanks
_INLINE_NEXT = re.compile(r"[ \t]*(,?)[ \t]*")
_EQUALS = re.compile(r"=[ \t]*")
_KEY = re.compile(rf"""[ \t]*(?:([A-Za-z0-9_-]+)|"([^"\\{_CTRL}]*)"|'([^'{_CTRL}]*)')[ \t]*""")
_BASIC = re.compile(rf'"([^"\\{_CTRL}]*)"')
_BASIC_RUN = re.compile(rf'[^"\\{_CTRL}]*')
_LITERAL = re.compile(rf"'([^'{_CTRL}]*)'")
_LITERAL_RUN = re.compile(rf"[^'{_CTRL}]*")
_MULTI_RUN = re.compile(r'[^"\\\x00-\x08\x0b-\x1f\x7f]*')
_MULTI_BAD = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_LINE_END = re.compile(r"\\[ \t]*\n[ \t\n]*")  # a backslash ending a line of a """ string
_HEX = re.compile(r"[0-9A-Fa-f]*")
_TIME = r"([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9])(?:\.([0-9]{1,6})[0-9]*)?"
_DATETIME = re.compile(rf"([0-9]{{4}})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
                       rf"(?:[Tt ]{_TIME}(?:([Zz])|([+-])([01][0-9]|2[0-3]):([0-5][0-9]))?)?")
_LOCAL_TIME = re.compile(_TIME)
_NUMBER = re.compile(r"0(?:x[0-9A-Fa-f](?:_?[0-9A-Fa-f])*|b[01](?:_?[01])*|o[0-7](?:_?[0-7])*)"
                     r"|[+-]?(?:0|[1-9](?:_?[0-9])*)((?:\.[0-9](?:_?[0-9])*)?(?:[eE][+-]?[0-9](?:_?[0-9])*)?)")
_SPECIAL = {"inf": float("inf"), "+inf": float("inf"), "-inf": float("-inf"),
            "nan": float("nan"), "+nan": float("nan"), "-nan": float("nan")}
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}

# What a table is, for the rules on defining it again: made by a [header] (or the root, or an
# element of an array of tables), made only as the parent of a header, or made by dotted keys in
# section N (open to more dotted keys in that section only). A dict without a state is an inline
# table: closed. A list that is not an array of tables is an inline array: closed.
EXPLICIT, IMPLICIT = -1, -2


class TomlError(ValueError):
    """A text that is not valid TOML: what is wrong, and where."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"{message} (line {line}, column {column})")
        self.message, self.line, self.column = message, line, column


def _found(src: str, pos: int) -> str:
    return repr(src[pos]) if pos < len(src) else "the end of the file"


def _error(src: str, pos: int, message: str) -> TomlError:
    line_start = src.rfind("\n", 0, pos) + 1
    return TomlError(message, src.count("\n", 0, pos) + 1, pos - line_start + 1)


class Positions:
    """Where each key, table and array element of a read document starts."""

    def __init__(self, data: dict[str, Any], spots: Spots, src: str) -> None:
        self._data, self._spots, self._src = data, spots, src
        self._newlines: list[int] | None = None

    def line(self, keys: Keys) -> int:
        """The 1-based line of ``keys``, else of its longest prefix in the document, else 1."""
        found, _ = self._walk(keys)
        return 1 if found < 0 else self._line_of(found)

    def lines(self, keys: Keys) -> dict[str, int]:
        """The line of each key right inside the table at ``keys`` (none for an array)."""
        _, inside = self._walk(keys)
        return {key: self._line_of(pos) for key, pos in inside.items()} if isinstance(inside, dict) else {}

    def _walk(self, keys: Keys) -> tuple[int, dict[str, int] | list[int] | None]:
        """The offset of ``keys`` (else of its longest prefix here, else -1), and the offsets
        inside it (None when ``keys`` is not all here or holds no keys)."""
        node: Any = self._data
        found = -1
        for key in keys:
            inside = self._inside(node)
            if isinstance(inside, dict):
                at = inside.get(key) if isinstance(key, str) else None
            elif inside is not None and isinstance(key, int) and 0 <= key < len(inside):
                at = inside[key]
            else:
                at = None
            if at is None:
                return found, None
            found, node = at, node[key]
        return found, self._inside(node)

    def _inside(self, node: Any) -> dict[str, int] | list[int] | None:
        entry = self._spots.get(id(node))
        return entry[1] if entry is not None and entry[0] is node else None

    def _line_of(self, pos: int) -> int:
        if self._newlines is None:
            self._newlines = [m.start() for m in re.finditer("\n", self._src)]
        return bisect_left(self._newlines, pos) + 1


def read(text: str) -> tuple[dict[str, Any], Positions]:
    """The document's data (as ``tomllib.loads`` gives it) and where each key is; ``TomlError``
    when it is not valid TOML."""
    src = text.replace("\r\n", "\n")  # as tomllib does, in strings too; line numbers stay
    doc = _Document(src)
    doc.read()
    return doc.root, Positions(doc.root, doc.spots, src)


class _Document:
    """The tables being filled, the current one, and the state of each (for the redefinition rules)."""

    def __init__(self, src: str) -> None:
        self.src = src
        self.root: dict[str, Any] = {}
        self.spots: Spots = {id(self.root): (self.root, {})}
        self.states: dict[int, int] = {id(self.root): EXPLICIT}
        self.arrays: set[int] = set()  # ids of the arrays of tables
        self.current = self.root
        self.section = 0

    def read(self) -> None:
        src = self.src
        pos = _past(_SKIP, src, 0)
        while pos < len(src):
            char = src[pos]
            if char == "[":
                pos = self.header(pos)
            elif char in _KEY_START:
                pos = self.key_value(pos)
            elif char != "#":  # a comment _SKIP left: at the end of the file, or holding what it may not
                raise _error(src, pos, f"expected a key, a [table] or a comment, found {char!r}")
            after = _NEXT.match(src, pos)
            if after is None:
                raise _end_error(src, pos)
            pos = after.end()

    def key_value(self, pos: int) -> int:
        src = self.src
        start = pos
        keys, pos = _keys(src, pos)
        equals = _EQUALS.match(src, pos)
        if equals is None:
            raise _error(src, pos, "expected '=' after the key")
        value, pos = _value(src, equals.end(), self.spots, 0)
        table = self.current
        for key in keys[:-1]:
            table = self.open_dotted(table, key, start)
        last = keys[-1]
        if last in table:
            raise _error(src, start, f"the key {last!r} is already defined")
        table[last] = value
        self.spots[id(table)][1][last] = start
        return pos

    def open_dotted(self, table: dict[str, Any], key: str, start: int) -> dict[str, Any]:
        """The table ``key`` of a dotted key in ``table``, made when missing."""
        inner = table.get(key)
        if inner is None:
            return self.new_table(table, key, start, self.section)
        state = self.states.get(id(inner)) if type(inner) is dict else None
        if state == IMPLICIT:
            self.states[id(inner)] = self.section
        elif state != self.section:
            what = "a value" if state is None else "a table defined elsewhere in the file"
            raise _error(self.src, start, f"the dotted key cannot add to {key!r}: it is {what}")
        return inner  # type: ignore[no-any-return]

    def header(self, pos: int) -> int:
        src = self.src
        start = pos
        array = src.startswith("[[", pos)
        keys, pos = _keys(src, pos + (2 if array else 1))
        close = "]]" if array else "]"
        if not src.startswith(close, pos):
            raise _error(src, pos, f"expected {close!r} after the {'array of tables' if array else 'table'} name")
        self.section += 1
        table = self.root
        for key in keys[:-1]:
            table = self.open_parent(table, key, start)
        self.current = self.append(table, keys[-1], start) if array else self.define(table, keys[-1], start)
        return pos + len(close)

    def open_parent(self, table: dict[str, Any], key: str, start: int) -> dict[str, Any]:
        """The table ``key`` on a header's path (the last element of an array of tables), made when missing."""
        inner = table.get(key)
        if inner is None:
            return self.new_table(table, key, start, IMPLICIT)
        if type(inner) is list and id(inner) in self.arrays:
            inner = inner[-1]
        if type(inner) is not dict or id(inner) not in self.states:
            raise _error(self.src, start, f"{key!r} is a value, not a table that a [header] can extend")
        return inner

    def define(self, table: dict[str, Any], key: str, start: int) -> dict[str, Any]:
        inner = table.get(key)
        if inner is None:
            return self.new_table(table, key, start, EXPLICIT)
        if type(inner) is not dict or self.states.get(id(inner)) != IMPLICIT:
            raise _error(self.src, start, f"{key!r} is already defined")
        self.states[id(inner)] = EXPLICIT
        return inner

    def append(self, table: dict[str, Any], key: str, start: int) -> dict[str, Any]:
        array = table.get(key)
        if array is None:
            array = table[key] = []
            self.arrays.add(id(array))
            self.spots[id(table)][1][key] = start
            self.spots[id(array)] = (array, [])
        elif type(array) is not list or id(array) not in self.arrays:
            raise _error(self.src, start, f"{key!r} is already defined, not as an array of tables")
        element: dict[str, Any] = {}
        array.append(element)
        self.spots[id(array)][1].append(start)
        self.spots[id(element)] = (element, {})
        self.states[id(element)] = EXPLICIT
        return element

    def new_table(self, table: dict[str, Any], key: str, start: int, state: int) -> dict[str, Any]:
        inner: dict[str, Any] = {}
        table[key] = inner
        self.spots[id(table)][1][key] = start
        self.spots[id(inner)] = (inner, {})
        self.states[id(inner)] = state
        return inner


def _past(pattern: re.Pattern[str], src: str, pos: int) -> int:
    """The offset after what ``pattern`` matches at ``pos`` (it matches the empty string too)."""
    return pattern.match(src, pos).end()  # type: ignore[union-attr]


def _end_error(src: str, pos: int) -> TomlError:
    """Why a statement is not followed by the end of its line."""
    pos = _past(_WS, src, pos)
    if src.startswith("#", pos):
        pos = _past(_COMMENT, src, pos)
        return _error(src, pos, f"a comment may not hold {src[pos]!r}")
    return _error(src, pos, f"expected the end of the line, found {src[pos]!r}")


def _keys(src: str, pos: int) -> tuple[list[str], int]:
    """A key (dotted or not) at ``pos`` and the offset after it and the blanks that follow."""
    keys: list[str] = []
    while True:
        match = _KEY.match(src, pos)
        if match is not None:
            keys.append(match.group(match.lastindex))  # type: ignore[arg-type]  # one of the three matched
            pos = match.end()
        else:  # a "key" with escapes, or no key at all
            pos = _past(_WS, src, pos)
            if not src.startswith('"', pos):
                raise _error(src, pos, f"expected a key, found {_found(src, pos)}")
            key, pos = _basic_string(src, pos)
            keys.append(key)
            pos = _past(_WS, src, pos)
        if not src.startswith(".", pos):
            return keys, pos
        pos += 1


def _value(src: str, pos: int, spots: Spots, depth: int) -> tuple[Any, int]:
    """The value at ``pos`` and the offset after it."""
    char = src[pos:pos + 1]
    if char == '"':
        if src.startswith('"""', pos):
            return _multiline_basic(src, pos)
        match = _BASIC.match(src, pos)
        return (match.group(1), match.end()) if match else _basic_string(src, pos)
    if char == "'":
        if src.startswith("'''", pos):
            return _multiline_literal(src, pos)
        match = _LITERAL.match(src, pos)
        if match is None:
            raise _bad_string(src, pos + 1, _LITERAL_RUN)
        return match.group(1), match.end()
    if char == "[" or char == "{":
        if depth >= MAX_DEPTH:
            raise _error(src, pos, f"nested too deeply to read (more than {MAX_DEPTH} levels)")
        return (_array if char == "[" else _inline_table)(src, pos, spots, depth + 1)
    if src.startswith("true", pos):
        return True, pos + 4
    if src.startswith("false", pos):
        return False, pos + 5
    return _scalar(src, pos)


def _scalar(src: str, pos: int) -> tuple[Any, int]:
    """A date, time or number at ``pos``."""
    match = _DATETIME.match(src, pos)
    if match is not None:
        try:
            return _datetime(match), match.end()
        except ValueError:
            raise _error(src, pos, "not a valid date or time") from None
    match = _LOCAL_TIME.match(src, pos)
    if match is not None:
        hour, minute, second, fraction = match.groups()
        return time(int(hour), int(minute), int(second), int((fraction or "0").ljust(6, "0"))), match.end()
    match = _NUMBER.match(src, pos)
    if match is not None:
        try:
            return (float(match.group()) if match.group(1) else int(match.group(), 0)), match.end()
        except ValueError:  # more digits than Python converts
            raise _error(src, pos, "the number is too long") from None
    for word in (src[pos:pos + 3], src[pos:pos + 4]):
        if word in _SPECIAL:
            return _SPECIAL[word], pos + len(word)
    raise _error(src, pos, f"expected a value, found {_found(src, pos)}")


def _datetime(match: re.Match[str]) -> date | datetime:
    year, month, day, hour, minute, second, fraction, zulu, sign, off_hour, off_minute = match.groups()
    if hour is None:
        return date(int(year), int(month), int(day))
    zone = None
    if sign:
        delta = timedelta(hours=int(off_hour), minutes=int(off_minute))
        zone = timezone(delta if sign == "+" else -delta)
    elif zulu:
        zone = timezone.utc
    return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                    int((fraction or "0").ljust(6, "0")), tzinfo=zone)


def _array(src: str, pos: int, spots: Spots, depth: int) -> tuple[list[Any], int]:
    items: list[Any] = []
    offsets: list[int] = []
    spots[id(items)] = (items, offsets)
    pos = _past(_ARRAY_WS, src, pos + 1)
    while not src.startswith("]", pos):
        offsets.append(pos)
        value, pos = _value(src, pos, spots, depth)
        items.append(value)
        after = _ARRAY_NEXT.match(src, pos)
        pos = after.end()  # type: ignore[union-attr]  # matches the empty string
        if not after.group(1) and not src.startswith("]", pos):  # type: ignore[union-attr]
            raise _error(src, pos, f"expected ',' or ']' in the array, found {_found(src, pos)}")
    return items, pos + 1


def _inline_table(src: str, pos: int, spots: Spots, depth: int) -> tuple[dict[str, Any], int]:
    table: dict[str, Any] = {}
    spots[id(table)] = (table, {})
    dotted: set[int] = set()  # tables made here by dotted keys: open to more of them, until the closing brace
    pos = _past(_WS, src, pos + 1)
    if src.startswith("}", pos):
        return table, pos + 1
    while True:
        start = pos
        keys, pos = _keys(src, pos)
        equals = _EQUALS.match(src, pos)
        if equals is None:
            raise _error(src, pos, "expected '=' after the key")
        value, pos = _value(src, equals.end(), spots, depth)
        inner = table
        for key in keys[:-1]:
            inner = _open_inline(src, start, inner, key, spots, dotted)
        if keys[-1] in inner:
            raise _error(src, start, f"the key {keys[-1]!r} is already defined")
        inner[keys[-1]] = value
        spots[id(inner)][1][keys[-1]] = start
        after = _INLINE_NEXT.match(src, pos)
        pos = after.end()  # type: ignore[union-attr]  # matches the empty string
        if not after.group(1):  # type: ignore[union-attr]
            if src.startswith("}", pos):
                return table, pos + 1
            raise _error(src, pos, f"expected ',' or '}}' in the inline table, found {_found(src, pos)}")


def _open_inline(src: str, start: int, table: dict[str, Any], key: str, spots: Spots,
                 dotted: set[int]) -> dict[str, Any]:
    inner = table.get(key)
    if inner is None:
        inner = table[key] = {}
        spots[id(table)][1][key] = start
        spots[id(inner)] = (inner, {})
        dotted.add(id(inner))
    elif id(inner) not in dotted:
        raise _error(src, start, f"the dotted key cannot add to {key!r}: it is a value")
    return inner


def _basic_string(src: str, pos: int) -> tuple[str, int]:
    """A one-line "string" with escapes."""
    parts: list[str] = []
    pos += 1
    while True:
        run = _past(_BASIC_RUN, src, pos)
        parts.append(src[pos:run])
        pos = run
        if src.startswith('"', pos):
            return "".join(parts), pos + 1
        if not src.startswith("\\", pos):
            raise _bad_string(src, pos, _BASIC_RUN)
        text, pos = _escape(src, pos)
        parts.append(text)


def _multiline_basic(src: str, pos: int) -> tuple[str, int]:
    parts: list[str] = []
    pos += 4 if src.startswith("\n", pos + 3) else 3
    while True:
        run = _past(_MULTI_RUN, src, pos)
        parts.append(src[pos:run])
        pos = run
        if src.startswith('"""', pos):
            end = pos + 3
            extra = 2 if src.startswith('""', end) else 1 if src.startswith('"', end) else 0
            parts.append('"' * extra)
            return "".join(parts), end + extra
        if src.startswith('"', pos):
            parts.append('"')
            pos += 1
        elif src.startswith("\\", pos):
            line_end = _LINE_END.match(src, pos)
            if line_end is not None:
                pos = line_end.end()
                continue
            text, pos = _escape(src, pos)
            parts.append(text)
        elif pos == len(src):
            raise _error(src, pos, 'the """ string is not closed')
        else:
            raise _bad_string(src, pos, _MULTI_RUN)


def _multiline_literal(src: str, pos: int) -> tuple[str, int]:
    pos += 4 if src.startswith("\n", pos + 3) else 3
    close = src.find("'''", pos)
    if close < 0:
        raise _error(src, len(src), "the ''' string is not closed")
    bad = _MULTI_BAD.search(src, pos, close)
    if bad is not None:
        raise _error(src, bad.start(), f"the string holds {bad.group()!r}: write it as an escape in a \"\"\" string")
    extra = 2 if src.startswith("''", close + 3) else 1 if src.startswith("'", close + 3) else 0
    return src[pos:close] + "'" * extra, close + 3 + extra


def _escape(src: str, pos: int) -> tuple[str, int]:
    """The character a backslash escape at ``pos`` stands for, and the offset after it."""
    code = src[pos + 1:pos + 2]
    if code in _ESCAPES:
        return _ESCAPES[code], pos + 2
    if code in ("u", "U"):
        size = 4 if code == "u" else 8
        digits = src[pos + 2:pos + 2 + size]
        if len(digits) != size or _HEX.fullmatch(digits) is None:
            raise _error(src, pos, f"\\{code} takes {size} hexadecimal digits")
        number = int(digits, 16)
        if not (0 <= number <= 0xD7FF or 0xE000 <= number <= 0x10FFFF):
            raise _error(src, pos, f"\\{code}{digits} is not a Unicode scalar value")
        return chr(number), pos + 2 + size
    raise _error(src, pos, f"unknown escape \\{code}" if code.strip() else "a backslash must start an escape")


def _bad_string(src: str, pos: int, run: re.Pattern[str]) -> TomlError:
    """Why a string starting before ``pos`` does not end well."""
    pos = _past(run, src, pos)
    char = src[pos:pos + 1]
    if char in ("", "\n"):
        return _error(src, pos, "the string is not closed on its line")
    return _error(src, pos, f"the string holds {char!r}: write it as an escape (\\uXXXX)")
