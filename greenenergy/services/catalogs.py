"""Catalogs (rules/, trees/, partners/, achievements/) loaded once per process.

Loaded from ``settings.catalog_dir`` on first use and cached on the runtime; a bad file
raises ``CatalogError`` listing every problem as ``file:line: id: message``.
"""

from __future__ import annotations

from pathlib import Path

from greenenergy.errors import CatalogError
from greenenergy.scoring import RuleBook, check_rules, load_rules
from greenenergy.services.runtime import Runtime

RULES_KEY = "rulebook"


def rules_dir(runtime: Runtime) -> Path:
    return runtime.settings.catalog_dir / "rules"


def rulebook(runtime: Runtime) -> RuleBook:
    """The rules in force, loaded once per runtime."""
    book = runtime.cache.get(RULES_KEY)
    if book is None:
        directory = rules_dir(runtime)
        if not directory.is_dir():
            raise CatalogError([f"{directory}: no rules/ folder here; set GREENENERGY_CATALOG_DIR"])
        book = load_rules(directory, runtime.settings.zone)
        runtime.cache[RULES_KEY] = book
    return book


def problems(runtime: Runtime) -> list[str]:
    """Every problem in the catalogs (empty when all load)."""
    directory = rules_dir(runtime)
    if not directory.is_dir():
        return [f"{directory}: no rules/ folder here; set GREENENERGY_CATALOG_DIR"]
    return check_rules(directory, runtime.settings.zone)
