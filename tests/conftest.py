"""Shared fixtures: a fresh, migrated database per test on SQLite or PostgreSQL.

The backend is chosen by ``GREENENERGY_TEST_DATABASE_URL``: unset, every test gets its own
SQLite file (copied from a template migrated once per session); set to a PostgreSQL URL
(``make test`` does this through scripts/with_postgres.py), every test gets its own
database created from a migrated template. Tests that use a database are marked ``db``, so
the PostgreSQL pass runs exactly those (``pytest -m db``).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from greenenergy.api.app import create_app
from greenenergy.clock import ManualClock
from greenenergy.config import load_settings
from greenenergy.db.engine import make_engine
from greenenergy.db.migrate import upgrade
from greenenergy.services.runtime import Runtime

settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "ci", deadline=None, derandomize=True, print_blob=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))

PG_URL = os.environ.get("GREENENERGY_TEST_DATABASE_URL")
BACKEND = "postgresql" if PG_URL else "sqlite"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai
DB_FIXTURES = {"database_url", "runtime", "engine", "client"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests that use a database ``db``; leave the PostgreSQL-only ones out of a
    SQLite run (deselected, not skipped: the PostgreSQL pass of ``make test`` runs them)."""
    for item in items:
        if DB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)
    if BACKEND == "sqlite":
        elsewhere = [item for item in items if item.get_closest_marker("postgres_only")]
        if elsewhere:
            config.hook.pytest_deselected(items=elsewhere)
            items[:] = [item for item in items if not item.get_closest_marker("postgres_only")]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "db: uses a database (runs on SQLite and on PostgreSQL)")


def pytest_report_header() -> str:
    return f"greenenergy test database backend: {BACKEND}"


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if PG_URL is None:
        path = tmp_path_factory.mktemp("template") / "template.db"
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        yield str(path)
        return
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"ge_template_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
    upgrade(engine)
    engine.dispose()
    yield name
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def database_url(_template: str, tmp_path: Path) -> Iterator[str]:
    if PG_URL is None:
        target = tmp_path / "greenenergy.db"
        shutil.copyfile(_template, target)
        yield f"sqlite:///{target}"
        return
    name = f"ge_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{_template}"'))
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def runtime(database_url: str, clock: ManualClock) -> Iterator[Runtime]:
    settings_ = load_settings(database_url=database_url, catalog_dir=PROJECT_ROOT)
    rt = Runtime(settings=settings_, engine=make_engine(settings_.sqlalchemy_url), clock=clock)
    yield rt
    rt.close()


@pytest.fixture
def engine(runtime: Runtime):
    return runtime.engine


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), raise_server_exceptions=False) as test_client:
        yield test_client
