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
    key = (dialect, table.name, columns)
    sql = _SQL_CACHE.get(key)
    if sql is None:
        names = ", ".join(columns)
        marks = ", ".join("?" if dialect == "sqlite" else "%s" for _ in columns)
        sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"
        _SQL_CACHE[key] = sql
    if dialect == "sqlite":
        params = _sqlite_params(table, columns, rows)
    else:
        params = [tuple(row[c] for c in columns) for row in rows]
    connection.exec_driver_sql(sql, params)


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
            text = memo[value] = value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
        return text
    if kind is date:
        return value.isoformat()
    if value is not None and not isinstance(value, (datetime, date)):
        raise TypeError(f"expected a timestamp or date, got {value!r}")
    return value
