"""A story's migrations change only the story's own tables and what they create: between the
shadow before and after the pending migrations, every changed object of a table that existed
before must belong to a table the story names; no function, type or schema that existed before
may change, and no event trigger or default privileges may appear. What the story's checks
cannot see (a trigger, a rule, a grant to PUBLIC on another story's or nobody's table) is
caught here."""

from __future__ import annotations

import json
from collections.abc import Iterable

INDEX_TABLE = (" table=", 6)  # an index's entry: "kind=i table=<its table as a JSON string> ..."
TABLE_BOUND = ("column ", "constraint ", "trigger ", "rule ", "comment on ")


def table_of(name: str, definition: str) -> str | None:
    """The table (``schema.table``) an inventory entry belongs to; None for functions, types,
    schemas, extensions and event triggers."""
    if name.startswith("relation "):
        marker, at = INDEX_TABLE
        if definition[at:].startswith(marker):  # after "kind=i" or "kind=I"
            table, _ = json.JSONDecoder().raw_decode(definition, at + len(marker))
            return str(table)
        return name.removeprefix("relation ")
    if name.startswith("policy "):
        return "public." + name.removeprefix("policy ").rsplit(".", 1)[0]
    for prefix in TABLE_BOUND:
        if name.startswith(prefix):
            parts = name.removeprefix(prefix).split(" ", 1)[0].split(".")
            return ".".join(parts[:2])
    return None


def qualified(table: str) -> str:
    return table if "." in table else f"public.{table}"


def out_of_scope(before: dict[str, str], after: dict[str, str], story: str, tables: Iterable[str]) -> list[str]:
    """One line per object the pending migrations changed outside the story's tables."""
    named = {qualified(t) for t in tables}
    existed = {name.removeprefix("relation ") for name in before if name.startswith("relation ")}
    found: dict[str, list[str]] = {}
    for name in sorted(set(before) | set(after)):
        if before.get(name) == after.get(name):
            continue
        what = "added" if name not in before else "removed" if name not in after else "changed"
        table = table_of(name, after.get(name) or before.get(name) or "")
        if table is None:
            if what != "added" or name.startswith(("event trigger ", "default privileges ")):
                found.setdefault(name, []).append(what)
        elif table in existed and table not in named:
            found.setdefault(f"table {table}", []).append(f"{name} {what}")
    return [f"scope: the pending migrations change {subject} ({', '.join(changes[:3])}"
            f"{', ...' if len(changes) > 3 else ''}), which {story} does not name; a story changes only the "
            "tables it declares and what it creates" for subject, changes in found.items()]
