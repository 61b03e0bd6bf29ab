"""Placeholders in the syntax of a layout's own tool, filled from ``--placeholder NAME=VALUE`` and
``[tool.schema_tools.placeholders]``; one left without a value stops the command (exit 2, file:line).

- ``flyway``: ``${name}`` anywhere in the file (Flyway's default prefix and suffix), and its
  built-ins ``${flyway:filename}``, ``${flyway:table}``, ``${flyway:defaultSchema}``;
- ``psql`` (sqitch's pg engine passes its variables to psql): ``:"name"`` and ``:'name'`` outside
  quotes, comments and dollar-quoted bodies, and ``:name`` when a value is given (psql leaves an
  unknown ``:name`` as it is);
- ``go`` (pop/buffalo templates): ``{{ index .Options "Name" }}``, with any spacing;
- ``none``: the layout's tool fills nothing; neither do we.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from ..errors import MigrationError

FLYWAY = re.compile(r"\$\{([^{}\s]+)\}")
PSQL = re.compile(r":(?:\"([A-Za-z_][A-Za-z0-9_]*)\"|'([A-Za-z_][A-Za-z0-9_]*)'|([A-Za-z_][A-Za-z0-9_]*))")
FLYWAY_BUILT_IN = {"flyway:table": "flyway_schema_history", "flyway:defaultSchema": "public"}


def _line(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _unresolved(path: Path, text: str, position: int, written: str, name: str) -> MigrationError:
    return MigrationError(f"{path}:{_line(text, position)}: placeholder {written} has no value",
                          hint=f"pass --placeholder {name}=VALUE, or set it in [tool.schema_tools.placeholders]")


def substitute(text: str, path: Path, syntax: str, values: Mapping[str, str]) -> str:
    """``text`` with its placeholders filled in ``syntax``; one without a value is a MigrationError."""
    if syntax == "flyway":
        known = {**FLYWAY_BUILT_IN, "flyway:filename": path.name, **values}

        def flyway(match: re.Match[str]) -> str:
            if match.group(1) not in known:
                raise _unresolved(path, text, match.start(), match.group(0), match.group(1))
            return known[match.group(1)]

        return FLYWAY.sub(flyway, text) if "${" in text else text
    if syntax == "go":
        return _go(text, path, values) if "{{" in text else text
    if syntax == "psql":
        return _psql(text, path, values) if ":" in text else text
    return text


def _go(text: str, path: Path, values: Mapping[str, str]) -> str:
    """Go template actions: ``{{ index .Options "Name" }}`` (``{{-`` and ``-}}`` trim nothing
    here: pop's migrations put them where spaces do not matter); any other action is refused."""
    out: list[str] = []
    at = 0
    while (start := text.find("{{", at)) != -1:
        end = text.find("}}", start + 2)
        if end == -1:
            raise MigrationError(f"{path}:{_line(text, start)}: a template action '{{{{' without '}}}}'",
                                 hint="close it, or remove it")
        action = text[start + 2:end].strip().removeprefix("-").removesuffix("-").strip()
        words = action.split(None, 2)
        name = words[2].strip() if len(words) == 3 else ""
        if len(words) != 3 or words[:2] != ["index", ".Options"] or len(name) < 2 or name[0] != '"' or name[-1] != '"':
            raise MigrationError(f"{path}:{_line(text, start)}: template action {{{{{action}}}}} is not a placeholder",
                                 hint='schema-tools fills {{ index .Options "Name" }} only; run this file with its tool')
        if name[1:-1] not in values:
            raise _unresolved(path, text, start, text[start:end + 2], name[1:-1])
        out += [text[at:start], values[name[1:-1]]]
        at = end + 2
    return "".join(out) + text[at:]


def _psql(text: str, path: Path, values: Mapping[str, str]) -> str:
    """psql's variables, outside quotes, comments and dollar-quoted bodies (where psql leaves them)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        end = _skip(text, i)
        if end > i:
            out.append(text[i:end])
            i = end
            continue
        match = PSQL.match(text, i) if c == ":" and not text.startswith("::", i) and (i == 0 or text[i - 1] != ":") else None
        if match is None:
            out.append(c)
            i += 1
            continue
        quoted_ident, quoted_literal, bare = match.groups()
        name = quoted_ident or quoted_literal or bare
        if name in values:
            value = values[name]
            out.append('"' + value.replace('"', '""') + '"' if quoted_ident else
                       "'" + value.replace("'", "''") + "'" if quoted_literal else value)
        elif bare:
            out.append(match.group(0))  # psql leaves an unknown :name as it is
        else:
            raise _unresolved(path, text, i, match.group(0), name)
        i = match.end()
    return "".join(out)


DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


def _skip(text: str, i: int) -> int:
    """The end of a quoted string, comment or dollar-quoted body starting at ``i`` (``i``: none)."""
    c = text[i]
    if c in "'\"":
        end = text.find(c, i + 1)
        while end != -1 and text.startswith(c * 2, end):
            end = text.find(c, end + 2)
        return len(text) if end == -1 else end + 1
    if text.startswith("--", i):
        end = text.find("\n", i)
        return len(text) if end == -1 else end
    if text.startswith("/*", i):
        end = text.find("*/", i + 2)
        return len(text) if end == -1 else end + 2
    if c == "$" and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
        tag = DOLLAR.match(text, i)
        if tag:
            end = text.find(tag.group(0), tag.end())
            return len(text) if end == -1 else end + len(tag.group(0))
    return i
