"""The verbs: one typed function per thing schema-tools does (alembic's ``command.py``).

Each ``verb(settings, ...)`` opens what it needs (a connection to the settings' database, the
embedded server when none is configured) and calls ``verb_on(conn, settings, ...)``, which works
on a connection the caller owns. The CLI and ``ralph`` call only these. Heavy modules (psycopg,
sqlglot) are imported inside the verbs, so importing this module costs almost nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: a verb imports what it runs when it runs
    import psycopg

    from .catalog.model import Catalog
    from .config import Settings
    from .migration_files.model import Migration, Migrations
    from .engine.model import MigrationState, PlannedMigration, RunResult
    from .expect.model import TableExpectation
    from .findings import Check, Report
    from .generator import Generated, GeneratedFile

    from .server.embedded import Status as ServerStatus
    from .server.model import DatabaseMark, ScratchLogin

Progress = Callable[[str], None]
Confirm = Callable[[list[str]], bool]
Verify = Callable[["psycopg.Connection"], list[str]]


# --- connections ----------------------------------------------------------------------------


def database_url(settings: Settings) -> str:
    """The URL of the settings' database; without one, the embedded server's (started on demand;
    asked for by name, so not announced on stderr as a fall-back is)."""
    from .server.connect import resolve_url

    return resolve_url(settings, announce=False)


def existing_database_url(settings: Settings) -> str | None:
    """The configured URL, else the embedded server's if it already runs; never starts one."""
    from .server.connect import configured_or_running_url

    return configured_or_running_url(settings)


def connect(settings: Settings, label: str = "schema-tools") -> psycopg.Connection:
    """An autocommit connection to the settings' database, labelled ``LABEL pid=N`` in
    pg_stat_activity (so a lock holder can be named). Use it as a context manager."""
    from .server.connect import open_connection

    return open_connection(settings, label)


@contextmanager
def scratch_database(settings: Settings, *, admin: psycopg.Connection | None = None) -> Iterator[str]:
    """A new empty database on the settings' server, dropped afterwards; yields its URL. It is
    created and dropped through ``admin`` (a connection to that server) when given."""
    from .server.scratch import temporary_database

    with temporary_database(settings, admin) as url:
        yield url


@contextmanager
def scratch_login(settings: Settings, admin: psycopg.Connection, *, trusted: Collection[str] = ()) -> Iterator[ScratchLogin]:
    """A scratch database and a LOGIN role that reaches only it (random password, no superuser,
    createdb or createrole), both dropped afterwards: credentials to hand to untrusted code.
    ``leftovers`` says, after the block, what the role left elsewhere. ``trusted``: migrations
    applied first as the admin's role (ones the target ran already: a statement among them that
    needs more than an owner's rights still runs), whose objects are then handed to the login."""
    from .server.scratch import temporary_login

    def apply_trusted(conn: psycopg.Connection) -> None:
        migrate_on(conn, settings, only=trusted)  # reads the folder: once, here

    with temporary_login(settings, admin, apply_trusted if trusted else None) as created:
        yield created


@contextmanager
def _powerless_scratch(settings: Settings, admin: psycopg.Connection, *, trusted: Collection[str] = (),
                      label: str = "schema-tools scratch") -> Iterator[psycopg.Connection]:
    """A connection to a new scratch database as a login that owns it and nothing else (no
    superuser, CREATEDB, CREATEROLE or REPLICATION): pending migrations run there can harm nothing
    beyond it. The ``trusted`` migrations (applied on the target already) are applied first by the
    admin's role and handed over. Without CREATEROLE, the admin's own role is used (a
    connection to the scratch database only; statements that act beyond it are refused anyway)."""
    from .server.scratch import powerless_connection

    def apply_trusted(conn: psycopg.Connection) -> None:
        migrate_on(conn, settings, only=trusted)

    with powerless_connection(settings, admin, apply_trusted if trusted else None, label) as conn:
        yield conn


@contextmanager
def exclusive(conn: psycopg.Connection, name: str, *, wait: float, holder: str) -> Iterator[None]:
    """Hold the session advisory lock called ``name`` on ``conn`` for the block; after ``wait``
    seconds, fail with LockTimeout naming the session that holds it (``holder``: what it is)."""
    from .engine.lock import lock_key, migration_lock

    with migration_lock(conn, wait, lock_key(name), what=holder):
        yield


# --- migrations -----------------------------------------------------------------------------


def read_migrations(settings: Settings) -> Migrations:
    """The migrations of the settings' folder, in the order they apply: read once per command
    and handed down (pass them to the ``_on`` verbs that take ``migrations``)."""
    from .migration_files.read import read_folder

    return read_folder(settings.migrations_dir, layout=settings.layout, placeholders=dict(settings.placeholders))


def migrate(settings: Settings, *, only: Collection[str] | None = None, progress: Progress | None = None,
            verify: Verify | None = None, to: str | None = None,
            migrations: Sequence[Migration] | None = None, undo_check: Verify | None = None) -> RunResult:
    """Apply every pending migration (or only ``only`` and what they depend on), each atomically
    with its record, under the migration lock; refuse while validate reports an error. With
    ``verify`` (a connection -> problems), the result must pass it before anything stays: all in
    one transaction when every pending migration is transactional, else undone with the rollback
    files; VerificationFailed says which. ``to``: stop after that migration. ``migrations``: the
    folder, already read (else read here). ``undo_check``: each rollback file that can run in a
    transaction does so, committed only when it finds nothing (what it finds is prevented)."""
    migrations = read_migrations(settings) if migrations is None else migrations
    with connect(settings, "schema-tools migrate") as conn:
        return migrate_on(conn, settings, only=only, progress=progress, verify=verify, to=to, migrations=migrations,
                          undo_check=undo_check)


def migrate_on(conn: psycopg.Connection, settings: Settings, *, only: Collection[str] | None = None,
               progress: Progress | None = None, verify: Verify | None = None, to: str | None = None,
               migrations: Sequence[Migration] | None = None, undo_check: Verify | None = None) -> RunResult:
    """``migrate`` on a connection the caller owns (``migrations``: the folder, already read)."""
    from .engine.runner import apply_pending

    migrations = read_migrations(settings) if migrations is None else migrations
    return apply_pending(conn, settings, migrations, progress=progress, only=only, verify=verify, to=to,
                         undo_check=undo_check)


def baseline(settings: Settings, *, to: str | None = None, adopt: bool = False) -> tuple[Report, list[str]]:
    """Adopt a database built without these migrations: when its live schema is what the files
    (through ``to``) build, replayed on a dev database as drift does, record them as applied
    without running them. Returns the drift report (errors: nothing was recorded) and the ids
    recorded. ``adopt``: record instead exactly what the folder's own tool lists as applied in its
    history table (flyway_schema_history, schema_migrations, goose_db_version, ...); a dirty or
    failed state there is refused."""
    if adopt:
        return _adopt(settings)
    from .engine.baseline import record_applied_on
    from .engine.choose import up_to

    migrations = read_migrations(settings)
    chosen = up_to(migrations, to) if to is not None else migrations
    with connect(settings, "schema-tools baseline") as conn:
        report = _replayed_against(settings, conn, chosen)[0]
        if report.errors:
            return report, []
        record_applied_on(conn, settings, chosen, f"baseline: the live schema matched {len(chosen)} migration(s)")
    return report, [m.id for m in chosen]


def _adopt(settings: Settings) -> tuple[Report, list[str]]:
    from .engine import history
    from .engine.baseline import record_applied_on
    from .engine.their_history import their_history
    from .errors import ConfigError, MigrationFailed
    from .findings import Report

    migrations = read_migrations(settings)
    with connect(settings, "schema-tools baseline --adopt") as conn:
        theirs = their_history(conn, migrations)
        if theirs is None:
            raise ConfigError(f"no history table of the {migrations.layout} layout's tool on this database",
                              hint="nothing to adopt: use 'schema-tools baseline' (compares the live schema) or migrate")
        if theirs.refused:
            raise MigrationFailed(theirs.refused + "; nothing was recorded")
        done = history.applied(conn)
        chosen = [m for m in migrations if m.id in set(theirs.applied) and m.id not in done]
        if chosen:
            record_applied_on(conn, settings, chosen, f"adopted: {theirs.table} lists it as applied")
    return Report("baseline"), [m.id for m in chosen]


def rollback(settings: Settings, *, to: str | None = None, everything: bool = False,
             progress: Progress | None = None, confirm: Confirm | None = None) -> RunResult:
    """Roll back the last applied migration, every one applied after ``to``, or all. When the
    rollback files would drop rows (DROP TABLE, TRUNCATE, DROP COLUMN of data), ``confirm`` is
    shown which and how many and must return True; without it, DataLossRefused and nothing
    changes."""
    with connect(settings, "schema-tools rollback") as conn:
        return rollback_on(conn, settings, to=to, everything=everything, progress=progress, confirm=confirm)


def rollback_on(conn: psycopg.Connection, settings: Settings, *, to: str | None = None, everything: bool = False,
                progress: Progress | None = None, confirm: Confirm | None = None,
                migrations: Sequence[Migration] | None = None) -> RunResult:
    """``rollback`` on a connection the caller owns (``migrations``: the folder, already read)."""
    from .engine.runner import roll_back

    migrations = read_migrations(settings) if migrations is None else migrations
    return roll_back(conn, settings, migrations, to=to, everything=everything, progress=progress, confirm=confirm)


def status(settings: Settings) -> list[MigrationState]:
    """Every migration of the folder or the database: applied, pending or missing, in order."""
    with connect(settings, "schema-tools status") as conn:
        return status_on(conn, settings)


def status_on(conn: psycopg.Connection, settings: Settings) -> list[MigrationState]:
    """``status`` on a connection the caller owns."""
    from .engine.runner import migration_states

    return migration_states(conn, read_migrations(settings))


def validate(settings: Settings) -> Report:
    """The applied history against the files: edits, missing files, order, INVALID indexes."""
    with connect(settings, "schema-tools validate") as conn:
        return validate_on(conn, settings)


def validate_on(conn: psycopg.Connection, settings: Settings) -> Report:
    """``validate`` on a connection the caller owns."""
    from .engine.validate import check_history

    return check_history(conn, settings, read_migrations(settings))


def repair(settings: Settings, *, forget_missing: bool = False) -> list[str]:
    """Re-record checksums of deliberately edited files (and forget missing ones); each logged."""
    from .engine.validate import repair_history

    migrations = read_migrations(settings)
    with connect(settings, "schema-tools repair") as conn:
        return repair_history(conn, settings, migrations, forget_missing)


def plan(settings: Settings, trace: bool = False, *,
         migrations: Sequence[Migration] | None = None, progress: Progress | None = None) -> list[PlannedMigration]:
    """The pending migrations as migrate would apply them, with the lock each statement takes.
    With ``trace``: also the locks each one was seen to take on a scratch copy of the schema
    (``progress``: told each migration as its trace starts)."""
    from .engine import history
    from .engine.plan import plan_on

    migrations = read_migrations(settings) if migrations is None else migrations
    with connect(settings, "schema-tools plan") as conn:
        planned = plan_on(conn, settings, migrations)
        applied = set(history.applied(conn))
    if not trace or not planned:
        return planned
    from .engine.trace import not_replayable, trace_on

    refused = not_replayable(migrations, applied, planned)
    if refused is not None:
        return refused
    with connect(settings, "schema-tools plan --trace") as admin, \
            _powerless_scratch(settings, admin, trusted=applied, label="schema-tools plan --trace") as scratch:
        return trace_on(scratch, settings, migrations, applied, planned, progress)


def preflight(settings: Settings, samples: int | None = None, *,
              migrations: Sequence[Migration] | None = None) -> Report:
    """Rows that would make a pending migration's new constraint fail; changes nothing."""
    with connect(settings, "schema-tools preflight") as conn:
        return preflight_on(conn, settings, samples, migrations=migrations)


def preflight_on(conn: psycopg.Connection, settings: Settings, samples: int | None = None, *,
                 migrations: Sequence[Migration] | None = None) -> Report:
    """``preflight`` on a connection the caller owns (``migrations``: the folder, already read)."""
    from .datachecks import preflight_report

    migrations = read_migrations(settings) if migrations is None else migrations
    return preflight_report(conn, settings, migrations, _samples(settings, samples))


def check_reversible(settings: Settings, chain: bool = False, *, progress: Progress | None = None) -> Report:
    """On scratch databases: apply, roll back and re-apply each migration (or, with ``chain``,
    all of them: apply all, roll back all in reverse, apply all again); report rollbacks that
    fail or leave residue, and what could not be checked as skipped (``progress``: told each
    step as it starts)."""
    from contextlib import ExitStack

    from .engine.reversible import check_chain, check_steps

    migrations = read_migrations(settings)
    with connect(settings, "schema-tools check-reversible") as admin, ExitStack() as stack:
        def fresh() -> psycopg.Connection:
            stack.close()  # the previous scratch database (and its login and connection) goes first
            return stack.enter_context(_powerless_scratch(settings, admin, label="schema-tools check-reversible"))

        check = check_chain if chain else check_steps
        return check(fresh, settings, migrations, progress) if progress is not None else check(fresh, settings, migrations)


# --- the schema -----------------------------------------------------------------------------


def read_schema(settings: Settings) -> Catalog:
    """The live schema (tables, columns, keys, constraints, indexes) in three catalog queries."""
    with connect(settings, "schema-tools catalog") as conn:
        return read_schema_on(conn, settings)


def read_schema_on(conn: psycopg.Connection, settings: Settings) -> Catalog:
    """``read_schema`` on a connection the caller owns."""
    from .catalog.read import read_catalog

    return read_catalog(conn, settings.schemas)


def schema_fingerprint_on(conn: psycopg.Connection) -> str:
    """A short hash of every user-visible object: equal fingerprints, equal schemas."""
    from .catalog.inventory import inventory

    lines = sorted(f"{name}\x1f{definition}" for name, definition in inventory(conn).items())
    return hashlib.sha256("\x1e".join(lines).encode()).hexdigest()[:16]


def schema_inventory_on(conn: psycopg.Connection) -> dict[str, str]:
    """Every user-visible object (``column public.users.email``, ``trigger public.t.name``...) ->
    its definition: compare two of them to see what changed, object by object."""
    from .catalog.inventory import inventory

    return inventory(conn)


def schema_differences(before: dict[str, str], after: dict[str, str]) -> tuple[str, tuple[str, ...]]:
    """What changed between two ``schema_inventory_on`` results: a summary ("1 not restored, 2
    changed") and a few lines naming the objects, as check-reversible words them."""
    from .engine.reversible import differences

    return differences(before, after)


def mark_on(conn: psycopg.Connection) -> DatabaseMark:
    """The database as it is now (schema, history, roles, write and session counters), to ask
    later what changed since (``changes_on``)."""
    from .server.watch import take_mark

    return take_mark(conn, schema_fingerprint_on(conn))


def changes_on(conn: psycopg.Connection, before: DatabaseMark, *, strict: bool = False) -> list[str]:
    """What changed on the database since ``before``, one line each (empty: nothing seen).
    ``strict``: nothing else used the database meanwhile, so any session or written row counts."""
    from .server.watch import changes_since

    return changes_since(conn, before, schema_fingerprint_on(conn), strict)


def load_expectations(paths: Iterable[Path]) -> list[TableExpectation]:
    """Every table expectation in the files (expectation files or stories files)."""
    from .expect.parse import expectations_in

    return [e for path in paths for e in expectations_in(path)]


def verify_catalog(catalog: Catalog, expectations: Sequence[TableExpectation], *, disabled: Iterable[str] = (),
                   invariants: bool = True) -> Report:
    """Check expectations and (unless ``invariants`` is False) the enabled invariants: pure."""
    from .expect.check import check_catalog

    return check_catalog(catalog, expectations, disabled, invariants)


def verify(settings: Settings, expect_files: Sequence[Path] | None = None, *, invariants: bool = True) -> Report:
    """Expectations (default: the settings' files) and schema invariants against the live catalog,
    and the migrations' own check scripts when their layout has them (sqitch's verify/)."""
    from dataclasses import replace

    from .engine.check_scripts import run_check_scripts

    expectations = load_expectations(_expect_files(settings, expect_files))
    migrations = read_migrations(settings) if settings.migrations_dir.is_dir() else None
    scripted = migrations is not None and any(m.check_text is not None for m in migrations)
    with connect(settings, "schema-tools verify") as conn:
        catalog = read_schema_on(conn, settings)
        scripts = run_check_scripts(conn, migrations) if scripted and migrations is not None else []
    report = verify_catalog(catalog, expectations, disabled=settings.disabled_invariants, invariants=invariants)
    return replace(report, checks=(*report.checks, *scripts)) if scripts else report


def declared_schema(migrations: Sequence[Migration]) -> Catalog:
    """The schema the migration files declare, folded in order (libpg_query's trees, no database)."""
    from .sqlmodel import declare

    return declare(migrations).catalog()


def lint(settings: Settings, paths: Sequence[Path] = (), *, use_cache: bool = True,
         trace_locks: str | None = None, inline_ignores: bool = True) -> Report:
    """Dangerous DDL in the migrations folder, or in the given files and folders (no database).
    ``use_cache=False``: trust nothing stored under the state folder (someone else may write it).
    ``inline_ignores=False``: the files' ``-- schema-tools: ignore`` comments silence nothing.
    ``trace_locks``: a database URL; the migrations pending there are run on a scratch copy of its
    schema, and where the locks seen differ from the static table, that is a finding too."""
    from dataclasses import replace

    from .findings import Check, Finding, Severity
    from .linter import LOCK_DIFFERS
    from .linter import lint_paths

    report = lint_paths(settings, paths, use_cache, inline_ignores)
    if trace_locks is None:
        return report
    found = [Finding(LOCK_DIFFERS, f"observed {'; '.join(s.observed or ())}, where the static lock table says {s.lock}",
                     Severity.WARNING, p.id, "trust the observed lock: plan for it (lock_timeout, a quieter time, "
                     "or another form of the statement)", p.file, s.line, 1)
             for p in plan(settings.with_database(trace_locks), trace=True) for s in p.statements if s.traced == "differs"]
    return replace(report, checks=(*report.checks, Check("observed locks", "lint", tuple(found))))


def generate(settings: Settings, expect_files: Sequence[Path], *, story: str | None = None, name: str | None = None,
             live: bool = False, allow_drop: bool = False, check: bool = True, write: bool = True,
             dev_url: str | None = None) -> Generated:
    """Write the next migration(s) that take the schema the files declare (with ``live``: the
    settings' database, which must match what the files build when replayed on a dev database,
    ``dev_url``'s or as drift chooses) to what the expectations declare (only
    ``story``'s with a story id), in lock-safe steps; proven on a scratch database first unless
    ``check`` is False; ``write=False``: only return them. What it could not express is in
    ``.draft.unexpressed``."""
    from .catalog.read import read_catalog
    from .errors import ConfigError
    from .errors import GenerateRefused
    from .generator import generate_files
    from .sqlmodel import declare

    expectations = load_expectations(expect_files)
    reserved: tuple[str, ...] = ()
    if story is not None:
        expectations = [e for e in expectations if e.label == story]
        if not expectations:
            raise ConfigError(f"--story {story}: no expectations for that story in {', '.join(map(str, expect_files))}",
                              hint="give the id of a story with [stories.expect.tables.NAME] sections")
        reserved = next((owned for path in expect_files if (owned := _owned(path, story))), ())
    elif not expectations:
        raise ConfigError(f"no table expectations in {', '.join(map(str, expect_files))}",
                          hint="write [tables.NAME] sections (see schema-tools verify --help)")
    migrations = read_migrations(settings)
    if live:
        from .engine import history

        with connect(settings, "schema-tools generate") as conn:
            pending = [m.id for m in migrations if m.id not in history.applied(conn)]
            if pending:
                raise GenerateRefused(f"{len(pending)} migration(s) are not applied on the database (first: "
                                      f"{pending[0]}), so its schema is not what the files build", [],
                                      hint="apply them first (schema-tools migrate), or generate without --database")
            base = read_catalog(conn, settings.schemas)
            differs = _replayed_against(settings, conn, migrations, dev_url)[0].errors
        if differs:
            raise GenerateRefused(f"the database differs from what the migration files build ({len(differs)} "
                                  f"difference(s), first: {differs[0].message})", list(differs))
    else:
        base = declare(migrations).catalog()
    return generate_files(settings, expectations, base, name=name or (story or "generated"),
                          before=migrations[-1].id if migrations else None, reserved=reserved,
                          allow_drop=allow_drop, check=check, write_files=write, existing=migrations)


def write_generated(settings: Settings, files: Sequence[GeneratedFile]) -> list[Path]:
    """Write generated migrations (``generate(..., write=False).files``) into the settings'
    migrations folder, each file created new: never over an existing file or through a symlink."""
    from .generator import write

    return write(settings.migrations_dir, list(files), read_migrations(settings).layout)


def _owned(path: Path, story: str) -> tuple[str, ...]:
    from .errors import ConfigError
    from .generator import story_migrations

    try:
        return story_migrations(path, story)
    except ConfigError:
        return ()


def drift(settings: Settings, expect_files: Sequence[Path] | None = None, *, dev_url: str | None = None,
          offline: bool = False) -> Report:
    """What the migration files build against the live database, and both against the
    expectations. The files are replayed on a dev database (``dev_url``'s server, else the
    target's when its login may create a database, else the embedded server of the target's
    major version), as a login that owns that database and nothing else, and the two catalogs
    are compared object by object. ``offline``: compare with the schema the files declare
    (folded by hand, no server): an estimate, labelled so."""
    from dataclasses import replace

    migrations = read_migrations(settings)
    expectations = load_expectations(_expect_files(settings, expect_files))
    if offline:
        return _drift_offline(settings, migrations, expectations)
    with connect(settings, "schema-tools drift") as conn:
        live = read_schema_on(conn, settings) if expectations else None
        report, files = _replayed_against(settings, conn, migrations, dev_url, catalog=bool(expectations))
    if files is None or live is None:
        return report
    return replace(report, checks=(*report.checks, *_against_expectations(expectations, files, live)))


def _replayed_against(settings: Settings, conn: psycopg.Connection, migrations: Sequence[Migration],
                      dev_url: str | None = None, catalog: bool = False) -> tuple[Report, Catalog | None]:
    """The files replayed on a dev database against ``conn``'s database, object by object (a
    check per object that differs), and (``catalog``) the catalog the files built (None: not
    asked for, or the replay stopped)."""
    from .catalog.read import read_catalog
    from .catalog.inventory import folded
    from .engine.replay import RULE_HELP, compare, owners, replay
    from .findings import Check, Report

    objects = schema_inventory_on(conn)
    names = owners(conn)
    with _dev_database(settings, conn, dev_url, label="schema-tools replay") as dev:
        replayed = replay(dev, settings, migrations)
        files = read_catalog(dev, settings.schemas) if replayed.objects is not None and catalog else None
        dev_names = owners(dev)
    if replayed.objects is None:
        problem = replayed.problem
        checks: list[Check] = [Check("replay", "files vs database", (problem,) if problem else ())]
        checks.append(Check("files vs database", "files vs database", skipped="the files could not be replayed"))
        return Report("drift", tuple(checks), RULE_HELP), None
    checks = compare(folded(replayed.objects, dev_names), folded(objects, names))
    compared = len(replayed.objects.keys() | objects.keys())
    checks.insert(0, Check(f"{compared} objects compared", "files vs database"))
    return Report("drift", tuple(checks), RULE_HELP), files


def _against_expectations(expectations: Sequence[TableExpectation], files: Catalog, live: Catalog) -> list[Check]:
    from dataclasses import replace

    from .expect.check import check_catalog

    checks = []
    for label, catalog in (("files", files), ("database", live)):
        for check in check_catalog(catalog, expectations, invariants=False).checks if expectations else ():
            checks.append(replace(check, name=f"{label}: {check.name}", group=f"{label} vs expectations"))
    return checks


def _drift_offline(settings: Settings, migrations: Sequence[Migration],
                   expectations: Sequence[TableExpectation]) -> Report:
    """``drift --offline``: the declared model (no dev database) against the live catalog."""
    from dataclasses import replace

    from .findings import Check, Finding, Severity
    from .sqlmodel import declare
    from .sqlmodel.drift import drift_report

    with connect(settings, "schema-tools drift") as conn:
        live = read_schema_on(conn, settings)
    report = drift_report(declare(migrations), live, expectations)
    note = Check("estimate", "files vs database", (Finding(
        "estimate", "offline: the files' schema is the declared model, folded without a server; an estimate "
        "that can be wrong where PostgreSQL reads a statement otherwise", Severity.NOTE,
        hint="drop --offline to replay the files on a dev database"),))
    return replace(report, checks=(note, *report.checks),
                   rule_help={**report.rule_help, "estimate": "what the offline comparison rests on"})


@contextmanager
def _dev_database(settings: Settings, target: psycopg.Connection, dev_url: str | None = None, *,
                 label: str = "schema-tools dev") -> Iterator[psycopg.Connection]:
    """A connection to a new empty database, dropped afterwards, as a login that owns it and
    nothing else (when the admin may create roles): on ``dev_url``'s server; else on the
    target's server when its login may create a database; else on the embedded server of the
    target's major version."""
    if dev_url is not None:
        dev = settings.with_database(dev_url)
        with connect(dev, label) as admin, _powerless_scratch(dev, admin, label=label) as conn:
            yield conn
        return
    row = target.execute("SELECT rolsuper OR rolcreatedb FROM pg_catalog.pg_roles WHERE rolname = current_user").fetchone()
    if row and row[0]:
        with _powerless_scratch(settings, target, label=label) as conn:
            yield conn
        return
    import dataclasses

    from .server import embedded

    major = target.info.server_version // 10000
    local = dataclasses.replace(settings, database_url=None, state_dir=settings.state_path / f"dev-pg{major}")
    embedded.ensure_running(local, major=major)
    with connect(local, label) as admin, _powerless_scratch(local, admin, label=label) as conn:
        yield conn


def integrity(settings: Settings, checks_file: Path | None = None, expect_files: Sequence[Path] | None = None,
              samples: int | None = None) -> Report:
    """Set-based data checks: what the expectations promise but the database does not enforce,
    NOT VALID constraints, tenant consistency, and the project's checks file."""
    from .datachecks import integrity_report

    expectations = load_expectations(_expect_files(settings, expect_files))
    with connect(settings, "schema-tools integrity") as conn:
        return integrity_report(conn, settings, expectations, checks_file or settings.integrity_checks,
                            _samples(settings, samples))


def _expect_files(settings: Settings, given: Sequence[Path] | None) -> list[Path]:
    return list(given) if given is not None else list(settings.expect_files)


def _samples(settings: Settings, given: int | None) -> int:
    return max(given if given is not None else settings.integrity_samples, 0)


# --- the embedded server --------------------------------------------------------------------


def db_start(settings: Settings) -> ServerStatus:
    """Create and start the embedded PostgreSQL as needed; its status afterwards."""
    from .server import embedded

    embedded.ensure_running(settings)
    return embedded.status(settings)


def db_stop(settings: Settings) -> bool:
    """Stop the embedded PostgreSQL; False when it was not running."""
    from .server import embedded

    return embedded.stop(settings)


def db_status(settings: Settings) -> ServerStatus:
    """Whether the embedded PostgreSQL exists and runs, where, with which binaries, and its URL."""
    from .server import embedded

    return embedded.status(settings)

