"""Who runs what where, set up once per run: promotion as the target's owner login (made through
a superuser's URL, else the URL's own role), and the agent's scratch databases and the shadows on
a throwaway local cluster of the target's major version, which the target's server never hears
of. Where no such cluster can run, they fall back to the target's server, said in the log."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

import psycopg

from schema_tools import SchemaToolsError, connect
from schema_tools.harness import mask_url, owner_login, throwaway_cluster

from ..logformat import note
from .target import Target

PUBLIC_CONNECT_SQL = """SELECT pg_catalog.has_database_privilege('public', pg_catalog.current_database(), 'CONNECT')"""


def _major(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT pg_catalog.current_setting('server_version_num')::int / 10000").fetchone()
    assert row is not None
    return int(row[0])


@contextmanager
def run_target(target: Target, line: Callable[[str], None], local: bool = True) -> Iterator[Target]:
    """``target`` with its owner login and its scratch server, for the run (the cluster is
    stopped and deleted after it). ``line``: a line for progress.log."""
    settings, conn = target.settings, target.conn
    owner = owner_login(conn, settings.database_url or "")
    promoted = settings.with_database(owner.url)
    made = owner.role if owner.made else None
    if owner.made:
        line(note(f"promotion runs as {owner.role} ({owner.made}): it owns the application's objects here and holds "
                  "nothing more (no superuser, CREATEROLE, CREATEDB, REPLICATION, BYPASSRLS or memberships); the "
                  f"target's URL {mask_url(settings.database_url or '')} is a superuser's"))
    with ExitStack() as stack:
        scratch: Target | None = None
        if local:
            try:
                cluster = stack.enter_context(throwaway_cluster(settings, _major(conn)))
                local_settings = settings.with_database(cluster.url)
                admin = stack.enter_context(connect(local_settings, "ralph scratch server"))
                scratch = Target(settings, conn, made, promoted, local_settings, admin)
            except (SchemaToolsError, psycopg.Error, OSError) as exc:
                why = exc.one_line() if isinstance(exc, SchemaToolsError) else " ".join(str(exc).split())[:200]
                open_door = conn.execute(PUBLIC_CONNECT_SQL).fetchone() == (True,)
                line(note(f"warning: no throwaway local cluster ({why}): the agent's scratch database and the shadow "
                          "are made on the target's server, with a login of their own"
                          + ("; PUBLIC may CONNECT to the target's database, so that login can reach it (revoke "
                             "CONNECT from PUBLIC there)" if open_door else "")))
        yield scratch or Target(settings, conn, made, promoted)
