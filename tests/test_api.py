"""The public API and the layers: what ``schema_tools`` exports is typed and deliberate, imports
run one way, and importing the package changes nothing and loads nothing heavy."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

import schema_tools
import schema_tools.harness
from conftest import ROOT
from schema_tools import commands

PACKAGE = ROOT / "schema_tools"

# Each part of schema_tools may import only these parts (besides itself). Module paths are
# relative to schema_tools; a prefix admits everything under it.
ALLOWED: dict[str, tuple[str, ...]] = {
    "errors": (),
    "records": (),
    "findings": ("records",),
    "tomlread": (),
    "tomlspec": ("errors", "tomlread"),
    "config": ("errors", "tomlspec"),
    "sql": (),
    "migration_files": ("config", "errors", "sql"),
    "server": ("config", "errors"),
    "catalog": ("records", "sql.meaning", "sql.identifiers"),
    "invariants": ("catalog", "findings", "sql.identifiers"),
    "expect": ("catalog", "errors", "findings", "invariants", "sql", "tomlspec"),
    "engine": ("catalog", "config", "errors", "findings", "migration_files", "server.connect", "sql"),
    "sqlmodel": ("catalog", "errors", "expect", "findings", "migration_files", "sql"),
    "linter": ("catalog", "config", "errors", "findings", "invariants", "migration_files", "sqlmodel", "sql"),
    "datachecks": ("catalog", "config", "engine.history", "errors", "expect", "findings", "migration_files", "sqlmodel",
                   "sql", "tomlspec"),
    "generator": ("catalog", "config", "engine", "errors", "expect", "findings", "linter", "migration_files", "server",
                  "sql", "tomlspec"),
    "console": ("config", "errors", "server.urls"),
    "fleet": ("config", "errors", "server.urls", "tomlspec"),
    "commands": ("catalog", "config", "engine", "errors", "expect", "findings", "datachecks", "generator", "linter",
                 "migration_files", "server", "sqlmodel"),
    "pytest_plugin": ("catalog.read", "commands", "config", "findings", "server.connect"),  # config: the loader's settings
    "output": ("findings", "fleet", "server.urls"),
    "cli": ("commands", "config", "console", "engine.model", "errors", "findings", "fleet", "invariants", "linter",
            "output"),
    "__main__": ("cli",),
    "__init__": (),  # at run time it imports nothing of ours (its imports are for mypy, names load on use)
    "harness": ("__init__",),  # the same: names load on use, through the package's _lazy
}
PUBLIC = {"schema_tools": schema_tools.__all__, "schema_tools.harness": schema_tools.harness.__all__}
"""What ralph may import: the public API and the harness kit, nothing below them."""
PURE = ("findings", "tomlread", "tomlspec", "sql", "migration_files", "catalog.model", "invariants", "expect", "sqlmodel", "linter")
SQL_PARSERS = ("pglast", "sqlglot")
SQL_WORDS = frozenset("""
select insert update delete merge create alter drop table index begin commit rollback savepoint set reset grant
revoke truncate validate constraint concurrently unique references foreign check default values copy vacuum analyze
analyse reindex cluster comment lock transaction prepare discard listen notify execute call do returns function
procedure trigger view sequence extension owner rename column only""".split())
"""Words that make a regular expression one that reads SQL."""


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        found.append((".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts), path))
    return found


def _runtime_imports(path: Path, module: str) -> list[str]:
    """Every module imported outside ``if TYPE_CHECKING:``, absolute, without the package prefix
    for our own (``engine.runner``) and with it for others (``psycopg``)."""
    is_package = path.name == "__init__.py"
    base = module.split(".") if is_package else module.split(".")[:-1]
    names: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            return
        if isinstance(node, ast.Import):
            names.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[: len(base) - node.level + 1] if node.level > 1 else base
                target = [p for p in [*anchor, *(node.module or "").split(".")] if p and p != "__init__"]
                for alias in node.names:
                    sub = ".".join([*target, alias.name])
                    is_module = (PACKAGE / sub.replace(".", "/")).with_suffix(".py").exists() or \
                        (PACKAGE / sub.replace(".", "/")).is_dir()
                    names.append("schema_tools." + (sub if is_module else ".".join(target) or "__init__"))
            else:
                names.append(node.module or "")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return names


def test_imports_run_one_way() -> None:
    problems = []
    for module, path in _modules():
        unit = module.split(".")[0] if module != "__init__" else "__init__"
        allowed = ALLOWED[unit]
        for name in _runtime_imports(path, module if module != "__init__" else ""):
            if name.startswith("ralph"):
                problems.append(f"{module} imports {name}: schema_tools never imports ralph")
            if not name.startswith("schema_tools."):
                continue
            target = name.removeprefix("schema_tools.")
            if target.split(".")[0] == unit:
                continue
            if not any(target == a or target.startswith(a + ".") for a in allowed):
                problems.append(f"{module} imports {target}")
    assert problems == []


def test_only_the_sql_package_imports_sql_parsers() -> None:
    """pglast and sqlglot are read through ``schema_tools.sql`` alone (and nothing in ralph)."""
    problems = [f"{module} imports {name}" for module, path in _modules() if module.split(".")[0] != "sql"
                for name in _runtime_imports(path, module) if name.split(".")[0] in SQL_PARSERS]
    for path in sorted((ROOT / "ralph").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            problems += [f"{path.name} imports {n}" for n in names if n.split(".")[0] in SQL_PARSERS]
    assert problems == []


def _regex_literals(path: Path) -> list[tuple[int, str]]:
    """Every string given to ``re``'s functions (``re.compile(...)``, ``re.match(...)``...)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                isinstance(node.func.value, ast.Name) and node.func.value.id == "re" and node.args:
            pattern = node.args[0]
            parts = [pattern] if isinstance(pattern, ast.Constant) else \
                [v for v in ast.walk(pattern) if isinstance(v, ast.Constant)]
            found += [(node.lineno, p.value) for p in parts if isinstance(p.value, str)]
    return found


def test_no_module_outside_the_sql_package_reads_sql_with_a_regex() -> None:
    """SQL is read by PostgreSQL's parser, through ``schema_tools.sql``: a regular expression
    holding an SQL keyword anywhere else is a second reader that will disagree with the first."""
    import re

    problems = []
    for path in sorted([*PACKAGE.rglob("*.py"), *(ROOT / "ralph").rglob("*.py")]):
        if path.is_relative_to(PACKAGE / "sql"):
            continue
        for line, pattern in _regex_literals(path):
            words = {w.lower() for w in re.findall(r"[A-Za-z_]+", pattern)} & SQL_WORDS
            if words:
                problems.append(f"{path.relative_to(ROOT)}:{line}: {sorted(words)} in {pattern!r}")
    assert problems == []


def test_the_regex_check_sees_a_keyword_regex(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('import re\nX = re.compile(r"^ALTER\\s+TABLE\\b", re.I)\nY = re.match(rf"{1}DROP", "x")\n')
    assert [line for line, _ in _regex_literals(sample)] == [2, 3]


def test_pure_packages_never_import_psycopg() -> None:
    problems = [f"{module} imports {name}" for module, path in _modules()
                if any(module == p or module.startswith(p + ".") for p in PURE)
                for name in _runtime_imports(path, module) if name.split(".")[0] == "psycopg"]
    assert problems == []


def test_ralph_uses_only_the_public_api() -> None:
    problems = []
    for path in sorted((ROOT / "ralph").rglob("*.py")):
        name = path.relative_to(ROOT)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("schema_tools"):
                public = PUBLIC.get(node.module or "")
                if public is None:
                    problems.append(f"{name} imports {node.module}")
                    continue
                problems += [f"{name} imports {a.name}, which is not in {node.module}.__all__"
                             for a in node.names if a.name not in public]
            elif isinstance(node, ast.Import):
                problems += [f"{name} imports {a.name}" for a in node.names if a.name.startswith("schema_tools")]
    assert problems == []


def _typed_imports(init: Path) -> dict[str, str]:
    """Public name -> module (relative, dots dropped), from the ``if TYPE_CHECKING:`` imports mypy reads."""
    tree = ast.parse(init.read_text())
    block = next(n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING")
    return {alias.asname or alias.name: node.module or "" for node in block.body if isinstance(node, ast.ImportFrom)
            for alias in node.names}


@pytest.mark.parametrize("package", [schema_tools, schema_tools.harness], ids=["schema_tools", "harness"])
def test_all_the_typed_imports_and_the_lazy_table_are_the_same_api(package: ModuleType) -> None:
    typed = _typed_imports(Path(package.__file__ or ""))
    table = {name: module for module, names in package._MODULES for name in names}
    assert sorted(package.__all__) == sorted(typed) == sorted(table)
    assert len(set(package.__all__)) == len(package.__all__)
    assert typed == table
    script = (f"import json, types, {package.__name__} as s; print(json.dumps(sorted(n for n in s.__all__ "
              "if isinstance(getattr(s, n), types.ModuleType))))")  # every name resolves, to what it says
    assert json.loads(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                     check=True).stdout) == []


def test_the_public_api_is_small_and_the_harness_kit_apart() -> None:
    assert len(schema_tools.__all__) <= 60
    assert not set(schema_tools.__all__) & set(schema_tools.harness.__all__)


def test_no_public_name_is_hidden_by_a_submodule() -> None:
    """``import schema_tools.X`` binds X on the package: a verb called X would turn into a module."""
    script = ("import importlib, json, pkgutil, schema_tools as s\n"
              "for m in pkgutil.walk_packages(s.__path__, 'schema_tools.'):\n"
              "    if not m.name.endswith('__main__'): importlib.import_module(m.name)\n"
              "print(json.dumps([n for n in s.__all__ if type(getattr(s, n)).__name__ == 'module']))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []


def test_every_verb_is_public_and_typed() -> None:
    verbs = {name for name, value in vars(commands).items() if callable(value) and not name.startswith("_")
             and getattr(value, "__module__", "") == commands.__name__}
    public = set(schema_tools.__all__) | set(schema_tools.harness.__all__)
    assert verbs <= public, verbs - public
    for name in verbs:
        annotations = getattr(commands, name).__annotations__
        assert "return" in annotations, f"{name} has no return type"
    assert not isinstance(schema_tools.migrate, ModuleType)


def test_mypy_rejects_a_wrong_call_of_the_api(tmp_path: Path) -> None:
    from mypy import api

    (tmp_path / "wrong.py").write_text(textwrap.dedent("""
        import schema_tools
        schema_tools.migrate(1, 2, 3, 4, 5, 6)
        schema_tools.verify("not settings", expect_files=3)
    """))
    (tmp_path / "right.py").write_text(textwrap.dedent("""
        from pathlib import Path
        import schema_tools
        settings = schema_tools.load_settings(database="postgresql://u@h/db")
        result: schema_tools.RunResult = schema_tools.migrate(settings, only={"0001_users"})
        report: schema_tools.Report = schema_tools.verify(settings, [Path("expect.toml")], invariants=False)
    """))
    options = ["--no-incremental", "--cache-dir", str(tmp_path / ".mypy"), "--config-file", str(ROOT / "pyproject.toml")]
    out, _, code = api.run([*options, str(tmp_path / "wrong.py")])
    assert code == 1
    assert 'Too many positional arguments for "migrate"' in out
    assert 'Argument 1 to "verify" has incompatible type "str"' in out
    assert 'Argument "expect_files" to "verify" has incompatible type "int"' in out
    out, _, code = api.run([*options, str(tmp_path / "right.py")])
    assert code == 0, out


@pytest.mark.parametrize("module", ["schema_tools", "schema_tools.harness", "schema_tools.pytest_plugin"])
def test_importing_the_package_loads_neither_psycopg_nor_sqlglot(module: str) -> None:
    script = f"import sys, {module}; print(sorted(m for m in ('psycopg', 'sqlglot') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_importing_any_module_changes_no_global_logging_state() -> None:
    script = textwrap.dedent("""
        import importlib, json, logging, pkgutil
        import schema_tools, ralph
        def state():
            log = logging.getLogger("sqlglot")
            return [log.level, len(log.filters), len(log.handlers), log.disabled, logging.getLogger().level]
        before = state()
        for package in (schema_tools, ralph):
            for m in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
                if not m.name.endswith("__main__"):
                    importlib.import_module(m.name)
        print(json.dumps([before, state()]))
    """)
    before, after = json.loads(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                              check=True).stdout)
    assert after == before


def test_a_statement_kept_as_a_command_parses_quietly_and_leaves_the_logger_as_it_was() -> None:
    script = textwrap.dedent("""
        import logging
        from schema_tools.sql.glot import parse_statement
        node = parse_statement("DO $$ BEGIN PERFORM 1; END $$")
        log = logging.getLogger("sqlglot")
        print(type(node).__name__, log.level, len(log.filters))
        log.warning("the host's own sqlglot warning")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["Command", "0", "0"]
    assert done.stderr.strip() == "the host's own sqlglot warning"  # nothing of ours, the host's still shown


@pytest.mark.parametrize("command", [["status"], ["migrate"], ["validate"]])
def test_commands_that_parse_no_sql_never_import_sqlglot(command: list[str], empty_db_url: str) -> None:
    script = ("import sys, contextlib, io\nfrom schema_tools import cli\n"
              "with contextlib.redirect_stdout(io.StringIO()):\n"
              f"    code = cli.main({command!r} + ['--database', {empty_db_url!r}])\n"
              "print(code, 'sqlglot' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT).stdout.split()
    assert out == ["0", "False"], out


def test_quick_init_keeps_a_frozen_dataclass_what_it_was() -> None:
    """records.quick_init changes how a frozen dataclass's fields are set, nothing else."""
    import dataclasses

    from schema_tools.catalog.model import Column, Index
    from schema_tools.findings import Finding, Severity
    from schema_tools.records import quick_init

    column = Column("id", "bigint", not_null=True)
    assert (column.name, column.type, column.not_null, column.default, column.identity) == ("id", "bigint", True, None, "")
    assert column == Column("id", "bigint", True) and hash(column) == hash(Column("id", "bigint", True))
    assert repr(column) == ("Column(name='id', type='bigint', not_null=True, default=None, identity='', generated=None, "
                            "comment=None)")
    assert dataclasses.replace(column, not_null=False) == Column("id", "bigint")
    with pytest.raises(dataclasses.FrozenInstanceError):
        column.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        Index("i")  # type: ignore[call-arg]
    assert Finding("r", "m").severity is Severity.ERROR and Finding("r", "m", line=3).line == 3

    @dataclasses.dataclass
    class Mutable:
        a: int

    with pytest.raises(TypeError):
        quick_init(Mutable)
