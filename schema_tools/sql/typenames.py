"""Type names as PostgreSQL's ``format_type`` spells them, read from parse trees."""

from __future__ import annotations

import functools
import re
from typing import Any

from .identifiers import quote
from .tree import Node, constant, strings

SERIALS = {"serial": "integer", "serial4": "integer", "bigserial": "bigint", "serial8": "bigint",
           "smallserial": "smallint", "serial2": "smallint"}
INTERNAL = {"int8": "bigint", "int4": "integer", "int2": "smallint", "float8": "double precision",
            "float4": "real", "bool": "boolean", "varchar": "character varying", "bpchar": "character",
            "timestamptz": "timestamp with time zone", "timestamp": "timestamp without time zone",
            "timetz": "time with time zone", "time": "time without time zone", "varbit": "bit varying",
            "decimal": "numeric", "int": "integer", "integer": "integer", "smallint": "smallint",
            "bigint": "bigint", "real": "real", "boolean": "boolean"}


def type_base(type_name: Node | None) -> str:
    """The type's own name, lower case (``int8``, ``varchar``, ``serial``, ``citext``)."""
    names = strings((type_name or {}).get("names"))
    return names[-1] if names else ""


def type_text(type_name: Node | None, names: list[str] | None = None) -> str:
    """A TypeName in format_type's spelling: ``bigint``, ``character varying(40)``,
    ``timestamp(3) with time zone``, ``integer[]``; a serial as its integer type. ``names``:
    its names as ``strings`` reads them, when the caller has them already."""
    if not type_name:
        return ""
    if names is None:
        names = strings(type_name.get("names"))
    if not names:
        return ""
    base = names[-1]
    builtin = len(names) == 1 or names[0] == "pg_catalog"
    if builtin and base in SERIALS:
        text = SERIALS[base]
    elif builtin:
        text = INTERNAL.get(base) or quote(base)
    else:
        text = ".".join(quote(n) for n in names if n != "public" or len(names) == 1)
    typmods = type_name.get("typmods")
    mods = [constant(m) for m in typmods] if typmods else []
    if mods and base == "interval" and builtin:
        return _interval(mods) + ("[]" if type_name.get("arrayBounds") else "")
    if mods and all(isinstance(m, int) for m in mods):
        if text == "numeric" and len(mods) == 1:
            mods.append(0)
        args = f"({','.join(str(m) for m in mods)})"
        head, zone, tail = text.partition(" with")
        text = f"{head}{args}{zone}{tail}" if head.startswith(("timestamp", "time")) and zone else f"{text}{args}"
    if type_name.get("arrayBounds"):
        text += "[]"
    return text


_INTERVAL_FIELDS = {4: " year", 2: " month", 8: " day", 1024: " hour", 2048: " minute", 4096: " second",
                    6: " year to month", 1032: " day to hour", 3080: " day to minute", 7176: " day to second",
                    3072: " hour to minute", 7168: " hour to second", 6144: " minute to second", 32767: ""}
"""interval's first modifier is a mask of its fields (PostgreSQL's INTERVAL_MASK bits)."""


def _interval(mods: list[Any]) -> str:
    """``interval day to second(3)`` from its modifiers: the fields mask, then the precision."""
    fields = _INTERVAL_FIELDS.get(mods[0], "") if isinstance(mods[0], int) else ""
    precision = f"({mods[1]})" if len(mods) > 1 and isinstance(mods[1], int) else ""
    return f"interval{precision}" if not fields else f"interval{fields}{precision}"


TYPE_ALIASES = {
    "int8": "bigint", "int": "integer", "int4": "integer", "int2": "smallint", "bool": "boolean",
    "float8": "double precision", "float4": "real", "timestamptz": "timestamp with time zone",
    "timestamp": "timestamp without time zone", "timetz": "time with time zone",
    "time": "time without time zone", "varchar": "character varying", "char": "character",
    "decimal": "numeric", "serial": "integer", "bigserial": "bigint", "serial8": "bigint",
}


@functools.lru_cache(maxsize=4096)
def normal_type(text: str) -> str:
    """A type name in format_type's spelling: ``int8`` -> ``bigint``, ``varchar(5)`` -> ``character varying(5)``."""
    text = " ".join(text.lower().split())
    match = re.match(r"^([a-z0-9_ ]+?)\s*(\(.*\))?(\[\])?$", text)
    if not match:
        return text
    base, args, array = match.group(1), match.group(2) or "", match.group(3) or ""
    base = TYPE_ALIASES.get(base, base)
    if args and base.startswith(("timestamp", "time ")):
        head, _, zone = base.partition(" with")
        return f"{head}{args} with{zone}{array}"
    return f"{base}{args.replace(' ', '')}{array}"
