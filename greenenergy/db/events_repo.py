"""Storing accepted events and the scoring state (cap usage, running totals, blocks)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, func, select

from greenenergy.audit.records import EventRecord
from greenenergy.db.bulk import db_date, db_instant, insert_tuples, upsert_tuples
from greenenergy.db.tables_events import CapUsageRow, EventRow, RunningTotalRow, UserBlockRow
from greenenergy.units import shard_of

EVENTS = EventRow.__table__
CAPS = CapUsageRow.__table__
RUNNING = RunningTotalRow.__table__
BLOCKS = UserBlockRow.__table__
EVENTS_CHAIN = "events"
IN_CHUNK = 900  # ids per IN (...) list: under SQLite's default 999 host parameters


def _chunks(values: Sequence, size: int = IN_CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def stored_results(connection: Connection, source_id: str, event_ids: Sequence[str]) -> dict[str, object]:
    """Rows of events already stored for ``source_id`` among ``event_ids``."""
    found: dict[str, object] = {}
    columns = (EVENTS.c.event_id, EVENTS.c.energy_g, EVENTS.c.rule_ref, EVENTS.c.transaction_id,
               EVENTS.c.explanation, EVENTS.c.ball_id)
    for chunk in _chunks(sorted(set(event_ids))):
        query = select(*columns).where(EVENTS.c.source_id == source_id, EVENTS.c.event_id.in_(chunk))
        for row in connection.execute(query):
            found[row.event_id] = row
    return found


def get_event(connection: Connection, source_id: str, event_id: str):  # noqa: ANN201 - Row | None
    return connection.execute(
        select(EVENTS).where(EVENTS.c.source_id == source_id, EVENTS.c.event_id == event_id)
    ).first()


def blocked_users(connection: Connection, user_ids: Sequence[str]) -> set[str]:
    out: set[str] = set()
    for chunk in _chunks(sorted(set(user_ids))):
        out.update(connection.execute(select(BLOCKS.c.user_id).where(BLOCKS.c.user_id.in_(chunk))).scalars())
    return out


def _values_chunks(rows: Sequence[tuple], width: int) -> Iterable[Sequence[tuple]]:
    """Rows for a ``VALUES`` list, chunked to stay under SQLite's 999 host parameters."""
    yield from _chunks(rows, max(1, IN_CHUNK // width))


def _values_sql(dialect: str, casts: tuple[str, ...], count: int) -> str:
    """``VALUES (?, ?), (?, ?)...`` for ``count`` rows; PostgreSQL gets typed placeholders."""
    if dialect == "postgresql":
        row = "(" + ", ".join("%s" + (f"::{cast}" if cast else "") for cast in casts) + ")"
    else:
        row = "(" + ", ".join("?" for _ in casts) + ")"
    return "VALUES " + ", ".join([row] * count)


def hourly_counts(
    connection: Connection, wanted: Sequence[tuple[str, str, datetime]]
) -> dict[tuple[str, str, datetime], int]:
    """Stored events of each wanted (user, type, UTC hour start), by occurred_at.

    Reads only the events of those users in those hours (the ``(user_id, occurred_at)``
    index, one range per wanted hour), however long the users' histories are.
    """
    counts: dict[tuple[str, str, datetime], int] = {}
    dialect = connection.dialect.name
    for chunk in _values_chunks(list(wanted), 5):
        params: list[object] = []
        for index, (user_id, event_type, hour) in enumerate(chunk):
            params += [index, user_id, event_type, db_instant(connection, hour),
                       db_instant(connection, hour + timedelta(hours=1))]
        sql = (
            "WITH w(i, user_id, event_type, h0, h1) AS ("
            + _values_sql(dialect, ("int", "", "", "timestamptz", "timestamptz"), len(chunk))
            + ") SELECT w.i, count(*) FROM w JOIN events e ON e.user_id = w.user_id AND e.event_type = w.event_type"
            " AND e.occurred_at >= w.h0 AND e.occurred_at < w.h1 GROUP BY w.i"
        )
        for index, count in connection.exec_driver_sql(sql, tuple(params)):
            counts[chunk[int(index)]] = int(count)
    return counts


def load_usage(connection: Connection, keys: Iterable[tuple]) -> list[tuple[tuple, tuple[int, int]]]:
    """The stored cap usage of exactly ``keys`` (user_id, rule_id, per, period_start, key_value)."""
    return [((k[0], k[1], k[2], k[3], k[4]), (int(count), int(energy_g)))
            for k, count, energy_g in _load_keyed(connection, "cap_usage", ("user_id", "rule_id", "per", "period_start",
                                                                          "key_value"), ("count", "energy_g"), keys)]


def load_running(connection: Connection, keys: Iterable[tuple]) -> list[tuple[tuple, int]]:
    """The stored running totals of exactly ``keys`` (user_id, rule_id, local_date)."""
    return [((k[0], k[1], k[2]), int(total))
            for k, total in _load_keyed(connection, "running_totals", ("user_id", "rule_id", "local_date"),
                                        ("total",), keys)]


def _load_keyed(connection: Connection, table: str, key_columns: tuple[str, ...], value_columns: tuple[str, ...],
                keys: Iterable[tuple]) -> Iterable[tuple]:
    """Rows of ``table`` whose primary key is one of ``keys``: yields (key, *values).

    A ``VALUES`` list joined on the primary key: point lookups, one statement per chunk.
    """
    ordered = sorted({tuple(k) for k in keys})
    dialect = connection.dialect.name
    casts = tuple("date" if isinstance(v, date) else "" for v in ordered[0]) if ordered else ()
    width = len(key_columns) + 1
    for chunk in _values_chunks(ordered, width):
        params: list[object] = []
        for index, key in enumerate(chunk):
            params.append(index)
            params += [v.isoformat() if isinstance(v, date) and dialect == "sqlite" else v for v in key]
        join = " AND ".join(f"t.{c} = w.{c}" for c in key_columns)
        sql = (
            f"WITH w(i, {', '.join(key_columns)}) AS ("
            + _values_sql(dialect, ("int", *casts), len(chunk))
            + f") SELECT w.i, {', '.join('t.' + c for c in value_columns)} FROM w JOIN {table} t ON {join}"
        )
        for index, *values in connection.exec_driver_sql(sql, tuple(params)):
            yield (chunk[int(index)], *values)


_USAGE_COLUMNS = ("user_id", "rule_id", "per", "period_start", "key_value", "shard", "count", "energy_g")
_RUNNING_COLUMNS = ("user_id", "rule_id", "local_date", "shard", "total")


def save_usage(connection: Connection, usage: dict[tuple, tuple[int, int]]) -> None:
    """Upsert absolute cap usage values ``{(user, rule, per, period_start, key): (count, energy_g)}``."""
    upsert_tuples(connection, CAPS, _USAGE_COLUMNS, _USAGE_COLUMNS[:5], [
        (k[0], k[1], k[2], db_date(connection, k[3]), k[4], shard_of(k[0]), v[0], v[1])
        for k, v in sorted(usage.items())
    ])


def save_running(connection: Connection, running: dict[tuple, int]) -> None:
    """Upsert a day's highest running totals ``{(user, rule, local_date): total}``."""
    upsert_tuples(connection, RUNNING, _RUNNING_COLUMNS, _RUNNING_COLUMNS[:3], [
        (k[0], k[1], db_date(connection, k[2]), shard_of(k[0]), v) for k, v in sorted(running.items())
    ])


EVENT_COLUMNS = ("source_id", "event_id", "shard", "seq", "user_id", "event_type", "occurred_at", "ingested_at",
                 "data", "energy_g", "rule_ref", "explanation", "transaction_id", "ball_id", "prev_hash", "hash")


def insert_event_rows(connection: Connection, rows: Sequence[tuple]) -> None:
    """Insert accepted events: tuples in ``EVENT_COLUMNS`` order, instants in stored form."""
    insert_tuples(connection, EVENTS, EVENT_COLUMNS, rows)


def event_chain_records(connection: Connection, shard: int) -> Iterable[EventRecord]:
    """One shard's accepted events in seq order, as chain records (for audit verify)."""
    query = select(EVENTS).where(EVENTS.c.shard == shard).order_by(EVENTS.c.seq)
    for row in connection.execute(query):
        try:
            data = json.loads(row.data)
        except json.JSONDecodeError:
            data = {"unparseable_data": row.data}
        yield EventRecord(
            source_id=row.source_id, event_id=row.event_id, user_id=row.user_id, event_type=row.event_type,
            occurred_at=row.occurred_at, ingested_at=row.ingested_at, data=data, energy_g=int(row.energy_g),
            rule_ref=row.rule_ref, explanation=row.explanation, transaction_id=row.transaction_id,
            ball_id=row.ball_id, shard=row.shard, seq=row.seq, prev_hash=row.prev_hash, hash=row.hash,
        )


def block_user(connection: Connection, user_id: str, *, reason: str, by: str, now: datetime) -> bool:
    """Block ``user_id``; False if already blocked."""
    exists = connection.execute(select(BLOCKS.c.user_id).where(BLOCKS.c.user_id == user_id)).first()
    if exists:
        return False
    connection.execute(BLOCKS.insert().values(user_id=user_id, shard=shard_of(user_id), blocked_at=now,
                                              blocked_by=by, reason=reason))
    return True


def unblock_user(connection: Connection, user_id: str) -> bool:
    return connection.execute(BLOCKS.delete().where(BLOCKS.c.user_id == user_id)).rowcount > 0


def count_events(connection: Connection) -> int:
    return int(connection.execute(select(func.count()).select_from(EVENTS)).scalar_one())
