"""``db start|stop|status|url``: the embedded PostgreSQL. Its URLs name the passfile that holds
its password, never the password."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import as_format

if TYPE_CHECKING:
    from ..server.embedded import Status


def render_db_start(state: Status, fmt: str) -> str:
    """The server ``db start`` started (or found running)."""
    def text() -> str:
        source = f"PostgreSQL {state.binaries.major} from {state.binaries.source}" if state.binaries else "PostgreSQL"
        return f"embedded {source} running on 127.0.0.1:{state.port}\ndata: {state.data_dir}\nurl:  {state.url}"

    return as_format(fmt, text, lambda: _data(state))


def render_db_status(state: Status, fmt: str) -> str:
    """Whether the server runs, where, with which binaries."""
    def text() -> str:
        if not state.running:
            return f"embedded PostgreSQL is not running (data: {state.data_dir})"
        binaries = state.binaries
        found = f" {binaries.major} ({binaries.source}, {binaries.bindir})" if binaries else ""
        return f"embedded PostgreSQL{found} running on 127.0.0.1:{state.port}\ndata: {state.data_dir}\nurl:  {state.url}"

    return as_format(fmt, text, lambda: _data(state))


def render_db_url(url: str, fmt: str) -> str:
    """The server's URL (``db url``)."""
    return as_format(fmt, lambda: url, lambda: {"url": url})


def render_db_stop(stopped: bool, fmt: str) -> str:
    """Whether ``db stop`` stopped the server (False: it was not running)."""
    return as_format(fmt, lambda: "embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running",
                     lambda: {"stopped": stopped})


def _data(state: Status) -> dict[str, object]:
    binaries = state.binaries
    return {
        "running": state.running,
        "port": state.port,
        "data_dir": str(state.data_dir),
        "binaries": {"major": binaries.major, "source": binaries.source, "bindir": str(binaries.bindir)}
        if binaries else None,
        "url": state.url,
    }
