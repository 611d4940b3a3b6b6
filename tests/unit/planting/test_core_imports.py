"""The planting core imports no shell, never reads the wall clock, never evaluates text."""

from __future__ import annotations

import ast
from pathlib import Path

import greenenergy.planting

PACKAGE = Path(greenenergy.planting.__file__).parent
SHELLS = (
    "fastapi",
    "sqlmodel",
    "sqlalchemy",
    "apscheduler",
    "typer",
    "greenenergy.db",
    "greenenergy.services",
    "greenenergy.api",
    "greenenergy.cli",
    "greenenergy.scheduler",
    "greenenergy.config",
)


def test_no_shell_imports_no_clock_reads_no_eval():
    for path in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                names = []
            for name in names:
                assert not name.startswith(SHELLS), f"{path.name} imports {name}"
            if isinstance(node, ast.Attribute):
                assert node.attr not in ("now", "utcnow", "today"), f"{path.name}:{node.lineno} reads the clock"
            if isinstance(node, ast.Name):
                assert node.id not in ("eval", "exec"), f"{path.name}:{node.lineno} uses {node.id}"
            if isinstance(node, ast.ExceptHandler):
                assert node.type is not None, f"{path.name}:{node.lineno} has a bare except"


SERVICES = PACKAGE.parent / "services" / "planting"
ROUTES = [PACKAGE.parent / "api" / "routes" / f"{name}.py" for name in ("catalog", "trees", "partners", "audit")]
SQL = ("sqlalchemy", "sqlmodel", "greenenergy.db.tables", "greenenergy.db.bulk", "greenenergy.db.types")


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.append(node.module or "")
    return names


def test_planting_services_and_routes_speak_no_sql():
    """Only repositories (greenenergy/db) hold statements; services call them, routes call services."""
    for path in [*sorted(SERVICES.glob("*.py")), *ROUTES]:
        for name in _imports(path):
            assert not name.startswith(SQL), f"{path.name} imports {name}"
    for path in ROUTES:
        assert not any(name.startswith("greenenergy.db") for name in _imports(path)), f"{path.name} reads the db"
