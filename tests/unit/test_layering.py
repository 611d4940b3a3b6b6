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
