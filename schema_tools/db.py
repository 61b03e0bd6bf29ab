"""Connections: the only caller of ``psycopg.connect``; URLs shown with the password masked."""

from __future__ import annotations

import os
import re
from urllib.parse import SplitResult, parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import psycopg

from . import embedded
from .config import Settings
from .errors import ConfigError, DatabaseUnavailable

SCHEMES = ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2")
KEYWORD_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def database_url(settings: Settings) -> str:
    """The URL to use: the configured one, else the embedded server's (started on demand)."""
    return settings.database_url or embedded.ensure_running(settings)


USERINFO_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")


def _split(url: str) -> SplitResult | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError on a malformed port
    except ValueError:
        return None
    return parts if parts.scheme in SCHEMES else None


def password_of(url: str) -> str | None:
    """The password a URL or keyword string carries, if any (to scrub it from messages)."""
    parts = _split(url)
    if parts is not None:
        query = dict(parse_qsl(parts.query))
        if parts.password:
            return unquote(parts.password)
        return query.get("password")
    match = KEYWORD_PASSWORD.search(url) or USERINFO_PASSWORD.search(url)
    if match and match.re is USERINFO_PASSWORD:
        return unquote(match.group(0)[len(match.group(1)):-1]) or None
    return match.group(2).strip("'") if match else None


def mask_url(url: str) -> str:
    """The URL with its password replaced by ``***``."""
    parts = _split(url)
    if parts is None:
        return USERINFO_PASSWORD.sub(r"\1***@", KEYWORD_PASSWORD.sub(r"\1***", url))
    netloc = parts.netloc
    if parts.password is not None:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.partition(':')[0]}:***@{host}"
    query = [(k, "***" if k == "password" else v) for k, v in parse_qsl(parts.query)]
    return urlunsplit(parts._replace(netloc=netloc, query=urlencode(query, safe="/*")))


def scrub(text: str, url: str | None) -> str:
    """``text`` with the URL's password, raw or URL-quoted, replaced by ``***``."""
    secret = password_of(url) if url else None
    if secret:
        for form in {secret, quote(secret, safe="")}:
            text = text.replace(form, "***")
    return text


def libpq_url(url: str) -> str:
    """A URL libpq accepts: SQLAlchemy-style ``+driver`` suffixes removed."""
    parts = _split(url)
    if parts is None:
        return url
    return urlunsplit(parts._replace(scheme="postgresql"))


def with_dbname(url: str, dbname: str) -> str:
    """The same server and credentials, another database."""
    parts = _split(url)
    if parts is None:
        return f"{url} dbname={dbname}"
    return urlunsplit(parts._replace(path="/" + dbname))


def dbname_of(url: str) -> str:
    """The database a URL names."""
    parts = _split(url)
    if parts is not None:
        return unquote(parts.path.lstrip("/")) or "postgres"
    match = re.search(r"dbname\s*=\s*(\S+)", url)
    return match.group(1) if match else "postgres"


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
    if _split(target) is None and (("=" not in target) or "://" in target):
        raise ConfigError(
            f"{mask_url(url)!r} is not a PostgreSQL URL",
            hint="write it as postgresql://user:password@host:port/dbname",
        )
    try:
        return psycopg.connect(
            target, autocommit=autocommit, application_name=application_name, connect_timeout=10
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


def connect(
    settings: Settings, *, autocommit: bool = True, application_name: str = "schema-tools"
) -> psycopg.Connection:
    """A connection to the settings' database (the embedded one when none is configured)."""
    return connect_url(
        database_url(settings), autocommit=autocommit, application_name=application_name
    )


def connect_for(settings: Settings, verb: str) -> psycopg.Connection:
    """A connection labelled ``schema-tools VERB pid=N``, so a lock holder can be named."""
    return connect(settings, application_name=f"schema-tools {verb} pid={os.getpid()}")


def existing_database_url(settings: Settings) -> str | None:
    """The configured URL, else the embedded server's if it is already running; never starts one."""
    if settings.database_url:
        return settings.database_url
    state = embedded.status(settings)
    return embedded.url_for(settings, state.port) if state.running and state.port else None
