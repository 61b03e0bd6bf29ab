"""What a statement does, as acts an allow-list can judge: which objects it creates, alters,
drops, writes rows in, locks or grants on; which functions it calls (names as PostgreSQL
resolves quoted ones: ``"lo_export"`` is lo_export); which settings it sets; and, for whatever
has no act here, one ``other`` act naming the statement kind, so that a judge that allows only
what it knows refuses it. DO blocks are read (their statements run when the migration runs);
function bodies are read as ``stored`` acts (they run later, when the function is called).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .bodies import dynamic_sql
from .tree import Node, body, constant, nodes, strings, tag

if TYPE_CHECKING:
    from .statement import Statement


@dataclass(frozen=True)
class Act:
    """``verb`` (create, alter, drop, write, lock, grant, call, set, other) on ``kind`` (table,
    index, view, sequence, function, type, schema, extension, trigger, policy, setting, or a
    statement kind for ``other``) named ``name`` (``schema.name`` when qualified; a setting's
    name); ``detail`` says more (a function's SECURITY DEFINER, a setting's value, an ALTER
    TABLE subcommand); ``stored``: in a function body (runs when called, not when migrating)."""

    verb: str
    kind: str
    name: str
    detail: str = ""
    stored: bool = False


def _qualified(names: list[str]) -> str:
    return ".".join(names[-2:])


def _range(node: Node | None) -> str:
    node = node or {}
    name = node.get("relname", "")
    return f"{node['schemaname']}.{name}" if node.get("schemaname") else name


RELATION_KINDS = {"OBJECT_TABLE": "table", "OBJECT_INDEX": "index", "OBJECT_VIEW": "view", "OBJECT_MATVIEW": "view",
                  "OBJECT_SEQUENCE": "sequence", "OBJECT_FUNCTION": "function", "OBJECT_PROCEDURE": "function",
                  "OBJECT_ROUTINE": "function", "OBJECT_TYPE": "type", "OBJECT_DOMAIN": "type",
                  "OBJECT_SCHEMA": "schema", "OBJECT_EXTENSION": "extension", "OBJECT_TRIGGER": "trigger",
                  "OBJECT_POLICY": "policy", "OBJECT_RULE": "rule", "OBJECT_COLUMN": "table",
                  "OBJECT_TABCONSTRAINT": "table", "OBJECT_FOREIGN_TABLE": "table"}
ON_TABLE = {"OBJECT_TRIGGER", "OBJECT_POLICY", "OBJECT_RULE", "OBJECT_COLUMN", "OBJECT_TABCONSTRAINT"}
WRITES = {"InsertStmt": "relation", "UpdateStmt": "relation", "DeleteStmt": "relation", "MergeStmt": "relation",
          "CopyStmt": "relation"}


def _object_name(objtype: str, item: Any) -> tuple[str, str]:
    """(kind, name) of a DROP's or COMMENT's object; for an object on a table, the table."""
    kind = RELATION_KINDS.get(objtype, objtype.removeprefix("OBJECT_").lower())
    if tag(item) == "ObjectWithArgs":
        return kind, _qualified(strings(body(item).get("objname")))
    if tag(item) == "TypeName":
        return kind, _qualified(strings(body(item).get("names")))
    names = strings(item) if tag(item) == "List" else [body(item, "String").get("sval", "")]
    if objtype in ON_TABLE:
        return "table", _qualified(names[:-1])
    return kind, _qualified(names)


def _options(items: Any) -> dict[str, Any]:
    return {body(i).get("defname", ""): body(i).get("arg") for i in items or ()}


def _function_acts(s: Statement, verb: str, name: str, options: Any) -> Iterator[Act]:
    given = _options(options)
    security = body(given.get("security"), "Boolean").get("boolval")
    language = body(given.get("language"), "String").get("sval", "")
    yield Act(verb, "function", name, "security definer" if security else language)
    for item in options or ():
        setting = body(body(item).get("arg"), "VariableSetStmt") if body(item).get("defname") == "set" else {}
        if setting.get("name"):
            yield Act("set", "function setting", setting["name"], str(constant((setting.get("args") or [None])[0])))


def _own(s: Statement) -> Iterator[Act]:
    """The statement's acts on objects and settings (calls come apart)."""
    kind, f = s.kind, s.fields
    if not kind:
        yield Act("other", "unreadable", "a statement PostgreSQL's parser cannot read")
    elif kind == "CreateStmt":
        yield Act("create", "table", _range(f.get("relation")))
    elif kind == "CreateTableAsStmt":
        into = body(f.get("into"))
        yield Act("create", "view" if f.get("objtype") == "OBJECT_MATVIEW" else "table", _range(into.get("rel")))
    elif kind == "ViewStmt":
        yield Act("create", "view", _range(f.get("view")))
    elif kind == "IndexStmt":
        yield Act("alter", "table", _range(f.get("relation")), "index")
    elif kind == "AlterTableStmt":
        what = RELATION_KINDS.get(f.get("objtype", "OBJECT_TABLE"), "table")
        for command in f.get("cmds") or ():
            yield Act("alter", what, _range(f.get("relation")), body(command).get("subtype", ""))
    elif kind in ("CreateTrigStmt", "CreatePolicyStmt", "AlterPolicyStmt", "RuleStmt"):
        yield Act("create", {"CreateTrigStmt": "trigger", "RuleStmt": "rule"}.get(kind, "policy"),
                  _range(f.get("relation") or f.get("table")))
    elif kind == "CreateSeqStmt":
        yield Act("create", "sequence", _range(f.get("sequence")))
    elif kind == "AlterSeqStmt":
        yield Act("alter", "sequence", _range(f.get("sequence")))
    elif kind == "CreateFunctionStmt":
        yield from _function_acts(s, "create", _qualified(strings(f.get("funcname"))), f.get("options"))
    elif kind == "AlterFunctionStmt":
        yield from _function_acts(s, "alter", _qualified(strings(body(f.get("func")).get("objname"))), f.get("actions"))
    elif kind in ("CreateEnumStmt", "CompositeTypeStmt", "CreateDomainStmt", "CreateRangeStmt"):
        names = strings(f.get("typeName") or f.get("domainname")) or [_range(f.get("typevar"))]
        yield Act("create", "type", _qualified(names))
    elif kind in ("AlterEnumStmt", "AlterDomainStmt"):
        yield Act("alter", "type", _qualified(strings(f.get("typeName"))))
    elif kind == "CreateSchemaStmt":
        yield Act("create", "schema", f.get("schemaname", ""))
    elif kind == "CreateExtensionStmt":
        from .reach import TRUSTED_EXTENSIONS

        name = f.get("extname", "")
        yield Act("create", "extension", name, "trusted" if name in TRUSTED_EXTENSIONS and not name.startswith("pl")
                  and not name.endswith("plperl") else "")
    elif kind in ("DropStmt", "CommentStmt", "RenameStmt"):
        objtype = f.get("removeType") or f.get("objtype") or f.get("renameType") or ""
        verb = {"DropStmt": "drop", "CommentStmt": "alter", "RenameStmt": "alter"}[kind]
        if kind == "RenameStmt" and f.get("relation"):
            relkind = RELATION_KINDS.get(f.get("relationType") or objtype, "table")
            yield Act(verb, "table" if objtype in ON_TABLE else relkind, _range(f.get("relation")), "rename")
            return
        objects = f.get("objects") or ([f["object"]] if "object" in f else [])
        for item in objects:
            what, name = _object_name(objtype, item)
            yield Act(verb, what, name, "comment" if kind == "CommentStmt" else "")
    elif kind in WRITES:
        yield Act("write", "table", _range(f.get("relation")), kind.removesuffix("Stmt").upper())
    elif kind == "TruncateStmt":
        for r in f.get("relations") or ():
            yield Act("write", "table", _range(body(r, "RangeVar")), "TRUNCATE")
    elif kind == "LockStmt":
        for r in f.get("relations") or ():
            yield Act("lock", "table", _range(body(r, "RangeVar")))
    elif kind == "VacuumStmt":
        for r in f.get("rels") or ():
            yield Act("alter", "table", _range(body(body(r, "VacuumRelation").get("relation"))), "analyze")
    elif kind == "GrantStmt":
        for item in f.get("objects") or ():
            what, name = (("table", _range(body(item, "RangeVar"))) if tag(item) == "RangeVar"
                          else _object_name(f.get("objtype", ""), item))
            yield Act("grant", what, name, "GRANT" if f.get("is_grant") else "REVOKE")
        if f.get("targtype") != "ACL_TARGET_OBJECT":
            yield Act("grant", "schema", "every object of a schema", "ALL ... IN SCHEMA")
    elif kind == "VariableSetStmt":
        value = [constant(a) for a in f.get("args") or ()]
        yield Act("set", "setting", f.get("name", "") or f.get("kind", ""),
                  "DEFAULT" if f.get("kind") in ("VAR_SET_DEFAULT", "VAR_RESET") else
                  str(value[0]) if len(value) == 1 and value[0] is not None else "")
    elif kind == "SelectStmt":
        if f.get("intoClause"):
            yield Act("create", "table", _range(body(f["intoClause"]).get("rel")))
    elif kind == "CallStmt":
        pass  # its call is read with the others
    elif kind in ("DoStmt", "TransactionStmt"):
        pass  # a DO block's statements are read apart; transaction control is the runner's to refuse
    else:
        yield Act("other", kind, kind.removesuffix("Stmt"))


def _running(s: Statement) -> Any:
    """The part of the tree that runs when the statement runs (a routine's own body left out)."""
    if s.kind == "CreateFunctionStmt":
        return {k: v for k, v in s.fields.items() if k not in ("sql_body", "options")}
    return s.tree


def _nested_writes(s: Statement) -> Iterator[Act]:
    """Rows written anywhere in the statement: ``WITH d AS (DELETE FROM users ...) SELECT ...``."""
    for kind in WRITES:
        if kind != "CopyStmt":
            for node in nodes(_running(s), kind):
                yield Act("write", "table", _range(node.get("relation")), kind.removesuffix("Stmt").upper())


def _migration_calls(s: Statement) -> Iterator[str]:
    """Every function the statement calls when it runs (a routine's own body left out), as written."""
    for call in nodes(_running(s), "FuncCall"):
        names = strings(call.get("funcname"))
        if names:
            yield ".".join(names)


def _language(s: Statement) -> str:
    """The language of a DO block or routine ("" for other statements)."""
    if s.kind == "DoStmt":
        return str(body(_options(s.fields.get("args")).get("language"), "String").get("sval", "plpgsql"))
    if s.kind == "CreateFunctionStmt":
        return str(body(_options(s.fields.get("options")).get("language"), "String").get("sval", "sql"))
    return ""


def acts(s: Statement, stored: bool = False) -> tuple[Act, ...]:
    """Every act of the statement, its DO block's and (``stored``) its routine body's."""
    found = [Act(a.verb, a.kind, a.name, a.detail, stored) for a in _own(s)]
    try:
        found += [Act(a.verb, a.kind, a.name, a.detail, stored) for a in _nested_writes(s)]
        found += [Act("call", "function", name, "", stored) for name in _migration_calls(s)]
    except RecursionError:
        found.append(Act("other", "unreadable", "a statement nested too deeply to read", "", stored))
    for inner in s.inner:
        found += acts(inner, stored)
    for inner in s.routine_body:
        found += acts(inner, True)
    if dynamic_sql(s):
        found.append(Act("other", "dynamic SQL", "EXECUTE of SQL built at run time, which cannot be read", "",
                         s.kind == "CreateFunctionStmt"))
    language = _language(s)
    if language not in ("", "sql", "plpgsql"):
        found.append(Act("other", "unread body", f"a {language} body, which the harness cannot read", "",
                         s.kind == "CreateFunctionStmt"))
    return tuple(dict.fromkeys(found))
