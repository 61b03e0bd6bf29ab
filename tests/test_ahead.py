"""lint's files parsed ahead by a child process (sql/ahead): the same report as parsing here, no
child left behind whatever way the work ends, and no fork while another thread runs or where
fork is not there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from schema_tools.findings import Report
from schema_tools.linter import lint_migrations
from schema_tools.migration_files.read import read_folder
from schema_tools.sql import ahead, pgquery


def _folder(tmp_path: Path, files: int = 12) -> Path:
    folder = tmp_path / "m"
    folder.mkdir()
    for i in range(files):
        (folder / f"{i:04d}_m.sql").write_text(
            f"CREATE TABLE t{i} (id bigint PRIMARY KEY, note varchar(9));\nCREATE INDEX t{i}_n ON t{i} (note);\n"
            + ("ALTER TABLE t0 ADD COLUMN x int NOT NULL;\nSELEC 1;\n" if i == 5 else ""))
    return folder


def _children() -> list[int]:
    """This process's child processes, as the kernel lists them (zombies too: not yet reaped)."""
    found = []
    for task in os.listdir(f"/proc/{os.getpid()}/task"):
        text = Path(f"/proc/{os.getpid()}/task/{task}/children").read_text()
        found += [int(pid) for pid in text.split()]
    return found


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The pids of the children ahead starts; the test worker's own threads (pytest-xdist's)
    are not counted against the fork (the check itself is tested below)."""
    started: list[int] = []
    start = ahead._start

    def spy(texts: list[str]) -> ahead._Reader | None:
        reader = start(texts)
        if reader is not None:
            started.append(reader.pid)
        return reader

    monkeypatch.setattr(ahead, "_threads", lambda: 1)
    monkeypatch.setattr(ahead, "_cores", lambda: 2)
    monkeypatch.setattr(ahead, "_start", spy)
    return started


def _here(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Report:
    with monkeypatch.context() as m:
        m.setattr(ahead, "_may_fork", lambda: False)
        return lint_migrations(read_folder(folder))


def test_the_child_is_reaped_when_lint_ends(tmp_path: Path, forks: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _folder(tmp_path)
    here = _here(folder, monkeypatch)
    assert lint_migrations(read_folder(folder)) == here and any(f.rule == "syntax-error" for f in here.findings)
    assert len(forks) == 1
    assert forks[0] not in _children()
    with pytest.raises(ChildProcessError):  # reaped: no zombie left either
        os.waitpid(forks[0], os.WNOHANG)


def test_the_child_is_reaped_when_lint_fails_half_way(tmp_path: Path, forks: list[int],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from schema_tools import linter

    folder = _folder(tmp_path, files=40)
    lint_one, seen = linter.lint_one, []

    def failing(state: object, migration: object, postgres: object, lock_timeout: object = None) -> None:
        seen.append(1)
        if len(seen) == 3:
            raise KeyboardInterrupt  # the user's Ctrl-C, or a bug, while the child is still parsing
        lint_one(state, migration, postgres, lock_timeout)  # type: ignore[arg-type]

    monkeypatch.setattr(linter, "lint_one", failing)
    with pytest.raises(KeyboardInterrupt):
        lint_migrations(read_folder(folder))
    assert len(forks) == 1 and forks[0] not in _children()
    with pytest.raises(ChildProcessError):
        os.waitpid(forks[0], os.WNOHANG)
    assert pgquery._lookahead is None  # this process parses its texts itself again


def test_a_child_that_dies_leaves_the_parsing_here(tmp_path: Path, forks: list[int],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _folder(tmp_path)
    here = _here(folder, monkeypatch)
    monkeypatch.setattr(ahead, "_parse_all", lambda texts, fd: os.close(fd))  # writes nothing, exits
    assert lint_migrations(read_folder(folder)) == here
    assert len(forks) == 1 and forks[0] not in _children()


def test_no_fork_while_another_thread_runs() -> None:
    """In a fresh process (one thread: pytest-xdist's workers have more), a fork is allowed until
    a thread starts, one threading knows of or one it does not (as C code starts them)."""
    code = """if True:
        import _thread, os, sys, threading
        from schema_tools.sql import ahead
        ahead._cores = lambda: 2
        print(ahead._threads(), ahead._may_fork())
        for start in (lambda f: threading.Thread(target=f).start(), lambda f: _thread.start_new_thread(f, ())):
            running, stop = threading.Event(), threading.Event()
            start(lambda: (running.set(), stop.wait(30)))
            running.wait(30)
            print(ahead._threads(), ahead._may_fork())
            stop.set()
            while ahead._threads() > 1:
                pass
        print(ahead._threads(), ahead._may_fork())
    """
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[:4] == ["1 True", "2 False", "2 False", "1 True"]


def test_without_fork_the_texts_are_parsed_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _folder(tmp_path)
    here = _here(folder, monkeypatch)
    monkeypatch.setattr(ahead, "_threads", lambda: 1)
    monkeypatch.setattr(ahead, "_cores", lambda: 2)
    monkeypatch.delattr(os, "fork")
    assert not ahead._may_fork()
    assert lint_migrations(read_folder(folder)) == here
    monkeypatch.undo()
    monkeypatch.setattr(ahead, "_threads", lambda: 1)
    monkeypatch.setattr(ahead, "_cores", lambda: 2)
    monkeypatch.setattr(sys, "platform", "darwin")  # fork there, but not fork-safe libraries: no
    assert not ahead._may_fork()
    monkeypatch.setattr(sys, "platform", "linux")
    assert ahead._may_fork()
    monkeypatch.setattr(ahead, "_cores", lambda: 1)
    assert not ahead._may_fork()  # one core: nothing to gain
