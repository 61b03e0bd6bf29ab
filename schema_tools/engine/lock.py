"""The migration lock: a session-level advisory lock, released by the server if we die.

It is taken on the connection that runs the migrations and held outside any transaction,
so ``CREATE INDEX CONCURRENTLY`` (which waits for other transactions) never waits for it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from ..errors import LockTimeout

def lock_key(name: str) -> int:
    """A stable 64-bit advisory-lock key for a name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


LOCK_KEY = lock_key("schema_tools.migrate")

HOLDER_SQL = """
SELECT a.pid, coalesce(nullif(a.application_name, ''), '?'), coalesce(host(a.client_addr), 'local'),
       a.backend_start, a.state
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid = %s::oid AND l.objid = %s::oid AND l.objsubid = 1
"""


def describe_holder(conn: psycopg.Connection, key: int = LOCK_KEY) -> str:
    """Who holds the lock: pid, application_name, client address and since when."""
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    row = conn.execute(HOLDER_SQL, (unsigned >> 32, unsigned & 0xFFFFFFFF)).fetchone()
    if row is None:
        return "a session that has since gone"
    pid, app, addr, since, state = row
    return f"pid {pid} ({app}, from {addr}, connected since {since:%Y-%m-%d %H:%M:%S%z}, {state})"


@contextmanager
def migration_lock(conn: psycopg.Connection, wait: float, key: int = LOCK_KEY,
                   what: str = "another migration run") -> Iterator[None]:
    """Hold the advisory lock for the block, waiting at most ``wait`` seconds for it."""
    deadline = time.monotonic() + wait
    pause = 0.05
    while not conn.execute("SELECT pg_catalog.pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:  # type: ignore[index]
        if time.monotonic() >= deadline:
            raise LockTimeout(
                f"{what} holds the lock on this database: {describe_holder(conn, key)}",
                hint=f"wait for it to finish, or raise --lock-wait (waited {wait:g}s); "
                "a killed runner's lock is released by the server automatically",
            )
        time.sleep(min(pause, max(deadline - time.monotonic(), 0)))
        pause = min(pause * 2, 1.0)
    try:
        yield
    finally:
        try:
            if not conn.closed:
                conn.execute("SELECT pg_catalog.pg_advisory_unlock(%s)", (key,))
        except psycopg.OperationalError:
            pass  # the session is gone, and the server released its lock with it
