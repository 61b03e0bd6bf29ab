"""What SQL can do beyond the database it runs in: run programs or read and write files on the
server, manage roles, change server settings, load code, and hide statements in dynamic SQL.

A deny-list read from the tokens of the text, function and DO bodies and other string contents
included (a body is SQL too), so that a statement guarded by a condition (``IF current_user ...
THEN COPY ... TO PROGRAM``) is found as well as a plain one. It is a second line: the first is
running untrusted SQL without superuser rights.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from .scanner import STRINGS, spans, string_content

TRUSTED_EXTENSIONS = frozenset({
    "btree_gin", "btree_gist", "citext", "cube", "dict_int", "fuzzystrmatch", "hstore", "intarray", "isn", "lo",
    "ltree", "pgcrypto", "pg_trgm", "seg", "tablefunc", "tcn", "tsm_system_rows", "tsm_system_time", "unaccent",
    "uuid-ossp", "plpgsql", "bool_plperl", "jsonb_plperl", "hstore_plperl", "plperl"})
"""Extensions PostgreSQL lets a database owner create without a superuser (``trusted = true``)."""

SERVER_FUNCTIONS = frozenset({
    "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_ls_logdir", "pg_ls_waldir", "pg_ls_tmpdir",
    "pg_ls_archive_statusdir", "pg_ls_logicalsnapdir", "pg_ls_logicalmapdir", "pg_ls_replslotdir", "pg_stat_file",
    "lo_import", "lo_export", "pg_file_write", "pg_file_rename", "pg_file_unlink", "pg_file_sync", "pg_logdir_ls",
    "pg_reload_conf", "pg_terminate_backend", "pg_cancel_backend", "pg_rotate_logfile", "pg_promote",
    "pg_switch_wal", "pg_create_restore_point", "dblink", "dblink_exec", "dblink_connect", "dblink_connect_u",
    "dblink_open", "dblink_send_query", "query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema"})
"""Functions that reach files, other sessions, other servers, or run SQL given as text."""

ROLE_SETTINGS = frozenset({"role", "session_authorization", "session_replication_role"})
_UNTRUSTED_LANGUAGE = re.compile(r"^(?:c|internal|pl\w*u)$")


@dataclass(frozen=True)
class _Token:
    kind: str  # "word", "ident" (quoted), "string" or "punct"
    text: str  # words lower-cased; quoted identifiers and strings as their content
    depth: int  # 0 in the statement itself, 1 inside one of its strings (a body), ...


def _tokens(text: str, depth: int = 0) -> Iterator[_Token]:
    """Words, strings, quoted identifiers and punctuation; comments are skipped. Each string but
    a comment's (``COMMENT ON ... IS '...'``) is followed by its own tokens, a level deeper: a
    function or DO body is SQL too, however it is quoted."""
    previous = ""
    for kind, start, end in spans(text):
        if kind == "word":
            previous = text[start:end].lower()
            yield _Token("word", previous, depth)
        elif kind in STRINGS:
            content = string_content(text[start:end], unicode_escapes=text[max(start - 2, 0):start].lower() == "u&")
            yield _Token("string", content, depth)
            if depth < 4 and previous != "is":
                yield from _tokens(content, depth + 1)
        elif kind == "ident":
            yield _Token("ident", text[start + 1:end - 1].replace('""', '"'), depth)
        elif kind in ("open", "close", "semi"):
            yield _Token("punct", text[start:end], depth)
        if kind not in ("word", "line", "block"):
            previous = ""


def reaches(text: str) -> list[str]:
    """What ``text`` (one statement or several) can do outside its database, one phrase each
    (empty: nothing on the list)."""
    found: list[str] = []
    tokens = list(_tokens(text))
    for i, t in enumerate(tokens):
        if t.kind not in NAMES:
            continue
        after = [x.text for x in tokens[i + 1:i + 5] if x.kind in NAMES and x.depth == t.depth]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if t.kind == "ident":  # a name, never a keyword: "pg_read_file"(...) is pg_read_file(...)
            found += _named(t, nxt, tokens, i)
        elif t.text in ("to", "from") and _program(tokens, i) and _copying(tokens, i):
            found.append("runs a program on the database server (COPY ... PROGRAM)")
        elif t.text in ("to", "from") and _string_at(tokens, i + 1) and _copying(tokens, i):
            found.append("reads or writes a file on the database server (COPY ... FROM/TO 'file')")
        elif t.text == "alter" and after[:1] == ["system"]:
            found.append("changes the server's configuration (ALTER SYSTEM)")
        elif t.text in ("create", "alter", "drop") and after[:1] in (["role"], ["user"], ["group"]) \
                and after[1:2] != ["mapping"]:
            found.append(f"manages roles, which the whole server shares ({t.text.upper()} {after[0].upper()})")
        elif t.text == "set" and (after[:1] == ["role"] or after[:2] == ["session", "authorization"]):
            found.append("switches to another role (SET ROLE / SET SESSION AUTHORIZATION)")
        elif t.text == "load" and nxt is not None and nxt.kind == "string" and _starts_statement(tokens, i):
            found.append("loads a shared library into the server (LOAD)")
        elif t.text == "language" and _untrusted_language(tokens, i):
            found.append("uses an untrusted language (code that runs as the server's account)")
        elif t.text == "extension" and i > 0 and tokens[i - 1].text == "create":
            name = _extension_name(tokens, i)
            if name and name not in TRUSTED_EXTENSIONS:
                found.append(f"creates extension {name}, which only a superuser may (not a trusted extension)")
        elif t.text == "execute" and t.depth > 0 and after[:1] not in (["function"], ["procedure"]):
            found.append("runs dynamic SQL (EXECUTE in a body): what it runs cannot be checked")
        else:
            found += _named(t, nxt, tokens, i)
    return list(dict.fromkeys(found))


NAMES = ("word", "ident")


def _named(t: _Token, nxt: _Token | None, tokens: list[_Token], i: int) -> list[str]:
    """What a name (unquoted, or quoted and compared exactly) reaches: a function or a setting."""
    if t.text == "session_replication_role" or (t.text == "set_config" and _sets_role(tokens, i)):
        return ["switches roles or turns off triggers and foreign keys (role settings)"]
    if t.text in SERVER_FUNCTIONS and nxt is not None and nxt.text == "(":
        return [f"calls {t.text}, which reaches files, sessions or servers, or runs SQL given as text"]
    return []


def _statement_start(tokens: list[_Token], i: int) -> int:
    depth = tokens[i].depth
    j = i
    while j > 0 and not (tokens[j - 1].depth == depth and tokens[j - 1].text == ";") \
            and not (tokens[j - 1].depth < depth):
        j -= 1
    return j


def _string_at(tokens: list[_Token], j: int) -> bool:
    """A string constant starts at ``j``: ``'...'``, ``E'...'``, ``$$...$$`` or ``U&'...'``."""
    if j + 1 < len(tokens) and tokens[j].text == "u" and tokens[j + 1].kind == "string":
        return True
    return j < len(tokens) and tokens[j].kind == "string"


def _program(tokens: list[_Token], i: int) -> bool:
    """``TO PROGRAM 'command'`` (the command a string, as PostgreSQL requires)."""
    return i + 1 < len(tokens) and tokens[i + 1].text == "program" and _string_at(tokens, i + 2)


def _copying(tokens: list[_Token], i: int) -> bool:
    depth = tokens[i].depth
    return any(t.kind == "word" and t.text == "copy" and t.depth == depth for t in tokens[_statement_start(tokens, i):i])


def _starts_statement(tokens: list[_Token], i: int) -> bool:
    return _statement_start(tokens, i) == i or tokens[i - 1].text in ("then", "else", "loop", "begin")


def _sets_role(tokens: list[_Token], i: int) -> bool:
    """``set_config('role', ...)`` and the like: the setting is named in a string."""
    name = next((t for t in tokens[i + 1:i + 3] if t.kind == "string"), None)
    return name is not None and name.text.strip().lower() in ROLE_SETTINGS


def _untrusted_language(tokens: list[_Token], i: int) -> bool:
    nxt = tokens[i + 1] if i + 1 < len(tokens) else None
    if nxt is None:
        return False
    if _UNTRUSTED_LANGUAGE.match(nxt.text.lower().strip()):
        return True
    j = i - 1  # CREATE [OR REPLACE] [TRUSTED] [PROCEDURAL] LANGUAGE
    while j >= 0 and tokens[j].text in ("trusted", "procedural", "replace", "or"):
        j -= 1
    return j >= 0 and tokens[j].text == "create"


def _extension_name(tokens: list[_Token], i: int) -> str:
    rest = [t for t in tokens[i + 1:i + 6] if t.depth == tokens[i].depth and t.kind != "punct"]
    words = [t.text for t in rest]
    if words[:3] == ["if", "not", "exists"]:
        rest = rest[3:]
    return rest[0].text.lower() if rest else ""
