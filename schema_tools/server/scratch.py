"""Scratch databases: created empty on the same server, dropped afterwards."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

from ..config import Settings
from ..errors import DatabaseUnavailable
from . import connect as db
from .urls import mask_url, with_dbname


@contextmanager
def scratch_database(settings: Settings, admin: psycopg.Connection | None = None) -> Iterator[str]:
    """A new empty database on the settings' server, dropped afterwards; yields its URL. ``admin``
    (an autocommit connection to that server) runs CREATE and DROP DATABASE; without it, one is
    opened for the purpose."""
    url = db.database_url(settings)
    if admin is None:
        with db.connect_url(url, application_name="schema-tools scratch") as own:
            with scratch_database(settings, own) as scratch:
                yield scratch
        return
    name = f"schema_tools_scratch_{secrets.token_hex(6)}"
    try:
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
    except psycopg.errors.InsufficientPrivilege:
        raise DatabaseUnavailable(f"cannot create a scratch database on {mask_url(url)}: permission denied",
                                  hint="connect as a role with CREATEDB") from None
    try:
        yield with_dbname(url, name)
    finally:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
