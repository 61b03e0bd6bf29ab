"""What the agent leaves running inside the sandbox: reported by the sandbox's own PID 1 before
the namespace ends (it used to be a race: often unreported, and now and then an honest
iteration failed on bubblewrap's PID 1 still on its way out)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ralph.harness.agent import NO_REPORT, AgentResult, Sandbox, _read_report, bubblewrap, run_agent


def _run(tmp_path: Path, script: str) -> AgentResult:
    assert bubblewrap() is not None, "bubblewrap must work here: `make test` installs it"
    box = Sandbox(cwd=tmp_path, writable=tmp_path, hidden=())
    return run_agent(["sh", "-c", script], "prompt", tmp_path / "prompt", tmp_path / "agent.log",
                     {"PATH": os.environ["PATH"]}, 60, box, True, [])


def _running(marker: str) -> bool:
    return marker in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout


def test_a_daemon_left_inside_the_sandbox_is_reported_and_gone(tmp_path: Path) -> None:
    for attempt in range(5):  # every time, not now and then
        marker = f"sleep 31.{attempt}"
        result = _run(tmp_path, f"setsid sh -c '{marker}' </dev/null >/dev/null 2>&1 & exit 0")
        assert result.survivors and NO_REPORT not in result.survivors  # (it may be caught before its exec)
        assert not _running(marker)


def test_the_agent_cannot_stop_the_sandbox_s_pid_1(tmp_path: Path) -> None:
    marker = "sleep 32.5"
    result = _run(tmp_path, "kill -INT 1; kill -TERM 1; kill -HUP 1; kill -KILL 1; "
                            f"setsid sh -c '{marker}' </dev/null >/dev/null 2>&1 & exit 0")
    assert result.survivors and NO_REPORT not in result.survivors
    assert not _running(marker)


def test_honest_agents_in_the_sandbox_leave_nothing_to_report(tmp_path: Path) -> None:
    results = [_run(tmp_path, "echo done") for _ in range(20)]
    assert [s for r in results for s in r.survivors] == []
    assert {r.exit_code for r in results} == {0}
    assert (tmp_path / "agent.log").read_text() == "done\n"


def test_the_agent_s_exit_code_and_a_missing_command_come_through(tmp_path: Path) -> None:
    assert _run(tmp_path, "exit 7").exit_code == 7
    box = Sandbox(cwd=tmp_path, writable=tmp_path, hidden=())
    result = run_agent(["no-such-agent-xyz"], "p", tmp_path / "prompt", tmp_path / "agent.log",
                       {"PATH": os.environ["PATH"]}, 60, box, True, [])
    assert result.exit_code == 127 and "cannot start the agent 'no-such-agent-xyz'" in result.log.read_text()


def test_a_report_without_its_end_is_a_finding() -> None:
    for written, expected in [(b"pid 3: sleep 9\nend\n", ("pid 3: sleep 9",)), (b"pid 3: sleep 9\n", (NO_REPORT,)),
                              (b"", (NO_REPORT,))]:
        read, write = os.pipe()
        os.write(write, written)
        os.close(write)
        assert _read_report(read) == expected
        os.close(read)


def test_the_agent_s_output_is_shown_live_redacted_and_inert(tmp_path: Path) -> None:
    """Each line reaches the echo as it is written (the second line after the first has been
    shown), with the secret redacted, escape sequences gone and an endless line cut; the log keeps
    the output (redacted) as before."""
    shown: list[str] = []
    marker = tmp_path / "first-shown"

    def echo(line: str) -> None:
        shown.append(line)
        marker.touch()

    script = ("printf 'one s3cretpw\\n'; while [ ! -e first-shown ]; do sleep 0.05; done; "
              "printf 'two \\033]52;c;aGk=\\007\\033[2Jdone\\n'; head -c 5000 /dev/zero | tr '\\0' x; echo; "
              "printf 'no end'")
    box = Sandbox(cwd=tmp_path, writable=tmp_path, hidden=())
    result = run_agent(["sh", "-c", script], "p", tmp_path / "prompt", tmp_path / "agent.log", {"PATH": "/usr/bin:/bin"},
                       20, box, False, ["s3cretpw"], echo=echo)
    assert result.exit_code == 0 and not result.timed_out
    assert len(shown) == 4, shown
    assert "s3cretpw" not in shown[0] and shown[0].startswith("one ")
    assert "\x1b" not in shown[1] and "\x07" not in shown[1] and shown[1].startswith("two ") and "done" in shown[1]
    assert shown[2] == "x" * 300 + " ..."
    assert shown[3] == "no end"
    assert "s3cretpw" not in result.log.read_text() and "one " in result.log.read_text()
