"""Imports point one way: shells -> services -> pure core.

The pure core never imports a shell library or a shell package, never reads the wall
clock, never calls eval/exec and has no bare except.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "greenenergy"
CORE_DIRS = ["scoring", "ledger", "forest", "planting", "audit"]
CORE_MODULES = ["units.py", "errors.py", "clock.py", "periods.py", "ids.py"]
SHELL_LIBRARIES = {"fastapi", "starlette", "sqlmodel", "sqlalchemy", "alembic", "apscheduler", "typer", "uvicorn"}
SHELL_PACKAGES = {
    "greenenergy.db",
    "greenenergy.services",
    "greenenergy.api",
    "greenenergy.cli",
    "greenenergy.scheduler",
    "greenenergy.config",
}


def core_files() -> list[Path]:
    files = [PACKAGE / name for name in CORE_MODULES]
    for directory in CORE_DIRS:
        files.extend(sorted((PACKAGE / directory).rglob("*.py")))
    return files


def imported_modules(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", core_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_core_module_is_pure(path: Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    for module in imported_modules(tree):
        assert module.split(".")[0] not in SHELL_LIBRARIES, f"{path.name} imports shell library {module}"
        assert not any(module == p or module.startswith(p + ".") for p in SHELL_PACKAGES), (
            f"{path.name} imports shell package {module}"
        )
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler):
            assert node.type is not None, f"{path.name}:{node.lineno} bare except"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in {"eval", "exec", "compile"}, f"{path.name}:{node.lineno} calls {node.func.id}"
        if isinstance(node, ast.Attribute) and node.attr in {"now", "utcnow", "today"} and path.name != "clock.py":
            assert False, f"{path.name}:{node.lineno} reads the wall clock ({node.attr}); take a Clock or a time"


def test_services_do_not_import_the_http_or_cli_shells() -> None:
    for path in sorted((PACKAGE / "services").rglob("*.py")):
        for module in imported_modules(ast.parse(path.read_text())):
            assert not module.startswith(("greenenergy.api", "greenenergy.cli", "fastapi", "typer")), (
                f"services/{path.name} imports {module}"
            )


# --- Only greenenergy/db/ speaks SQL ------------------------------------------------------

SHELL_DIRS = ["services", "api", "scheduler", "cli"]
SQL_LIBRARIES = {"sqlalchemy", "sqlmodel"}
TABLE_MODULES = "greenenergy.db.tables"  # greenenergy.db.tables and every greenenergy.db.tables_*
# Routes call services; of greenenergy.db they may name only the engine's types.
ROUTE_DIR = "api"
ROUTE_MAY_IMPORT = {"greenenergy.db.engine.Engine", "greenenergy.db.engine.Tx"}

# Known offenders, each to leave this list when it stops offending (the test fails on a
# listed file that no longer offends, so the list cannot go stale). Empty since the planting
# services moved their SQL into greenenergy/db/; a module that has to offend for a while
# goes here with the reason beside it.
SQL_ALLOWED: set[str] = set()


def shell_files() -> list[Path]:
    return [path for directory in SHELL_DIRS for path in sorted((PACKAGE / directory).rglob("*.py"))]


def imported_names(source: str) -> list[tuple[int, str, list[str]]]:
    """``(line, module, names)`` of every absolute import: ``import a.b`` -> ``(n, "a.b", [])``,
    ``from a import b, c`` -> ``(n, "a", ["a.b", "a.c"])`` (a name may be a module, as in
    ``from greenenergy.db import tables``)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module, [f"{node.module}.{alias.name}" for alias in node.names]))
    return found


def sql_offences(source: str) -> list[str]:
    """``line N imports M`` for each import of SQLAlchemy, SQLModel or the table modules."""
    offences = []
    for line, module, names in imported_names(source):
        for name in [module, *names]:
            if name.split(".")[0] in SQL_LIBRARIES or name.startswith(TABLE_MODULES):
                offences.append(f"line {line} imports {name}")
                break
    return offences


def route_offences(source: str) -> list[str]:
    """``line N imports M`` for each import of ``greenenergy.db`` but the engine's types."""
    offences = []
    for line, module, names in imported_names(source):
        if module != "greenenergy.db" and not module.startswith("greenenergy.db."):
            continue
        for name in names or [module]:
            if name not in ROUTE_MAY_IMPORT:
                offences.append(f"line {line} imports {name}")
    return offences


def relative(path: Path) -> str:
    return str(path.relative_to(PACKAGE))


def test_only_the_db_package_imports_sql() -> None:
    offending = [
        f"greenenergy/{relative(path)}: {offence}"
        for path in shell_files()
        if relative(path) not in SQL_ALLOWED
        for offence in sql_offences(path.read_text())
    ]
    assert not offending, "SQL belongs in greenenergy/db/ (a repository the service calls):\n" + "\n".join(offending)


def test_the_sql_allow_list_is_not_stale() -> None:
    stale = sorted(
        name for name in SQL_ALLOWED if not (PACKAGE / name).exists() or not sql_offences((PACKAGE / name).read_text())
    )
    assert not stale, f"these files no longer import SQL; remove them from SQL_ALLOWED: {', '.join(stale)}"


def test_routes_call_services_not_repositories() -> None:
    offending = [
        f"greenenergy/{relative(path)}: {offence}"
        for path in sorted((PACKAGE / ROUTE_DIR).rglob("*.py"))
        for offence in route_offences(path.read_text())
    ]
    assert not offending, "routes call services, which call repositories:\n" + "\n".join(offending)


def test_the_layering_checks_name_each_offence() -> None:
    """The checks above, on source that offends in each way they look for."""
    source = """
import sqlalchemy as sa
from sqlmodel import Field
from greenenergy.db import tables_forest
from greenenergy.db.tables import ApiToken
from greenenergy.db.engine import Tx, read_tx
from greenenergy.db import play_repo
import greenenergy.db.users_repo
from greenenergy.services.runtime import Runtime
"""
    assert sql_offences(source) == [
        "line 2 imports sqlalchemy",
        "line 3 imports sqlmodel",
        "line 4 imports greenenergy.db.tables_forest",
        "line 5 imports greenenergy.db.tables",
    ]
    assert route_offences(source) == [
        "line 4 imports greenenergy.db.tables_forest",
        "line 5 imports greenenergy.db.tables.ApiToken",
        "line 6 imports greenenergy.db.engine.read_tx",
        "line 7 imports greenenergy.db.play_repo",
        "line 8 imports greenenergy.db.users_repo",
    ]
    assert sql_offences("from greenenergy.db.engine import Tx\nimport greenenergy.ids\n") == []
