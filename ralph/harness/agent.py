"""Run the coding agent as an attacker would be run: an argument list (never a shell string),
the prompt on stdin and in a file, its own session, a timeout, an environment with nothing of
the harness's databases, inside bubblewrap where the machine has it, and nothing of it left
running afterwards (the harness is a child subreaper, so even a double-forked daemon comes back
to it and is killed; in the sandbox, its PID 1 says what was left before the namespace ends).
Its output is kept with every password redacted."""

from __future__ import annotations

import ctypes
import functools
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from schema_tools import ConfigError
from schema_tools.harness import redact

from ..logformat import printable

PR_SET_CHILD_SUBREAPER = 36
OUTPUT_HEAD = OUTPUT_TAIL = 1024 * 1024  # the agent's output kept: its first and last MiB
HARNESS_VARIABLES = ("DATABASE_URL", "PG", "SCHEMA_TOOLS_", "RALPH_")  # names, or prefixes of names


@dataclass(frozen=True)
class AgentResult:
    exit_code: int | None
    timed_out: bool
    seconds: float
    log: Path
    survivors: tuple[str, ...]  # processes that outlived the agent (killed)


@dataclass(frozen=True)
class Sandbox:
    """Where the agent works (``cwd``), may write (``writable``) and must not look (``hidden``)."""

    cwd: Path
    writable: Path
    hidden: tuple[Path, ...]


def parse_command(text: str) -> list[str]:
    """``--agent`` as an argument list; story text never goes into it."""
    try:
        argv = shlex.split(text)
    except ValueError as exc:
        raise ConfigError(f"--agent {text!r}: {exc}", hint="quote the command as you would in a shell") from None
    if not argv:
        raise ConfigError("--agent is empty", hint="give the agent's command, e.g. --agent 'claude -p'")
    shell = Path(argv[0]).name in SHELLS and "-c" in argv[1:]
    variable = next((m.group(0) for arg in argv[1:] for m in [ENV_REFERENCE.search(arg)] if m), None)
    if variable and not shell:
        raise ConfigError(f"--agent {text!r}: no shell runs the command, so the agent would get {variable} literally",
                          hint=f"let a shell expand it: --agent \"sh -c '{' '.join(argv).replace(chr(39), '')}'\"")
    if "/" in argv[0]:
        found = Path(argv[0]).expanduser()
        if not (found.is_file() and os.access(found, os.X_OK)):
            raise ConfigError(f"--agent: {argv[0]} is not an executable file", hint="check the path")
    elif shutil.which(argv[0]) is None:
        raise ConfigError(f"--agent: {argv[0]!r} is not a command on PATH", hint="install it, or give its full path")
    return argv


SHELLS = {"sh", "bash", "dash", "zsh", "ksh"}
ENV_REFERENCE = re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?")


@functools.cache
def bubblewrap() -> str | None:
    """The bwrap executable when it can build a sandbox on this machine (tried once), else None."""
    found = shutil.which("bwrap")
    if found is None or not sys.platform.startswith("linux"):
        return None
    probe = subprocess.run([found, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid",
                            "--as-pid-1", "--die-with-parent", "true"], capture_output=True, timeout=30)
    return found if probe.returncode == 0 else None


# PID 1 of the sandbox (stdlib only): runs the agent, then writes to the report descriptor what
# the agent left running and exits, and with it the kernel ends every process of the namespace.
# bubblewrap returns only after that, so nothing is left to race with. As PID 1 it takes no
# signal from inside the namespace it has no handler for: the agent cannot stop it.
SUPERVISOR = r"""
import os, signal, subprocess, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
report = os.fdopen(int(sys.argv[1]), "w")
try:
    code = subprocess.call(sys.argv[2:])
except OSError as exc:
    print(f"cannot start the agent {sys.argv[2]!r}: {exc.strerror}", file=sys.stderr)
    code = 127
while True:
    try:
        if os.waitpid(-1, os.WNOHANG)[0] == 0:
            break
    except ChildProcessError:
        break
left = []
for name in os.listdir("/proc"):
    if not name.isdigit() or int(name) == os.getpid():
        continue
    try:
        stat = open(f"/proc/{name}/stat").read()
        if stat[stat.rindex(")") + 2] in "ZX":
            continue
        args = open(f"/proc/{name}/cmdline", "rb").read()
    except OSError:
        continue
    left.append(f"pid {name}: " + " ".join(w.decode(errors="replace") for w in args.split(b"\0") if w)[:120])
report.write("".join(line + "\n" for line in left[:20]) + (f"{len(left) - 20} more\n" if len(left) > 20 else ""))
report.write("end\n")
report.close()
sys.exit(code if code >= 0 else 128 - code)
"""
NO_REPORT = "the sandbox's PID 1 ended without saying what the agent left running"


def sandboxed(argv: list[str], box: Sandbox, report_fd: int) -> list[str]:
    """``argv`` inside bubblewrap: the whole file system read-only, ``box.writable`` writable
    (its TMPDIR is there), ``box.hidden`` replaced by empty folders (or /dev/null for files), its
    own PID namespace whose PID 1 is SUPERVISOR (reporting on ``report_fd``), killed with the
    harness."""
    command = [bubblewrap() or "bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
               "--unshare-pid", "--as-pid-1", "--unshare-ipc", "--die-with-parent", "--new-session"]
    for path in box.hidden:
        if path.is_dir():
            command += ["--tmpfs", str(path)]
        elif path.exists():
            command += ["--ro-bind", "/dev/null", str(path)]
    return command + ["--bind", str(box.writable), str(box.writable), "--chdir", str(box.cwd), "--",
                      sys.executable, "-I", "-S", "-c", SUPERVISOR, str(report_fd), *argv]


def _read_report(fd: int) -> tuple[str, ...]:
    """What the sandbox's PID 1 said was left running (written before it exited)."""
    os.set_blocking(fd, False)
    try:
        lines = os.read(fd, 65536).decode(errors="replace").splitlines()
    except OSError:
        lines = []
    return tuple(lines[:-1]) if lines[-1:] == ["end"] else (NO_REPORT,)


def agent_environment(extra: dict[str, str], secrets: Sequence[str]) -> dict[str, str]:
    """The harness's environment without anything that reaches a database of the harness's:
    no DATABASE_URL, no PG* (passwords, passfiles, services), no SCHEMA_TOOLS_* (state
    folder, binaries), and no variable holding a known secret."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(HARNESS_VARIABLES) and not any(s and s in v for s in secrets)}
    env.update(extra)
    return env


def _prctl_subreaper(on: bool) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


@contextmanager
def subreaper() -> Iterator[None]:
    """While inside, orphans of our descendants become our children instead of init's."""
    _prctl_subreaper(True)
    try:
        yield
    finally:
        _prctl_subreaper(False)


def _descendants(root: int) -> list[int]:
    """Every live process below ``root`` (read from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def _describe(pid: int) -> str:
    try:
        words = (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")
        return f"pid {pid}: {' '.join(w.decode(errors='replace') for w in words if w)[:120]}"
    except OSError:
        return f"pid {pid}"


def kill_survivors() -> tuple[str, ...]:
    """Kill (and reap) every process still below the harness; say what they were."""
    if not Path("/proc").is_dir():
        return ()
    seen: list[str] = []
    for _ in range(5):  # a survivor may fork while we kill: look again
        pids = _descendants(os.getpid())
        if not pids:
            break
        for pid in pids:
            seen.append(_describe(pid))
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)
    while True:  # reap the ones that became our children
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
    return tuple(dict.fromkeys(seen))


def choose_sandbox(wanted: str) -> bool:
    """``--sandbox``: auto (bubblewrap when it works here), bubblewrap (required), or none."""
    if wanted == "none":
        return False
    if bubblewrap() is None:
        if wanted == "bubblewrap":
            raise ConfigError("--sandbox bubblewrap: bubblewrap (bwrap) is not installed or cannot create namespaces "
                              "here", hint="install it (apt-get install bubblewrap), or pass --sandbox none")
        return False
    return True


def run_agent(argv: list[str], prompt: str, prompt_file: Path, log: Path, env: dict[str, str], timeout: float,
              box: Sandbox, use_sandbox: bool, secrets: Sequence[str],
              echo: Callable[[str], None] | None = None) -> AgentResult:
    """Run the agent once in ``box.cwd`` (inside bubblewrap when ``use_sandbox``); kill its
    whole tree on exit, timeout or Ctrl-C; redact ``secrets`` from its output. ``echo``: each
    line of its output as it comes, redacted and without control characters (for a terminal)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    prompt_file.write_text(prompt, encoding="utf-8")
    report_read, report_write = os.pipe()
    command = sandboxed(argv, box, report_write) if use_sandbox else argv
    started = time.monotonic()
    exit_code, timed_out = None, False
    left: tuple[str, ...] = ()
    output_read, output_write = os.pipe()
    live = Live(echo, secrets) if echo is not None else None
    drain = threading.Thread(target=_drain, args=(output_read, log, OUTPUT_HEAD, OUTPUT_TAIL, live), daemon=True)
    drain.start()
    with subreaper(), open(report_read, "rb", buffering=0):
        try:
            proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=output_write, stderr=subprocess.STDOUT,
                                    cwd=box.cwd, env=env, start_new_session=True,
                                    pass_fds=(report_write,) if use_sandbox else ())
        except OSError as exc:
            raise ConfigError(f"cannot start the agent {argv[0]!r}: {exc.strerror}",
                              hint="check the --agent command (is it installed and on PATH?)") from None
        finally:
            os.close(report_write)
            os.close(output_write)
        try:
            proc.communicate(prompt.encode("utf-8"), timeout=timeout)
            exit_code = proc.returncode
            left = _read_report(report_read) if use_sandbox else ()
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
        except BaseException:  # Ctrl-C, SIGTERM: nothing of the agent's stays behind
            _kill_group(proc)
            kill_survivors()
            raise
        survivors = left + kill_survivors()  # after an exit: whatever it left running, in its group or not
        _kill_group(proc)
    drain.join(timeout=10)  # every writer is gone: the pipe has ended (a stray writer cannot hold us longer)
    log.write_text(redact(log.read_text(encoding="utf-8", errors="replace"), secrets), encoding="utf-8")
    return AgentResult(exit_code, timed_out, time.monotonic() - started, log, survivors)


class Live:
    """The agent's output shown line by line as it comes: each line redacted, stripped of control
    characters (escape sequences would move the cursor, retitle the window or write the
    clipboard) and cut to ``width`` characters; a partial line waits for its end (at most
    ``width`` * 4 bytes of it are held)."""

    def __init__(self, echo: Callable[[str], None], secrets: Sequence[str], width: int = 300) -> None:
        self.echo, self.secrets, self.width, self.pending = echo, [s for s in secrets if s], width, bytearray()

    def feed(self, chunk: bytes) -> None:
        self.pending += chunk
        *lines, rest = self.pending.split(b"\n")
        for line in lines:
            self._show(bytes(line))
        self.pending = bytearray(rest[:self.width * 4])

    def close(self) -> None:
        if self.pending:
            self._show(bytes(self.pending))
        self.pending = bytearray()

    def _show(self, line: bytes) -> None:
        text = printable(redact(line.decode("utf-8", errors="replace"), self.secrets))
        self.echo(text[:self.width] + (" ..." if len(text) > self.width else ""))


def _drain(fd: int, log: Path, head: int = OUTPUT_HEAD, tail: int = OUTPUT_TAIL, live: Live | None = None) -> None:
    """Copy the agent's output from ``fd`` to ``log`` as it comes: its first ``head`` bytes, then
    (when there was more) a line saying how much was left out, then its last ``tail`` bytes. Never
    more than head + tail bytes in memory or on disk, however much it writes."""
    total, first, last = 0, 0, bytearray()
    with open(fd, "rb", buffering=0) as source, open(log, "wb") as out:
        while chunk := source.read(65536):
            if live is not None:
                live.feed(chunk)
            total += len(chunk)
            if first < head:
                part = chunk[:head - first]
                out.write(part)
                first += len(part)
                chunk = chunk[len(part):]
            if chunk:
                last += chunk
                del last[:max(0, len(last) - tail)]
        beyond = total - first
        if beyond > len(last):
            out.write(f"\n[... {beyond - len(last)} bytes of the agent's output left out; it wrote {total} bytes "
                      "in all ...]\n".encode())
        out.write(last)
    if live is not None:
        live.close()


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()
