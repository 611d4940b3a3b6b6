"""Bringing a deployment up: migrate, check catalogs, demo data, serve."""

from __future__ import annotations

from sqlalchemy import func, select

from greenenergy.db.engine import read_tx
from greenenergy.db.migrate import upgrade
from greenenergy.db.tables import LedgerTransaction
from greenenergy.services.runtime import Runtime
from greenenergy.services.tokens import ROLES, create_token


def initialise(runtime: Runtime) -> list[str]:
    """Create or migrate the schema (a second run is a no-op); return what was done."""
    before, after = upgrade(runtime.engine)
    lines = []
    if before == after:
        lines.append(f"database {_where(runtime)} is up to date (revision {after})")
    else:
        lines.append(f"database {_where(runtime)} migrated from {before or 'empty'} to revision {after}")
    return lines


def _where(runtime: Runtime) -> str:
    url = runtime.engine.url
    return url.render_as_string(hide_password=True)


DEMO_SUBJECTS = {"user": "u-alice", "source": "cainiao", "partner": "alxa-see", "auditor": "auditor-1", "admin": "ops"}


def load_demo(runtime: Runtime, *, base_url: str) -> list[str]:
    """Print one fresh token per role (and, once seed data exists, load it)."""
    lines = [f"greenenergy demo on {base_url}", f"  API docs: {base_url}/docs", "  demo tokens:"]
    for role in ROLES:
        token, _ = create_token(runtime, role=role, subject=DEMO_SUBJECTS[role])
        lines.append(f"    {role:8} {DEMO_SUBJECTS[role]:10} {token}")
    with read_tx(runtime.engine) as connection:
        count = connection.execute(select(func.count()).select_from(LedgerTransaction.__table__)).scalar_one()
    lines.append(f"  ledger: {count} transactions")
    return lines

