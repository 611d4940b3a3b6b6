"""Engines and transactions for SQLite (embedded default) and PostgreSQL.

SQLite: WAL journal, a busy timeout, foreign keys on; pysqlite's own transaction handling
is switched off so that we emit ``BEGIN`` ourselves -- ``BEGIN IMMEDIATE`` for writes, which
takes the write lock up front, so two writers never both read a balance and then both debit
it. PostgreSQL: READ COMMITTED plus explicit row locks (``SELECT ... FOR UPDATE``) taken in
one global order (shard heads, then balances) so concurrent writers cannot deadlock.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import IntegrityError, OperationalError

from greenenergy.errors import Busy

T = TypeVar("T")
# The two types services name without importing SQLAlchemy: ``Engine`` (a ``Runtime``'s
# database) and ``Tx``, the connection of a transaction, passed on to the repositories.
Tx = Connection
__all__ = ["Engine", "Tx", "in_write_tx", "make_engine", "ping", "read_tx", "write_tx"]

WRITE_OPTION = "greenenergy_write"
SQLITE_BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url, **kwargs)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    options: dict[str, Any] = {"pool_size": 20, "max_overflow": 20, "pool_pre_ping": True}
    options.update(kwargs)
    return create_engine(url, **options)


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        **kwargs,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # A larger page cache and memory-mapped reads: batches touch indexes all over the file.
        cursor.execute("PRAGMA cache_size=-65536")
        # A batch of 1,000 ingested events appends ~10 MB of index pages to the WAL; with the
        # default threshold (1,000 pages = 4 MB) nearly every commit also ran a checkpoint
        # (and its fsync). 10,000 pages lets pages rewritten by consecutive batches be copied
        # back once; journal_size_limit trims the WAL file after a checkpoint.
        cursor.execute("PRAGMA wal_autocheckpoint=10000")
        cursor.execute(f"PRAGMA journal_size_limit={64 * 1024 * 1024}")
        cursor.execute("PRAGMA mmap_size=268435456")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@contextmanager
def write_tx(engine: Engine) -> Iterator[Connection]:
    """One write transaction: commits on success, rolls back on any exception.

    SQLite has one writer at a time. Within a process, writers queue on a lock and the next
    one starts the moment the previous one commits; left to SQLite alone, a waiting writer
    polls through its busy handler, sleeping up to 100 ms between tries, while the database
    sits idle. Writers of other processes still wait through ``busy_timeout``.
    """
    lock = _sqlite_writer_lock(engine)
    with lock, engine.connect() as connection:
        connection.execution_options(**{WRITE_OPTION: True})
        with connection.begin():
            yield connection


_WRITER_LOCKS: dict[str, threading.RLock] = {}
_WRITER_LOCKS_GUARD = threading.Lock()


def _sqlite_writer_lock(engine: Engine) -> threading.RLock | nullcontext:
    lock = _ENGINE_LOCKS.get(engine)
    if lock is not None:
        return lock
    if engine.dialect.name != "sqlite":
        lock = _ENGINE_LOCKS[engine] = nullcontext()
        return lock
    database = engine.url.database or ":memory:"
    key = database if database == ":memory:" else os.path.realpath(database)
    with _WRITER_LOCKS_GUARD:
        lock = _ENGINE_LOCKS[engine] = _WRITER_LOCKS.setdefault(key, threading.RLock())
    return lock


_ENGINE_LOCKS: weakref.WeakKeyDictionary[Engine, Any] = weakref.WeakKeyDictionary()  # engine -> its lock, found once


def in_write_tx(engine: Engine, work: Callable[[Connection], T], *, attempts: int = 3) -> T:
    """Run ``work(connection)`` in one write transaction; run it again, from the start and in
    a new transaction, when it lost a race that a fresh read settles: a unique key another
    writer stored first (an idempotency key, an event id, a watering slot), a PostgreSQL
    serialization failure or deadlock. ``work`` must load what it decides on, so a second run
    sees what the winner wrote. After ``attempts`` lost races: ``Busy`` (safe to send again).
    """
    for _attempt in range(attempts):
        try:
            with write_tx(engine) as connection:
                return work(connection)
        except (IntegrityError, OperationalError) as error:
            if isinstance(error, OperationalError) and not _is_serialization_failure(error):
                raise
    raise Busy("this change lost a race with concurrent writers several times; send the request again")


def _is_serialization_failure(error: OperationalError) -> bool:
    code = getattr(error.orig, "sqlstate", None)
    return code in ("40001", "40P01")  # serialization_failure, deadlock_detected


@contextmanager
def read_tx(engine: Engine) -> Iterator[Connection]:
    """One read transaction (a consistent snapshot on SQLite WAL; READ COMMITTED on PostgreSQL)."""
    with engine.connect() as connection, connection.begin():
        yield connection


def ping(connection: Connection) -> str:
    """One round trip (``SELECT 1``) on ``connection``; the database's kind (``sqlite``, ``postgresql``)."""
    connection.execute(text("SELECT 1"))
    return connection.dialect.name
