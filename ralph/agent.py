"""Run the coding agent: an argument list (never a shell string), the prompt on stdin and in a
file, a timeout, its output kept, and an environment that points at a scratch database."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from schema_tools import ConfigError

SCRUBBED = ("DATABASE_URL", "PGPASSWORD", "PGPASSFILE", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGSERVICE")


@dataclass(frozen=True)
class AgentResult:
    exit_code: int | None
    timed_out: bool
    seconds: float
    log: Path


def parse_command(text: str) -> list[str]:
    """``--agent`` as an argument list; story text never goes into it."""
    try:
        argv = shlex.split(text)
    except ValueError as exc:
        raise ConfigError(f"--agent {text!r}: {exc}", hint="quote the command as you would in a shell") from None
    if not argv:
        raise ConfigError("--agent is empty", hint="give the agent's command, e.g. --agent 'claude -p'")
    return argv


def run_agent(argv: list[str], prompt: str, cwd: Path, env_extra: dict[str, str], timeout: float, log: Path) -> AgentResult:
    """Run the agent once; kill its whole process group on timeout or Ctrl-C."""
    log.parent.mkdir(parents=True, exist_ok=True)
    prompt_file = log.with_name(log.name.replace("-agent.log", "-prompt.md"))
    prompt_file.write_text(prompt, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env.update(env_extra)
    env["RALPH_PROMPT_FILE"] = str(prompt_file)
    started = time.monotonic()
    with open(log, "wb") as out:
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=env,
                                    start_new_session=True)
        except OSError as exc:
            raise ConfigError(f"cannot start the agent {argv[0]!r}: {exc.strerror}",
                              hint="check the --agent command (is it installed and on PATH?)") from None
        try:
            proc.communicate(prompt.encode("utf-8"), timeout=timeout)
            return AgentResult(proc.returncode, False, time.monotonic() - started, log)
        except subprocess.TimeoutExpired:
            _kill(proc)
            return AgentResult(None, True, time.monotonic() - started, log)
        except BaseException:
            _kill(proc)
            raise


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
