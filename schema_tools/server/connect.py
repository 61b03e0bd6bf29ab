"""Connections: the only caller of ``psycopg.connect``; URLs shown with the password masked."""

from __future__ import annotations

import os
import re
import sys

import psycopg

from ..config import Settings
from ..errors import ConfigError, DatabaseUnavailable
from .urls import is_url, libpq_url, mask_url, scrub


def resolve_url(settings: Settings, announce: bool = True) -> str:
    """The URL to use: the configured one, else the embedded server's (started on demand, and
    named once on stderr unless ``announce`` is False)."""
    if settings.database_url:
        return settings.database_url
    from . import embedded  # POSIX-only code, and never needed when a URL is given

    url = embedded.ensure_running(settings)
    if announce and url not in _ANNOUNCED:  # which database a command used is never a guess (CI included)
        _ANNOUNCED.add(url)
        print(f"schema-tools: no --database or DATABASE_URL: using the embedded PostgreSQL {mask_url(url)}",
              file=sys.stderr)
    return url


_ANNOUNCED: set[str] = set()  # the embedded server is named once per process


def _hint_for(reason: str) -> str:
    lowered = reason.lower()
    if "password" in lowered or "authentication" in lowered:
        return "check the user name and password in --database / DATABASE_URL"
    if "does not exist" in lowered and "database" in lowered:
        return "create that database first (createdb), or fix its name in the URL"
    if "role" in lowered and "does not exist" in lowered:
        return "check the user name in the URL"
    return "check the host and port in --database / DATABASE_URL and that the server is running"


def connect_url(
    url: str, *, autocommit: bool = True, application_name: str = "schema-tools"
) -> psycopg.Connection:
    """Open a connection to ``url``; failures become one-line errors without the password."""
    if not url.strip():
        raise ConfigError("the database URL is empty", hint="give postgresql://user@host:port/dbname")
    target = libpq_url(url)
    if not is_url(target) and (("=" not in target) or "://" in target):
        raise ConfigError(
            f"{mask_url(url)!r} is not a PostgreSQL URL",
            hint="write it as postgresql://user:password@host:port/dbname",
        )
    try:
        # UTF8 always: what PGCLIENTENCODING says is for psql's terminal, not for a tool that reads UTF-8 files
        return psycopg.connect(
            target, autocommit=autocommit, application_name=application_name, connect_timeout=10,
            client_encoding="UTF8",
        )
    except psycopg.ProgrammingError as exc:
        raise ConfigError(
            f"invalid database URL {mask_url(url)}: {scrub(' '.join(str(exc).split()), url)}",
            hint="write it as postgresql://user:password@host:port/dbname",
        ) from None
    except psycopg.OperationalError as exc:
        reason = scrub(" ".join(str(exc).split()), url)
        reason = re.sub(r"^connection failed: ", "", reason)
        raise DatabaseUnavailable(
            f"cannot connect to {mask_url(url)}: {reason}", hint=_hint_for(reason)
        ) from None


def open_connection(settings: Settings, label: str = "schema-tools") -> psycopg.Connection:
    """An autocommit connection to the settings' database (the embedded one when none is
    configured), labelled ``LABEL pid=N`` in pg_stat_activity so a lock holder can be named."""
    return connect_url(resolve_url(settings), application_name=f"{label} pid={os.getpid()}")


def configured_or_running_url(settings: Settings) -> str | None:
    """The configured URL, else the embedded server's if it is already running; never starts one."""
    if settings.database_url:
        return settings.database_url
    from . import embedded

    state = embedded.status(settings)
    return embedded.url_for(settings, state.port) if state.running and state.port else None
