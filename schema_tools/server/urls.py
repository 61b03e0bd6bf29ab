"""Database URLs without psycopg: parse, mask the password, scrub it from text."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from collections.abc import Iterable
from urllib.parse import SplitResult, parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

SCHEMES = ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2")
KEYWORD_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


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


def is_url(text: str) -> bool:
    """True for a postgresql:// (or postgres://, postgresql+psycopg://) URL that parses."""
    return _split(text) is not None


@functools.cache
def _url_password() -> re.Pattern[str]:
    """A password in any URL (compiled on first use: case-insensitive Unicode classes cost ~5 ms)."""
    return re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s/]*@", re.IGNORECASE)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with each secret (raw or URL-quoted) and any password in a URL or a
    ``password=`` keyword replaced by ``***``."""
    for secret in secrets:
        if secret:
            for form in {secret, quote(secret, safe="")}:
                text = text.replace(form, "***")
    return KEYWORD_PASSWORD.sub(r"\1***", _url_password().sub(r"\1***@", text))


def with_login(url: str, user: str, password: str, dbname: str) -> str:
    """A URL for the same server as ``url`` with another login and database; nothing of the
    original credentials (user, password, passfile) carried over."""
    from psycopg.conninfo import conninfo_to_dict

    params = {k: str(v) for k, v in conninfo_to_dict(libpq_url(url)).items()
              if k not in ("user", "password", "passfile", "dbname", "service")}
    host, port = params.pop("host", "localhost"), params.pop("port", "")
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{quote(host, safe='') if '/' in host else host}"
    return urlunsplit(("postgresql", netloc + (f":{port}" if port else ""), "/" + quote(dbname, safe=""),
                       urlencode(params), ""))


def secret_files(url: str) -> list[Path]:
    """The files a connection string points at that hold secrets (passfile, client key, service
    file), to keep them from someone who must not connect as its owner."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(libpq_url(url))
    except Exception:  # noqa: BLE001 -- not a connection string: it points at nothing
        return []
    return [Path(str(params[k])).expanduser() for k in ("passfile", "sslkey", "sslcert", "servicefile") if params.get(k)]
