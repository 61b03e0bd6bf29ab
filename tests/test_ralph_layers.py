"""ralph's two products and what joins them: the harness (the loop: ``ralph run``, ``ralph import``)
and the review (``ralph log``, ``ralph report``) share only progress.log's grammar
(``ralph/logformat.py``). Neither imports the other, the grammar imports neither, and only the
CLI on top sees both; each command loads its own side only."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from conftest import FIXTURES, ROOT

PACKAGE = ROOT / "ralph"

# Each part of ralph may import only these parts of it (besides itself).
ALLOWED: dict[str, tuple[str, ...]] = {
    "logformat": (),
    "harness": ("logformat",),
    "review": ("logformat",),
    "cli": ("harness", "logformat", "review"),
    "__main__": ("cli",),
    "__init__": (),
}


def _imports(path: Path) -> list[str]:
    """Every ``ralph.…`` name ``path`` imports, anywhere (under ``TYPE_CHECKING`` and inside
    functions too: a type-only import ties the two products as well)."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    package = parts[:-1]  # the package a relative import starts from (for __init__.py: its own)
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join([*base, *filter(None, (node.module or "").split("."))])
            names += [f"{module}.{alias.name}" for alias in node.names]
    return [name for name in names if name.split(".")[0] == "ralph"]


def test_the_review_and_the_harness_share_only_the_log_format() -> None:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        unit = parts[0]
        if unit not in ALLOWED:
            problems.append(f"ralph/{'/'.join(parts)}: a part of ralph the layers do not know; add it to ALLOWED")
            continue
        for name in _imports(path):
            target = name.split(".")[1] if "." in name else "__init__"
            if target != unit and target not in ALLOWED[unit]:
                problems.append(f"ralph/{'/'.join(parts)}.py imports {name}")
    assert problems == []


def _loaded(code: str) -> list[str]:
    script = f"import sys, io, contextlib\n{code}\nprint(*sorted(sys.modules))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True)
    return done.stdout.split()


def test_each_side_loads_without_the_other(tmp_path: Path) -> None:
    harness = _loaded("import pkgutil, importlib, ralph.harness\n"
                      "for m in pkgutil.walk_packages(ralph.harness.__path__, 'ralph.harness.'): importlib.import_module(m.name)")
    assert "ralph.harness.turn" in harness and not [m for m in harness if m.startswith("ralph.review")]
    log = _loaded(f"from ralph.cli import main\nwith contextlib.redirect_stdout(io.StringIO()): "
                  f"main(['log', {str(FIXTURES / 'seed_progress.log')!r}])")
    report = _loaded(f"from ralph.cli import main\nwith contextlib.redirect_stdout(io.StringIO()): "
                     f"main(['report', {str(FIXTURES / 'seed_progress.log')!r}, '-o', {str(tmp_path / 'r.html')!r}])")
    for loaded in (log, report):
        assert "ralph.review.summary" in loaded and not [m for m in loaded if m.startswith("ralph.harness")]
        assert not [m for m in loaded if m.split(".")[0] in ("psycopg", "sqlglot")]  # no database, no SQL: no drivers
