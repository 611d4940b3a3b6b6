"""Shared bits of the benchmarks: databases to run on, timing, and a printed table.

Benchmarks print figures; they never assert on time. Each runs on SQLite (a temporary
file) and, when ``GREENENERGY_TEST_DATABASE_URL`` points at a PostgreSQL server (``make
bench`` starts a durable throw-away one through scripts/with_postgres.py), on PostgreSQL.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from greenenergy.clock import SystemClock
from greenenergy.config import load_settings
from greenenergy.db.engine import make_engine
from greenenergy.db.migrate import upgrade
from greenenergy.services.runtime import Runtime


def backends() -> list[str]:
    names = ["sqlite"]
    if os.environ.get("GREENENERGY_TEST_DATABASE_URL"):
        names.append("postgresql")
    else:
        print("(PostgreSQL skipped: run through `make bench` or scripts/with_postgres.py to include it)")
    return names


@contextmanager
def fresh_runtime(backend: str) -> Iterator[Runtime]:
    """A migrated, empty database of the given backend, dropped afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="greenenergy-bench-") as directory:
            url = f"sqlite:///{directory}/bench.db"
            yield _runtime(url)
        return
    admin_url = os.environ["GREENENERGY_TEST_DATABASE_URL"]
    name = f"ge_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield _runtime(make_url(admin_url).set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _runtime(url: str) -> Runtime:
    settings = load_settings(database_url=url, catalog_dir=ROOT)
    runtime = Runtime(settings=settings, engine=make_engine(settings.sqlalchemy_url), clock=SystemClock())
    upgrade(runtime.engine)
    return runtime


def timed(func: Callable[[], object]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def percentile(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def print_table(title: str, header: list[str], rows: list[list[object]]) -> None:
    cells = [header] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(str(row[i])) for row in cells) for i in range(len(header))]
    print(f"\n{title}")
    for n, row in enumerate(cells):
        print("  " + "  ".join(str(c).rjust(w) if n else str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if value >= 100 else f"{value:,.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
