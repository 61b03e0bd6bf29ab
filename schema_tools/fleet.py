"""``--fleet FILE``: run migrate, validate or verify against many databases, a few at a time,
past failures, ending with one outcome per database.

The fleet file (TOML) lists URLs, or a template and names:

    databases = ["postgresql://app@db1/app", "postgresql://app@db2/app"]
    # or
    template = "postgresql://app@db.internal:5432/{name}"
    names = ["tenant_001", "tenant_002"]
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .config import Settings
from .errors import SchemaToolsError
from .server.urls import is_url, mask_url, scrub
from .tomlspec import Field, Invalid, read_toml, strings

OK, PROBLEMS, ERROR = "ok", "problems", "error"
CODES = {OK: 0, PROBLEMS: 1, ERROR: 2}


@dataclass(frozen=True)
class Outcome:
    database: str  # masked
    outcome: str
    detail: str
    seconds: float


def _names(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(n, str) and n for n in value):
        raise Invalid("must be a list of database names", 'write names = ["tenant_001"]')
    return tuple(value)


def _template(value: object) -> str:
    if not isinstance(value, str) or "{name}" not in value:
        raise Invalid("must be a URL containing {name}", 'template = "postgresql://app@host:5432/{name}"')
    return value


FLEET = {"databases": Field(strings, "URLs", ()), "template": Field(_template, "a URL with {name}"),
         "names": Field(_names, "the names to put in the template")}


def read_fleet(path: Path) -> list[str]:
    """The URLs a fleet file names."""
    doc = read_toml(path, what="fleet file", hint="check the path given to --fleet")
    given = doc.table((), FLEET, label="the fleet file", key_prefix="", value=doc.data,
                      hint="use databases = [...], or template and names")
    urls = list(given["databases"])
    if given["template"] is not None or given["names"] is not None:
        if given["template"] is None:
            raise doc.error(("names",), "template must be a URL containing {name}",
                            'template = "postgresql://app@host:5432/{name}"')
        if given["names"] is None:
            raise doc.error(("template",), "names must be a list of database names", 'write names = ["tenant_001"]')
        urls += [given["template"].replace("{name}", n) for n in given["names"]]
    if not urls:
        raise doc.error((), "no databases", hint="list them in databases = [...] or template + names")
    for url in urls:
        if not is_url(url):
            raise doc.error(("databases",) if url in given["databases"] else ("template",),
                            f"{mask_url(url)!r} is not a PostgreSQL URL", "write postgresql://user@host:port/dbname")
    return urls


def run_fleet(settings: Settings, urls: list[str], job: Callable[[Settings], tuple[str, str]], jobs: int) -> list[Outcome]:
    """Run ``job`` (returning outcome and detail) on every database, ``jobs`` at a time."""

    def one(url: str) -> Outcome:
        started = time.monotonic()
        try:
            outcome, detail = job(settings.with_database(url))
        except SchemaToolsError as exc:
            outcome, detail = (PROBLEMS if exc.exit_code == 1 else ERROR), scrub(exc.one_line(), url)
        except Exception as exc:  # noqa: BLE001 -- one database's bug must not stop the fleet
            outcome, detail = ERROR, scrub(f"internal error: {type(exc).__name__}: {exc}", url)
        return Outcome(mask_url(url), outcome, detail, round(time.monotonic() - started, 3))

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, urls))


def fleet_code(outcomes: list[Outcome]) -> int:
    return max((CODES[o.outcome] for o in outcomes), default=0)

