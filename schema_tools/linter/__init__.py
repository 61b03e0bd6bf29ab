"""``lint``: rules for dangerous DDL, with the whole declared schema in view, no database needed.

The migrations are folded in order; each statement is checked against the schema the files
declared before its migration began, so "existing table" rules stay silent on a table created
earlier in the same migration. Schema-wide rules run on the final declared schema.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType

from ..catalog import Catalog
from ..config import POSTGRES_OLDEST, Settings
from ..errors import ConfigError, SchemaToolsError
from ..findings import Check, Finding, Report, Severity, folder as folder_rules
from ..invariants import fk_indexed, redundant_index
from ..migration_files.model import Migration, Migrations, same_version
from ..migration_files.read import read_folder, read_migration_file
from ..sql.ahead import parsed_ahead
from ..sql.tree import body
from ..sqlmodel import DeclaredSchema, Parsed, parse_migration
from .cache import LintCache
from .context import Context
from .ignores import RULE as IGNORE_RULE
from .ignores import collect, not_ignored
from .rules import (add_column_not_null, add_unique_directly, column_type_change, concurrently_in_transaction,
                    constraint_not_valid, distribution, drop, drop_index, exclusion, file_rules, index_not_concurrently,
                    rename, rewrite_default, set_not_null, style)

STATEMENT_RULES = (index_not_concurrently, concurrently_in_transaction, constraint_not_valid, add_column_not_null,
                   set_not_null, column_type_change, add_unique_directly, drop, rename, style, drop_index,
                   rewrite_default, exclusion)
RULES_BY_KIND = {kind: tuple(rule for rule in STATEMENT_RULES if kind in rule.KINDS)
                 for kind in set().union(*(rule.KINDS for rule in STATEMENT_RULES))}
"""The statement rules each node type needs (a rule never sees a statement it does not read)."""
_ALTER_RULES: dict[frozenset[str], tuple[ModuleType, ...]] = {}
"""The ALTER TABLE rules for each set of subcommands met so far (a rule reads only its SUBCOMMANDS)."""


def rules_for(p: Parsed) -> tuple[ModuleType, ...]:
    """The statement rules that read this statement: by its node type, and for an ALTER TABLE by
    its subcommands too (most ALTER TABLE rules read one or two kinds of subcommand)."""
    rules = RULES_BY_KIND.get(p.kind, ())
    if p.kind != "AlterTableStmt":
        return rules
    subcommands = frozenset(body(c).get("subtype", "") for c in p.fields.get("cmds") or ())
    chosen = _ALTER_RULES.get(subcommands)
    if chosen is None:
        chosen = _ALTER_RULES[subcommands] = tuple(r for r in rules if not subcommands.isdisjoint(r.SUBCOMMANDS))
    return chosen
FK_NOT_INDEXED = "fk-not-indexed"
NOT_MODELLED = "not-modelled"
SYNTAX_ERROR = "syntax-error"
UNKNOWN_TABLE = "unknown-table"
NOT_READ = "not-read"
LOCK_DIFFERS = "lock-differs"
REDUNDANT_INDEX = "redundant-index"
RULE_HELP: dict[str, str] = {
    **{m.NAME: m.HELP for m in (index_not_concurrently, concurrently_in_transaction, constraint_not_valid,
                                add_column_not_null, set_not_null, column_type_change, add_unique_directly, rename,
                                drop_index, rewrite_default, exclusion)},
    drop.NAME: "DROP COLUMN without an acknowledgement", drop.TABLE_NAME: "DROP TABLE without an acknowledgement",
    **style.HELP, **file_rules.HELP, **folder_rules.HELP,
    FK_NOT_INDEXED: "foreign key whose columns lead no index in the declared schema",
    REDUNDANT_INDEX: "index made redundant by another in the declared schema",
    IGNORE_RULE: "inline ignore without a reason",
    **distribution.HELP,
    NOT_MODELLED: "statement that may change tables but is not modelled or not checked (a note)",
    SYNTAX_ERROR: "SQL that PostgreSQL's parser cannot read",
    UNKNOWN_TABLE: "a statement on a table the files never declare: treated as existing (a note)",
    NOT_READ: "a Python file in a migrations folder, or a migration only its own tool runs, not read by lint (a note)",
    LOCK_DIFFERS: "with --trace-locks: the lock a statement was seen to take differs from the static table",
}
RULES = tuple(sorted(RULE_HELP))


def _distribution_findings(schema: DeclaredSchema, catalog: Catalog, column: str) -> list[Finding]:
    findings = []
    for table, name, f in distribution.check(catalog, column):
        origin = schema.origin(table, name) if name else None
        findings.append(Finding(f.rule, f.message, f.severity, f.object, f.hint, origin[0] if origin else None,
                                origin[1] if origin else None, 1 if origin else None))
    return findings


def _schema_findings(schema: DeclaredSchema, catalog: Catalog) -> list[Finding]:
    findings = []
    for invariant, rule in ((fk_indexed, FK_NOT_INDEXED), (redundant_index, REDUNDANT_INDEX)):
        for f in invariant.check(catalog):
            table, _, name = f.object.rpartition(".") if invariant is fk_indexed else ("", "", f.object)
            if not table:
                table = next((t for t, tbl in catalog.tables.items() if any(i.name == name for i in tbl.indexes)), "")
            origin = schema.origin(table, name)
            findings.append(Finding(rule, f.message, Severity.ERROR, f.object, f.hint,
                                    origin[0] if origin else None, origin[1] if origin else None, 1 if origin else None))
    return findings


def _configured(findings: Iterable[Finding], disabled: set[str], warn: set[str]) -> list[Finding]:
    out = []
    for f in findings:
        if f.rule in disabled:
            continue
        if f.rule in warn and f.severity is Severity.ERROR:
            f = Finding(f.rule, f.message, Severity.WARNING, f.object, f.hint, f.file, f.line, f.column)
        out.append(f)
    return out


@dataclass
class LintState:
    """Everything linting has gathered after some prefix of the migrations (what the cache keeps)."""

    schema: DeclaredSchema = field(default_factory=DeclaredSchema)
    by_file: dict[str, list[Finding]] = field(default_factory=dict)
    covered: dict[tuple[str, int], set[str]] = field(default_factory=dict)
    unknown: set[str] = field(default_factory=set)  # tables the model does not know, noted once


def lint_one(state: LintState, m: Migration, postgres: int = POSTGRES_OLDEST, lock_timeout: str | None = None) -> None:
    """Fold one migration into the state, checking each statement against what came before;
    ``lock_timeout``: the runner's default for a file that sets none (None: no runner's)."""
    schema = state.schema
    notes_before = len(schema.notes)
    parsed = parse_migration(m)
    found: list[Finding] = syntax_errors(m)
    tables = [file_rules.target_table(p) for p in parsed]
    for p, table in zip(parsed, tables):
        context = Context(p, schema, postgres)
        try:
            for rule in rules_for(p):
                found += rule.check(context)
        except RecursionError:
            found.append(context.finding(NOT_MODELLED, "this statement is nested too deeply for the rules to read: "
                                         "not checked", "check it by hand, or split the expression", Severity.NOTE))
        if table and table not in schema.tables and table not in schema.created_in and table not in state.unknown:
            state.unknown.add(table)
            found.append(context.finding(UNKNOWN_TABLE, f"{table} is not a table these migrations declare (made "
                                         "outside them, or by a statement the model could not read): the rules treat "
                                         "it as an existing table", "nothing to do if it exists; else check the "
                                         "statements that should create it", Severity.NOTE))
        schema.apply(p)
    found += file_rules.check_file(m, parsed, schema, tables, lock_timeout)
    found += schema.notes[notes_before:]
    ignores, problems = collect(m.text, str(m.path), [p.statement.line for p in parsed])
    for key, rules in ignores.items():
        state.covered.setdefault(key, set()).update(rules)
    state.by_file.setdefault(str(m.path), []).extend(found + problems)


def syntax_errors(m: Migration) -> list[Finding]:
    """What PostgreSQL's own parser refuses in the migration and its rollback file."""
    found = []
    for path, problem in ((m.path, m.syntax_problem), (m.rollback_path, m.rollback_syntax_problem)):
        if problem is not None:
            found.append(Finding(SYNTAX_ERROR, f"{problem.message} (PostgreSQL's parser cannot read this file)",
                                 Severity.ERROR, m.id, "fix the statement: the server would refuse it",
                                 str(path), problem.line, problem.column))
    return found


def schema_level(state: LintState, distribution_column: str | None) -> list[Finding]:
    """The rules over the final declared schema."""
    catalog = state.schema.catalog()
    findings = _schema_findings(state.schema, catalog)
    if distribution_column:
        findings += _distribution_findings(state.schema, catalog, distribution_column)
    return findings


def _check_rules(disabled: Iterable[str], warn: Iterable[str]) -> None:
    unknown = (set(disabled) | set(warn)) - set(RULES)
    if unknown:
        raise ConfigError(f"unknown lint rule {sorted(unknown)[0]!r} in [tool.schema_tools.lint]",
                          hint=f"known rules: {', '.join(RULES)}")


def build_report(state: LintState, schema_findings: list[Finding], report_files: set[str] | None,
                 disabled: Iterable[str], warn: Iterable[str], inline_ignores: bool = True) -> Report:
    by_file = {file: list(findings) for file, findings in state.by_file.items()}
    for f in schema_findings:
        by_file.setdefault(f.file or "(schema)", []).append(f)
    checks = []
    for file, findings in by_file.items():
        if report_files is not None and file not in report_files and file != "(schema)":
            continue
        findings = _configured(not_ignored(findings, state.covered if inline_ignores else {}), set(disabled), set(warn))
        findings.sort(key=lambda f: (f.line or 0, f.rule))
        checks.append(Check(file, "lint", tuple(findings)))
    return Report("lint", tuple(checks), RULE_HELP, layout="flat")


def lint_migrations(migrations: Sequence[Migration], report_files: set[str] | None = None,
                    disabled: Iterable[str] = (), warn: Iterable[str] = (), distribution_column: str | None = None,
                    cache: Path | None = None, postgres: int = POSTGRES_OLDEST, inline_ignores: bool = True,
                    lock_timeout: str | None = None) -> Report:
    """Lint migrations in order; report findings for ``report_files`` (default: all). With a
    ``distribution_column``, also check the schema can be distributed by it (Citus). With a
    ``cache`` folder, unchanged prefixes of the history are not parsed again. ``postgres``: the
    oldest server major the migrations must run on (version-dependent rules follow it).
    ``inline_ignores=False``: the files' own ``-- schema-tools: ignore`` comments silence nothing
    (their author is not trusted to vouch for them). ``lock_timeout``: the runner's default
    (``Settings.lock_timeout``) for files that set none; None: the files alone, as yoyo runs them."""
    _check_rules(disabled, warn)
    with _no_cycle_collection():
        return _lint(migrations, report_files, disabled, warn, distribution_column, cache, postgres, inline_ignores,
                     lock_timeout)


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Lint makes a great many small objects and no reference cycles worth collecting: the cycle
    collector would walk the growing heap again and again for nothing (a tenth of the time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _lint(migrations: Sequence[Migration], report_files: set[str] | None, disabled: Iterable[str], warn: Iterable[str],
          distribution_column: str | None, cache: Path | None, postgres: int, inline_ignores: bool,
          lock_timeout: str | None) -> Report:
    store = LintCache(cache, f"{distribution_column}|{postgres}|{lock_timeout}") if cache is not None else None
    if store is not None:
        hit = store.load(migrations)
        if hit is not None:
            by_file, covered, schema_findings = hit
            return build_report(LintState(DeclaredSchema(), by_file, covered), schema_findings, report_files, disabled,
                                warn, inline_ignores)
    state, start = (store.resume(migrations) if store is not None else None) or (LintState(), 0)
    with parsed_ahead([m.text for m in migrations[start:]]):  # on another core, while these are checked
        for index in range(start, len(migrations)):
            lint_one(state, migrations[index], postgres, lock_timeout)
            migrations[index].forget_statements()  # memory stays flat: fewer fresh pages, warmer caches
            if store is not None and index == len(migrations) - 2:
                store.save_state(migrations, index, state)
    schema_findings = schema_level(state, distribution_column)
    if store is not None:
        store.save_final(migrations, state, schema_findings)
    return build_report(state, schema_findings, report_files, disabled, warn, inline_ignores)


def _how(settings: Settings, folder: Path) -> dict[str, Any]:
    """The settings' layout for their own migrations folder (another folder's is detected), and
    the placeholders' values."""
    same = folder.resolve() == settings.migrations_dir.resolve()
    return {"layout": settings.layout if same else None, "placeholders": dict(settings.placeholders)}


def _targets(settings: Settings, paths: Sequence[Path]) -> tuple[list[Migration], set[str] | None, list[Path], list[Path]]:
    """The migrations to fold (the given files' folders' whole history, each folder read once),
    the files to report on (None: all), the .py files of those folders, which are not read, and
    the folders given (or configured) that hold no migration."""
    if not paths:
        folder = read_folder(settings.migrations_dir, allow_python=True, **_how(settings, settings.migrations_dir))
        return list(folder), None, list(folder.unread), [] if len(folder) else [settings.migrations_dir]
    migrations: dict[str, Migration] = {}
    report: set[str] = set()
    skipped: set[Path] = set()
    empty: list[Path] = []
    for path in paths:
        if path.is_dir():
            folder = read_folder(path, allow_python=True, **_how(settings, path))
            migrations.update((str(m.path), m) for m in folder)
            report.update(str(m.path) for m in folder)
            skipped.update(folder.unread)
            empty += [] if len(folder) else [path]
        elif path.is_file() and path.suffix == ".sql" and not path.name.endswith(".rollback.sql"):
            try:
                folder = read_folder(path.parent, allow_python=True, **_how(settings, path.parent))
            except SchemaToolsError:  # a folder that is not a migration history: the file alone
                folder = Migrations(path.parent, (read_migration_file(path),))
            skipped.update(folder.unread)
            migrations.update((str(m.path), m) for m in folder)
            report.add(str(path))
        else:
            raise ConfigError(f"{path}: not a migration file or folder",
                              hint="give .sql migration files or folders of them (rollback files are read with their migration)")
    return list(migrations.values()), report, sorted(skipped), empty


def _folder_findings(settings: Settings, migrations: Sequence[Migration], report: set[str] | None,
                     empty: Sequence[Path]) -> list[Finding]:
    """Duplicate version prefixes among the migrations reported on, and empty folders."""
    found = [folder_rules.duplicate_version([m.path for m in group]) for group in same_version(migrations)
             if report is None or any(str(m.path) in report for m in group)]
    found += [folder_rules.empty_folder(path) for path in empty]
    return _configured(found, set(settings.lint_disable), set(settings.lint_warn))


def lint_paths(settings: Settings, paths: Sequence[Path] = (), use_cache: bool = True, inline_ignores: bool = True) -> Report:
    """Lint the migrations folder, or the given files and folders (with their folder's history)."""
    migrations, report, python, empty = _targets(settings, [p.resolve() for p in paths])
    linted = lint_migrations(migrations, report, settings.lint_disable, settings.lint_warn, settings.distribution_column,
                             cache=settings.state_path / "lint-cache" if use_cache else None, postgres=settings.postgres,
                             inline_ignores=inline_ignores, lock_timeout=settings.lock_timeout)
    notes = tuple(Finding(NOT_READ, f"{p.name} is a Python file: lint does not read it (yoyo would run it as a "
                          "migration, and schema-tools migrate refuses the folder)", Severity.NOTE, p.name,
                          "move it out of the migrations folder", str(p), 1, 1) for p in python)
    extra = [Check("python files", "lint", notes)] if notes else []
    foreign = tuple(Finding(NOT_READ, f"{m.path.name}: only {m.only_tool} can run it, so lint does not read it",
                            Severity.NOTE, m.id, "check it by hand: migrate stops before it", str(m.path), 1, 1)
                    for m in migrations if m.only_tool)
    extra += [Check("only their tool runs", "lint", foreign)] if foreign else []
    folder = _folder_findings(settings, migrations, report, empty)
    extra += [Check("migrations folder", "lint", tuple(folder))] if folder or not migrations else []
    return replace(linted, checks=(*linted.checks, *extra)) if extra else linted
