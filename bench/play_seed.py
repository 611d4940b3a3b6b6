"""EVERY internal import of bench/play.py lives here: re-point these when the internals move.

bench/play.py talks to the product over HTTP only. What HTTP cannot do, or cannot do fast
enough, goes through the small functions below, which are the only code of the benchmark
that imports ``greenenergy`` modules other than through bench/common.py:

* ``fresh_database`` / ``database_url`` / ``release``: a migrated, empty database per backend
  (bench/common.py's ``fresh_runtime``);
* ``make_tokens``: bearer tokens (``services.tokens.create_token``, what ``greenenergy token
  create`` calls);
* ``fund``: spendable energy for redemptions, minted straight to ``user:<id>:available``
  through the ledger service (as bench/planting.py's ``fund``);
* ``create_floor_tables``: the bench-only tables of the floor endpoint;
* ``load_scores``: 1,000,000 leaderboard scores and one user's 5,000 friendships, bulk-loaded
  (as bench/forest.py's ``load_scores``);
* ``app``: the ASGI factory uvicorn runs (``--factory play_seed:app``): the real app of
  ``create_app`` plus the bench endpoints below, with the same token dependency.

Bench endpoints (mounted on the real app, so the same middleware, error handling and token
resolution run):

* ``POST /bench/floor/{user_id}`` ``{"friend_id", "energy_g"}``: the user's own token (as
  watering); ONE write transaction (``db.engine.write_tx``) that updates two rows of
  ``bench_accounts`` and inserts one into ``bench_log``: the floor of an interactive write;
* ``GET /bench/floor/{user_id}``: one indexed read of ``bench_accounts``: the floor of a read;
* ``GET /bench/sql``: SQL statements and transactions this process has run so far, counted
  by SQLAlchemy event listeners on the app's engine (``BEGIN`` and ``COMMIT`` are not counted
  as statements); no token.
"""

from __future__ import annotations

import itertools
import os
import random
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from common import fresh_runtime
from fastapi import FastAPI
from pydantic import BaseModel, Field
from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, event, insert, select, update

from greenenergy.api.app import create_app
from greenenergy.api.deps import CurrentPrincipal
from greenenergy.api.gc_tuning import tune_for_serving
from greenenergy.config import load_settings
from greenenergy.db import forest_repo
from greenenergy.db.engine import read_tx, write_tx
from greenenergy.errors import Forbidden
from greenenergy.ledger import transfer, user_account
from greenenergy.services import ledger
from greenenergy.services.runtime import Runtime
from greenenergy.services.tokens import create_token
from greenenergy.units import shard_of

Database = Runtime  # what play.py holds: opaque, passed back to the functions here

# --- databases and tokens ---------------------------------------------------------------


@contextmanager
def fresh_database(backend: str) -> Iterator[Database]:
    """A migrated, empty database of ``backend`` (``sqlite`` or ``postgresql``), dropped afterwards."""
    with fresh_runtime(backend) as runtime:
        try:
            yield runtime
        finally:
            runtime.close()


def database_url(db: Database) -> str:
    return db.settings.database_url


def release(db: Database) -> None:
    """Close the set-up process's connections (the server has its own)."""
    db.engine.dispose()


def make_tokens(db: Database, role: str, subjects: list[str], threads: int = 8) -> dict[str, str]:
    """One bearer token per subject (``greenenergy token create --role ROLE --subject ID``)."""

    def one(subject: str) -> tuple[str, str]:
        return subject, create_token(db, role=role, subject=subject)[0]

    with ThreadPoolExecutor(threads) as pool:
        return dict(pool.map(one, subjects))


def fund(db: Database, users: list[str], energy_g: int) -> None:
    """Mint ``energy_g`` to each user's available energy (ledger service, 500 users per commit)."""
    for start in range(0, len(users), 500):
        ledger.post(
            db,
            [
                transfer(
                    "mint",
                    debit="mint:bench",
                    credit=user_account(u, "available"),
                    energy_g=energy_g,
                    shard=shard_of(u),
                )
                for u in users[start : start + 500]
            ],
        )


# --- the floor: bench-only tables and endpoints -------------------------------------------

FLOOR = MetaData()
ACCOUNTS = Table(
    "bench_accounts", FLOOR, Column("id", String(64), primary_key=True), Column("balance", BigInteger, nullable=False)
)
LOG = Table(
    "bench_log",
    FLOOR,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("src", String(64), nullable=False),
    Column("dst", String(64), nullable=False),
    Column("energy_g", Integer, nullable=False),
)


def create_floor_tables(db: Database, accounts: list[str], balance: int = 1_000_000) -> None:
    FLOOR.create_all(db.engine)
    with write_tx(db.engine) as connection:
        connection.execute(insert(ACCOUNTS), [{"id": a, "balance": balance} for a in accounts])


class FloorRequest(BaseModel):
    friend_id: str = Field(min_length=1, max_length=64)
    energy_g: int


class SqlCounter:
    """Statements and transactions run on an engine: transactions by a SQLAlchemy listener;
    statements at the driver, since the hot paths send theirs to the DBAPI cursor directly
    (greenenergy.db.driver) -- SQLite's trace callback on every new connection, and on
    PostgreSQL psycopg's cursor methods wrapped in this (bench) process. BEGIN, COMMIT and
    ROLLBACK are not counted; each row of an executemany is one statement."""

    def __init__(self, engine: Any) -> None:
        self.statements = 0
        self.transactions = 0
        self.lock = threading.Lock()
        event.listen(engine, "begin", self._begin)
        if engine.dialect.name == "sqlite":
            engine.dispose()  # new connections get the trace callback
            event.listen(engine, "connect", lambda dbapi, _record: dbapi.set_trace_callback(self._traced))
        else:
            self._wrap_psycopg()

    def _count(self, n: int = 1) -> None:
        with self.lock:
            self.statements += n

    def _traced(self, statement: str) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            self._count()

    def _wrap_psycopg(self) -> None:
        import psycopg

        counter = self
        execute, executemany, copy = psycopg.Cursor.execute, psycopg.Cursor.executemany, psycopg.Cursor.copy

        def counted_execute(cursor: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            counter._traced(query if isinstance(query, str) else "SELECT")
            return execute(cursor, query, *args, **kwargs)

        def counted_executemany(cursor: Any, query: Any, params_seq: Any, *args: Any, **kwargs: Any) -> Any:
            rows = list(params_seq)
            counter._count(len(rows))
            return executemany(cursor, query, rows, *args, **kwargs)

        def counted_copy(cursor: Any, *args: Any, **kwargs: Any) -> Any:
            counter._count()
            return copy(cursor, *args, **kwargs)

        psycopg.Cursor.execute = counted_execute  # type: ignore[method-assign]
        psycopg.Cursor.executemany = counted_executemany  # type: ignore[method-assign]
        psycopg.Cursor.copy = counted_copy  # type: ignore[method-assign]

    def _begin(self, _conn: Any) -> None:
        with self.lock:
            self.transactions += 1


def app() -> FastAPI:
    """The real app (``create_app``) plus the bench endpoints; for ``uvicorn --factory``."""
    runtime = Runtime.from_settings(load_settings(database_url=os.environ["BENCH_DATABASE_URL"]))
    counter = SqlCounter(runtime.engine)
    application = create_app(runtime)
    # Unique across uvicorn worker processes.
    log_ids = itertools.count(os.getpid() * 1_000_000_000 + random.randrange(1_000_000) * 1000)

    @application.post("/bench/floor/{user_id}")
    def floor_write(user_id: str, body: FloorRequest, principal: CurrentPrincipal) -> dict[str, object]:
        if principal.role != "user" or principal.subject != user_id:
            raise Forbidden("only the user's own token", code="not_yours")
        log_id = next(log_ids)
        with write_tx(runtime.engine) as connection:
            connection.execute(
                update(ACCOUNTS).where(ACCOUNTS.c.id == user_id).values(balance=ACCOUNTS.c.balance - body.energy_g)
            )
            connection.execute(
                update(ACCOUNTS)
                .where(ACCOUNTS.c.id == body.friend_id)
                .values(balance=ACCOUNTS.c.balance + body.energy_g)
            )
            connection.execute(insert(LOG).values(id=log_id, src=user_id, dst=body.friend_id, energy_g=body.energy_g))
        return {"log_id": log_id}

    @application.get("/bench/floor/{user_id}")
    def floor_read(user_id: str, principal: CurrentPrincipal) -> dict[str, object]:
        if principal.role != "user" or principal.subject != user_id:
            raise Forbidden("only the user's own token", code="not_yours")
        with read_tx(runtime.engine) as connection:
            balance = connection.execute(select(ACCOUNTS.c.balance).where(ACCOUNTS.c.id == user_id)).scalar()
        return {"user_id": user_id, "balance": balance}

    @application.get("/bench/sql")
    def sql_counts() -> dict[str, int]:
        return {"statements": counter.statements, "transactions": counter.transactions}

    tune_for_serving()  # as `greenenergy serve` does
    return application


# --- leaderboards --------------------------------------------------------------------------


def load_scores(db: Database, users: int, friends: int) -> tuple[str, str]:
    """Bulk-load ``users`` scores and the focus user's ``friends`` friendships; (focus, lowest user).

    The same data as bench/forest.py's ``load_scores``: a lifetime score for every user and a
    weekly one for 70 % of them, the focus user ``u0000000`` at a median lifetime score with
    friends spread over the whole population (both edges of each friendship).
    """
    rng = random.Random(42)
    week = forest_repo.week_period(db.clock.now(), db.settings.zone)
    rows = []
    for n in range(users):
        user = f"u{n:07d}"
        lifetime = rng.randint(1, 500_000)
        rows.append((user, forest_repo.LIFETIME, shard_of(user), lifetime))
        if rng.random() < 0.7:
            rows.append((user, week, shard_of(user), rng.randint(1, min(lifetime, 20_000))))
    focus = "u0000000"
    lowest = min((r for r in rows if r[1] == forest_repo.LIFETIME and r[0] != focus), key=lambda r: r[3])[0]
    with write_tx(db.engine) as connection:
        if connection.dialect.name == "postgresql":
            raw = connection.connection.driver_connection
            with raw.cursor().copy("COPY forest_scores (user_id, period, shard, score_g) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            for start in range(0, len(rows), 50_000):
                connection.exec_driver_sql(
                    "INSERT INTO forest_scores (user_id, period, shard, score_g) VALUES (?, ?, ?, ?)",
                    rows[start : start + 50_000],
                )
        connection.exec_driver_sql(
            f"UPDATE forest_scores SET score_g = 250000 WHERE user_id = '{focus}' AND period = 'lifetime'"
        )
        forest_repo.rebuild_boards(connection)  # COPY bypassed the board sizes and score buckets
        mates = rng.sample(range(1, users), min(friends, users - 1))
        asks = [pair for m in mates for pair in ((focus, f"u{m:07d}"), (f"u{m:07d}", focus))]
        forest_repo.insert_asks(connection, asks, now=db.clock.now())
    with db.engine.connect() as connection:  # fresh statistics, and PostgreSQL's visibility map
        if connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
        else:
            connection.exec_driver_sql("ANALYZE")
    return focus, lowest
