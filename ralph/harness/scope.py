"""A story's migrations change only the story's own tables and what they create: between the
shadow before and after the pending migrations, every changed object of a table that existed
before must belong to a table the story names; no function, type or schema that existed before
may change, and no event trigger or default privileges may appear. What the story's checks
cannot see (a trigger, a rule, a grant to PUBLIC on another story's or nobody's table) is
caught here."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable

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


def _granted(definition: str) -> set[str]:
    """The grants of an inventory entry (``grants={a=r/b,...}``) to anyone but their grantor: what
    an owner gives away (PUBLIC's default EXECUTE on functions included, which a new function
    then shares with every function made before)."""
    at = definition.find("grants={")
    if at < 0:
        return set()
    entries = definition[at + len("grants={"):].split("}", 1)[0].split(",")
    return {e for e in entries if "=" in e and e.split("=", 1)[0].strip('"') != e.rsplit("/", 1)[-1].strip('"')}


def _header(definition: str) -> str:
    """A function's entry up to its body (``AS $function$``): what pg_get_functiondef says of it."""
    return definition.split("\nAS ", 1)[0]


def privilege_changes(before: dict[str, str], after: dict[str, str], story: str,
                      grants: Collection[str] = ()) -> list[str]:
    """What no story may add, on its own tables too, unless a person does: a grant to another
    role or PUBLIC (beyond what the object had, and beyond PUBLIC's EXECUTE that every function
    has by default; on a table the story declares in ``grants``, its grants are its own), row
    security or a policy, a rule, a SECURITY DEFINER function."""
    declared = {f"relation {t if '.' in t else 'public.' + t}" for t in grants}
    found = []
    for name in sorted(after):
        now, was = after[name], before.get(name, "")
        default = {e for e in _granted(now) if e.startswith("=X/")} if name.startswith("function ") else set()
        given = _granted(now) - _granted(was) - default
        if given and name not in declared:
            found.append(f"{name} grants {', '.join(sorted(given))}")
        if name.startswith("relation "):
            for flag in (" row-security", " forced"):
                if flag in now.split("\nview:", 1)[0] and flag not in was.split("\nview:", 1)[0]:
                    found.append(f"{name} gets{flag.replace('-', ' ')}")
        if name.startswith(("policy ", "rule ")) and now != was:
            found.append(f"{name} {'added' if not was else 'changed'}")
        if name.startswith("function ") and "SECURITY DEFINER" in _header(now) and now != was:
            found.append(f"{name} is SECURITY DEFINER (it runs with its owner's rights for whoever calls it)")
    return [f"privilege: {what}, which {story} does not declare; grants, row security, policies, rules and SECURITY "
            "DEFINER functions are a person's to add" for what in found]
