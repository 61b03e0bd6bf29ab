"""A throwaway local PostgreSQL cluster: made in a new private folder, started on a free loopback
port, stopped and deleted afterwards (one whose process was killed first is reaped by the next). Code we do not trust (an agent, the migrations it wrote)
gets its scratch databases here, on a server the target's never hears of.

It reuses the embedded server's machinery (binaries, the unprivileged account under root); its
superuser's password lives only in this process's memory (and in initdb's password file for the
moment initdb reads it)."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..config import Settings
from ..errors import EmbeddedError
from . import embedded


@dataclass(frozen=True)
class LocalCluster:
    """A running throwaway cluster: its superuser's URL (password inside), its folder."""

    url: str
    folder: Path
    major: int


def _initdb(bindir: Path, home: Path, user: embedded.ServiceUser | None, password: str) -> None:
    pwfile = home / ".pw"
    pwfile.write_text(password + "\n")
    pwfile.chmod(0o600)
    if user is not None:
        os.chown(pwfile, user.uid, user.gid)
    try:
        result = embedded._run([str(bindir / "initdb"), "-D", str(home / "data"), "-U", embedded.SUPERUSER,
                                f"--pwfile={pwfile}", "--auth=scram-sha-256", "-E", "UTF8", "--locale=C",
                                "--no-sync", "--no-instructions"], user, home)
    finally:
        pwfile.unlink(missing_ok=True)
    if result.returncode != 0:
        raise EmbeddedError(f"initdb of a throwaway cluster failed: {' '.join((result.stderr or result.stdout).split())[-300:]}")
    with open(home / "data" / "postgresql.conf", "a") as conf:
        conf.write(embedded.SERVER_CONF.replace("max_connections = 200", "max_connections = 60"))


PREFIX = "ralph-cluster-"
OWNER = "owner.pid"  # the process the cluster is for: when it is gone, so may the cluster be


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_orphans(bindir: Path, user: embedded.ServiceUser | None) -> list[Path]:
    """Stop and delete the throwaway clusters whose process died without doing it (killed): the
    folders of this machine's temporary directory that name a process that is gone."""
    reaped = []
    for home in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        try:
            pid = int((home / OWNER).read_text())
        except (OSError, ValueError):
            continue  # being made (or not ours)
        if _alive(pid):
            continue
        if (home / "data" / "postmaster.pid").exists():
            embedded._run([str(bindir / "pg_ctl"), "-D", str(home / "data"), "-m", "immediate", "-w", "stop"], user, home)
        shutil.rmtree(home, ignore_errors=True)
        reaped.append(home)
    return reaped


@contextmanager
def throwaway_cluster(settings: Settings, major: int) -> Iterator[LocalCluster]:
    """A new local cluster of PostgreSQL ``major`` (EmbeddedError when no binaries of that major
    are on the machine, or it cannot start), stopped and deleted on exit."""
    user = embedded.service_user(settings)
    binaries = embedded.find_binaries(settings, want_major=major)
    if binaries.major != major:
        raise EmbeddedError(f"no PostgreSQL {major} binaries for a throwaway cluster")
    bindir = embedded._executable_bindir(binaries, user)
    reap_orphans(bindir, user)
    home = Path(tempfile.mkdtemp(prefix=PREFIX))
    try:
        (home / OWNER).write_text(str(os.getpid()))
        if user is not None:
            os.chown(home, user.uid, user.gid)
        home.chmod(0o700)
        password = secrets.token_urlsafe(24)
        _initdb(bindir, home, user, password)
        started = False
        try:
            for _ in range(3):
                port = embedded._free_port()
                result = embedded._run([str(bindir / "pg_ctl"), "-D", str(home / "data"), "-l", str(home / "server.log"),
                                        "-w", "-t", "60", "-o", f"-p {port}", "start"], user, home)
                started = result.returncode == 0
                if started:
                    break
            if not started:
                raise EmbeddedError(f"a throwaway cluster did not start: {embedded._log_tail(home / 'server.log')}")
            yield LocalCluster(f"postgresql://{embedded.SUPERUSER}:{password}@127.0.0.1:{port}/postgres", home, major)
        finally:
            if started:
                embedded._run([str(bindir / "pg_ctl"), "-D", str(home / "data"), "-m", "immediate", "-w", "stop"],
                              user, home)
    finally:
        shutil.rmtree(home, ignore_errors=True)
