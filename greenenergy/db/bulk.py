"""Fast multi-row reads and writes for the paths that move thousands of rows per commit.

SQLAlchemy's executemany spends most of its time building and type-processing parameters
row by row; here rows go to the driver directly, in the form each backend does best:

* SQLite: the driver's ``executemany`` (sqlite3 loops in C); a read of many keys joins a
  ``VALUES`` list, chunked under SQLite's 999 host parameters;
* PostgreSQL: inserts through ``COPY ... FROM STDIN``; upserts, updates and reads of many
  keys as ONE statement over the rows sent as one JSON parameter (``json_array_elements``)
  -- a short, constant query text (psycopg caches its conversion and the server its plan)
  and one round trip however many rows.

Values are converted once, in exactly the form SQLAlchemy's own types store, so rows
written here read back through the tables like any other: timestamps as naive UTC text
``YYYY-MM-DD HH:MM:SS.ffffff`` and dates as ``YYYY-MM-DD`` on SQLite, native values on
PostgreSQL (``db_instant`` / ``db_date``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

import psycopg
from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError

from greenenergy.db.driver import Sql

SQLITE_PARAMETERS = 900  # host parameters per statement: under SQLite's historical 999
SMALL_INSERT = 16  # PostgreSQL: up to this many rows are inserted with INSERT, more with COPY
_SQL_CACHE: dict[tuple, str] = {}


def insert_tuples(connection: Connection, table: Table, columns: tuple[str, ...], rows: Sequence[tuple]) -> None:
    """INSERT ``rows`` (tuples in ``columns`` order) into ``table``.

    The values must already be in stored form: instants through ``db_instant`` (or None),
    dates through ``db_date``; the hot write paths convert a batch's shared instant once.
    """
    if not rows:
        return
    if connection.dialect.name == "sqlite" or len(rows) <= SMALL_INSERT:
        # A few rows (an interactive call, a one-event batch): one INSERT per row through the
        # driver costs less than setting up a COPY.
        Sql(connection).many(_insert_sql(table, columns), rows)
        return
    types = _copy_types(table, columns)
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN" + (" (FORMAT BINARY)" if types else "")
    try:
        with _driver_cursor(connection) as cursor, cursor.copy(statement) as copy:
            if types:
                copy.set_types(types)
            for row in rows:
                copy.write_row(row)
    except psycopg.Error as error:
        # The driver's own cursor bypasses SQLAlchemy's exception translation: translate
        # here, so callers catch sqlalchemy.exc.IntegrityError on either backend.
        raise DBAPIError.instance(statement, None, error, psycopg.Error) from error


def upsert_tuples(
    connection: Connection,
    table: Table,
    columns: tuple[str, ...],
    key: tuple[str, ...],
    rows: Sequence[tuple],
) -> None:
    """INSERT ``rows`` or, where the ``key`` columns exist, overwrite the other columns.

    Values in stored form, as for ``insert_tuples``; no key may repeat within ``rows``. The
    caller holds the locks that make the absolute values it writes correct (SQLite: the
    write lock; PostgreSQL: the shard heads of the users the rows belong to).
    """
    if not rows:
        return
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    conflict = f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
    if connection.dialect.name == "sqlite":
        Sql(connection).many(_insert_sql(table, columns) + conflict, rows)
        return
    sql = _cached(
        ("upsert", table.name, columns, key),
        lambda: (
            f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM {_json_rows(table, columns)}"
            + conflict
        ),
    )
    connection.exec_driver_sql(sql, (_json_param(rows),))


def update_tuples(
    connection: Connection,
    table: Table,
    set_columns: tuple[str, ...],
    key: tuple[str, ...],
    rows: Sequence[tuple],
) -> None:
    """UPDATE existing rows: each row is ``(*new values of set_columns, *key values)``."""
    if not rows:
        return
    if connection.dialect.name == "sqlite":
        sql = _cached(
            ("update", "sqlite", table.name, set_columns, key),
            lambda: (
                f"UPDATE {table.name} SET {', '.join(f'{c} = ?' for c in set_columns)} "
                f"WHERE {' AND '.join(f'{c} = ?' for c in key)}"
            ),
        )
        connection.exec_driver_sql(sql, rows)
        return
    columns = set_columns + key
    sql = _cached(
        ("update", "postgresql", table.name, set_columns, key),
        lambda: (
            f"UPDATE {table.name} AS t SET {', '.join(f'{c} = w.{c}' for c in set_columns)} "
            f"FROM {_json_rows(table, columns, alias='w')} WHERE {' AND '.join(f't.{c} = w.{c}' for c in key)}"
        ),
    )
    connection.exec_driver_sql(sql, (_json_param(rows),))


def select_by_keys(
    connection: Connection,
    table: Table,
    key: tuple[str, ...],
    values: tuple[str, ...],
    keys: Sequence[tuple],
    *,
    where: str = "",
    suffix: str = "",
) -> Iterator[tuple]:
    """Rows of ``table`` whose ``key`` columns equal one of ``keys``: yields (key, *values).

    ``keys`` are tuples in stored form. ``where`` adds a condition on the table's columns
    (aliased ``t``) and the wanted key (aliased ``w``); ``suffix`` ends the query (e.g.
    ``ORDER BY ... FOR UPDATE``). Point lookups through the index on ``key``.
    """
    if not keys:
        return
    join = " AND ".join(f"t.{c} = w.{c}" for c in key)
    extra = f" AND {where}" if where else ""
    picked = ", ".join(f"t.{c}" for c in values)
    if connection.dialect.name == "sqlite":
        width = len(key) + 1
        for start in range(0, len(keys), max(1, SQLITE_PARAMETERS // width)):
            chunk = keys[start : start + max(1, SQLITE_PARAMETERS // width)]
            rows_sql = ", ".join(["(" + ", ".join("?" * width) + ")"] * len(chunk))
            sql = (
                f"WITH w(i, {', '.join(key)}) AS (VALUES {rows_sql}) "
                f"SELECT w.i, {picked} FROM w JOIN {table.name} t ON {join}{extra} {suffix}"
            )
            params = [value for index, k in enumerate(chunk) for value in (index, *k)]
            for index, *found in connection.exec_driver_sql(sql, tuple(params)):
                yield (chunk[index], *found)
        return
    # A LATERAL subquery fenced with OFFSET 0: one index probe per key whatever the
    # planner's statistics say (a plain join was planned as a hash join over the whole
    # table while autovacuum had not analysed a fast-growing one yet).
    sql = _cached(
        ("select", table.name, key, values, where, suffix),
        lambda: (
            f"SELECT w.i, t.* FROM {_json_rows(table, key, alias='w', ordinal=True)} CROSS JOIN LATERAL "
            f"(SELECT {', '.join(values)} FROM {table.name} t WHERE {join}{extra} OFFSET 0) AS t {suffix}"
        ),
    )
    for index, *found in connection.exec_driver_sql(sql, (_json_param(keys),)):
        yield (keys[index - 1], *found)


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
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    # isoformat is the C fast path; the first 26 characters leave out the "+00:00".
    return moment.isoformat(" ", "microseconds")[:26]


def _cached(key: tuple, build: Any) -> str:
    sql = _SQL_CACHE.get(key)
    if sql is None:
        sql = _SQL_CACHE[key] = build()
    return sql


def _insert_sql(table: Table, columns: tuple[str, ...]) -> str:
    return _cached(
        ("insert", table.name, columns),
        lambda: f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
    )


def _json_rows(table: Table, columns: tuple[str, ...], *, alias: str = "u", ordinal: bool = False) -> str:
    """A subquery yielding ``rows`` sent as ONE json parameter (an array of row arrays), each
    element cast to its column's type: ``(SELECT (e->>0)::<type> AS <col>, ..., [i]) AS alias``.

    One text parameter is far cheaper to send than one array per column (psycopg builds
    array parameters element by element in Python; json.dumps runs in C).
    """
    picks = ", ".join(
        f"(e->>{n})::{table.c[c].type.compile(dialect=postgresql.dialect())} AS {c}" for n, c in enumerate(columns)
    )
    if ordinal:
        return f"(SELECT {picks}, x.i FROM json_array_elements(%s::json) WITH ORDINALITY AS x(e, i)) AS {alias}"
    return f"(SELECT {picks} FROM json_array_elements(%s::json) AS x(e)) AS {alias}"


def _json_param(rows: Sequence[tuple]) -> str:
    """Rows as a JSON array of arrays; instants and dates as ISO 8601 text (with offset)."""
    return json.dumps(rows, default=_iso, ensure_ascii=False, separators=(",", ":"))


def _iso(value: object) -> str:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"cannot send {value!r} as a bulk row value")


# PostgreSQL type names of the column types the hot tables use, for binary COPY (about
# 2.7x cheaper per row than text COPY, whose formatting runs per value).
_BINARY_COPY_TYPES = {
    "SMALLINT": "int2",
    "INTEGER": "int4",
    "BIGINT": "int8",
    "TEXT": "text",
    "VARCHAR": "varchar",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "DATE": "date",
    "BOOLEAN": "bool",
}


def _copy_types(table: Table, columns: tuple[str, ...]) -> list[str] | None:
    """The binary COPY types of ``columns``, or None (text COPY) if one is not known here."""

    def name(column: str) -> str | None:
        compiled = table.c[column].type.compile(dialect=postgresql.dialect())
        return _BINARY_COPY_TYPES.get(compiled.split("(")[0])

    return _cached_types(table.name, columns, lambda: [name(c) for c in columns])


_TYPES_CACHE: dict[tuple, list[str] | None] = {}


def _cached_types(table_name: str, columns: tuple[str, ...], build: Any) -> list[str] | None:
    key = (table_name, columns)
    if key not in _TYPES_CACHE:
        names = build()
        _TYPES_CACHE[key] = None if None in names else names
    return _TYPES_CACHE[key]


def _driver_cursor(connection: Connection) -> Any:
    """A cursor of the DBAPI connection under ``connection``, inside its transaction."""
    return connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
