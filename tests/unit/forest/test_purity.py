"""The forest core stays pure: no shell imports, no wall clock, no eval."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

FOREST = Path(__file__).resolve().parents[3] / "greenenergy" / "forest"
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
)


@pytest.mark.parametrize("path", sorted(FOREST.glob("*.py")), ids=lambda p: p.name)
def test_module_imports_no_shell_and_never_reads_the_clock(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    imported += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert not [name for name in imported if name.startswith(SHELLS)]
    calls = {
        node.func.attr for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert not calls & {"now", "utcnow", "today"}
    names = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    assert not names & {"eval", "exec"}
    assert not [node for node in ast.walk(tree) if isinstance(node, ast.ExceptHandler) and node.type is None]


def test_the_public_api_exports_functions_not_modules():
    import types

    from greenenergy import forest

    exported = {name: getattr(forest, name) for name in forest.__all__}
    assert not [name for name, value in exported.items() if isinstance(value, types.ModuleType)]
    assert {
        "steal",
        "water",
        "collect",
        "collect_all",
        "expire",
        "use_item",
        "evaluate",
        "rank_among",
        "build_statement",
        "NotFriends",
    } <= set(exported)
