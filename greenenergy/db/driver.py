"""Statements straight to the database driver, inside the caller's SQLAlchemy transaction.

The interactive calls of the 07:00 rush and the ingestion batches run a dozen statements per
request; through SQLAlchemy each costs several times what the driver itself needs (an
execution context, result set-up, events). Repositories on those paths take ``Sql(connection)``
instead: the DBAPI cursor of the same connection and transaction, statements written with
``?`` placeholders (rewritten to ``%s`` once per text for psycopg), driver errors translated
into SQLAlchemy's, so ``IntegrityError`` and ``OperationalError`` mean the same thing on every
path (``engine.in_write_tx`` retries on them).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

_PG_TEXT: dict[str, str] = {}


def _pg(sql: str) -> str:
    text = _PG_TEXT.get(sql)
    if text is None:
        text = _PG_TEXT[sql] = sql.replace("?", "%s")
    return text


class Sql:
    """The driver cursor of ``connection`` (see the module docstring)."""

    __slots__ = ("cursor", "postgres")

    def __init__(self, connection: Connection) -> None:
        self.postgres = connection.dialect.name == "postgresql"
        self.cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]

    def run(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Execute one statement; returns the cursor (iterate it, or ``fetchone``)."""
        try:
            if self.postgres:
                self.cursor.execute(_pg(sql), params)
            else:
                self.cursor.execute(sql, params)
        except (sqlite3.Error, psycopg.Error) as error:
            raise DBAPIError.instance(sql, params, error, type(error)) from error
        return self.cursor

    def many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Execute one statement for each of ``rows``."""
        rows = list(rows)
        if not rows:
            return
        try:
            if self.postgres:
                self.cursor.executemany(_pg(sql), rows)
            else:
                self.cursor.executemany(sql, rows)
        except (sqlite3.Error, psycopg.Error) as error:
            raise DBAPIError.instance(sql, rows[:1], error, type(error)) from error

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        return self.run(sql, params).fetchone()

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self.run(sql, params).fetchall()
