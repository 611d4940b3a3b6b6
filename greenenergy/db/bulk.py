"""Fast multi-row inserts for the write paths that move thousands of rows per commit.

SQLAlchemy's executemany spends most of its time building and type-processing parameters
row by row; here the rows go to the driver's ``executemany`` directly (psycopg 3 pipelines
them; sqlite3 loops in C). Values are converted once, in exactly the form SQLAlchemy's own
types store, so rows written here read back through the tables like any other:
timestamps as naive UTC text ``YYYY-MM-DD HH:MM:SS.ffffff`` and dates as ``YYYY-MM-DD``
on SQLite, native values on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import Connection, Date, Table

from greenenergy.db.types import UTCDateTime

_SQL_CACHE: dict[tuple[str, str, tuple[str, ...]], str] = {}


def insert_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT ``rows`` (dicts with the same keys) into ``table`` in one executemany."""
    if not rows:
        return
    columns = tuple(rows[0])
    dialect = connection.dialect.name
    sql = _insert_sql(dialect, table, columns)
    if dialect == "sqlite":
        params = _sqlite_params(table, columns, rows)
    else:
        params = [tuple(row[c] for c in columns) for row in rows]
    connection.exec_driver_sql(sql, params)


def insert_tuples(connection: Connection, table: Table, columns: tuple[str, ...], rows: Sequence[tuple]) -> None:
    """INSERT ``rows`` (tuples in ``columns`` order) into ``table`` in one executemany.

    The values must already be in stored form: instants through ``db_instant`` (or None),
    dates through ``db_date``; the hot write paths convert a batch's shared instant once.
    """
    if not rows:
        return
    dialect = connection.dialect.name
    connection.exec_driver_sql(_insert_sql(dialect, table, columns), rows)


def upsert_tuples(
    connection: Connection,
    table: Table,
    columns: tuple[str, ...],
    key: tuple[str, ...],
    rows: Sequence[tuple],
) -> None:
    """INSERT ``rows`` or, where the ``key`` columns exist, overwrite the other columns.

    Values in stored form, as for ``insert_tuples``. One executemany; the caller holds the
    locks that make the absolute values it writes correct (SQLite: the write lock).
    """
    if not rows:
        return
    dialect = connection.dialect.name
    cache_key = (dialect, table.name, columns, key)
    sql = _UPSERT_CACHE.get(cache_key)
    if sql is None:
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
        sql = _UPSERT_CACHE[cache_key] = (
            _insert_sql(dialect, table, columns) + f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
        )
    connection.exec_driver_sql(sql, rows)


_UPSERT_CACHE: dict[tuple, str] = {}


def db_date(connection: Connection, day: date) -> Any:
    """``day`` as this connection's dialect stores a ``Date``: ``YYYY-MM-DD`` text on SQLite."""
    return day.isoformat() if connection.dialect.name == "sqlite" else day


def db_instant(connection: Connection, moment: datetime) -> Any:
    """``moment`` as this connection's dialect stores a ``UTCDateTime`` (see module docstring)."""
    if moment.tzinfo is None:
        raise ValueError(f"refusing to store a naive datetime {moment.isoformat()}")
    if connection.dialect.name == "sqlite":
        return sqlite_instant(moment)
    return moment


def sqlite_instant(moment: datetime) -> str:
    """An aware instant as SQLite stores a ``UTCDateTime``: naive UTC ``YYYY-MM-DD HH:MM:SS.ffffff``."""
    if moment.tzinfo is not timezone.utc:
        moment = moment.astimezone(timezone.utc)
    # isoformat is the C fast path; the first 26 characters leave out the "+00:00".
    return moment.isoformat(" ", "microseconds")[:26]


def _insert_sql(dialect: str, table: Table, columns: tuple[str, ...]) -> str:
    key = (dialect, table.name, columns)
    sql = _SQL_CACHE.get(key)
    if sql is None:
        names = ", ".join(columns)
        marks = ", ".join("?" if dialect == "sqlite" else "%s" for _ in columns)
        sql = _SQL_CACHE[key] = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"
    return sql


def _sqlite_params(table: Table, columns: tuple[str, ...], rows: Sequence[dict[str, Any]]) -> list[tuple]:
    """Rows as tuples, converting only the timestamp and date columns."""
    temporal = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, (UTCDateTime, Date))]
    if not temporal:
        return [tuple(row[c] for c in columns) for row in rows]
    memo: dict[Any, Any] = {}  # a batch repeats the same instants (its `now`) many times
    out = []
    for row in rows:
        values = [row[c] for c in columns]
        for i in temporal:
            values[i] = _sqlite_value(values[i], memo)
        out.append(tuple(values))
    return out


def _sqlite_value(value: Any, memo: dict[Any, Any]) -> Any:
    kind = type(value)
    if kind is datetime:
        text = memo.get(value)
        if text is None:
            if value.tzinfo is None:
                raise ValueError(f"refusing to store a naive datetime {value.isoformat()}")
            text = memo[value] = sqlite_instant(value)
        return text
    if kind is date:
        return value.isoformat()
    if value is not None and not isinstance(value, (datetime, date)):
        raise TypeError(f"expected a timestamp or date, got {value!r}")
    return value
