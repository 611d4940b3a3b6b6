"""Storing accepted events and the scoring state (cap usage, running totals, blocks)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, func, select

from greenenergy.audit.records import EventRecord
from greenenergy.db.bulk import SQLITE_PARAMETERS, db_date, db_instant, insert_tuples, select_by_keys, upsert_tuples
from greenenergy.db.tables_events import CapUsageRow, EventRejectionRow, EventRow, RunningTotalRow, UserBlockRow
from greenenergy.units import shard_of

EVENTS = EventRow.__table__
CAPS = CapUsageRow.__table__
RUNNING = RunningTotalRow.__table__
BLOCKS = UserBlockRow.__table__
REJECTIONS = EventRejectionRow.__table__
EVENTS_CHAIN = "events"
IN_CHUNK = 900  # ids per IN (...) list: under SQLite's default 999 host parameters


def _chunks(values: Sequence, size: int = IN_CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def stored_results(connection: Connection, source_id: str, event_ids: Sequence[str]) -> dict[str, object]:
    """Rows (event_id, energy_g, rule_ref, transaction_id, explanation, ball_id) of events
    already stored for ``source_id`` among ``event_ids``."""
    columns = "event_id, energy_g, rule_ref, transaction_id, explanation, ball_id"
    wanted = sorted(set(event_ids))
    if not wanted:
        return {}
    if connection.dialect.name == "postgresql":
        # One primary-key probe per id whatever the planner's statistics say: a LATERAL
        # subquery fenced with OFFSET 0 cannot be turned into a hash or merge join over the
        # whole table (`event_id = ANY(...)` was planned as a scan of all the source's events).
        rows = connection.exec_driver_sql(
            f"SELECT e.* FROM json_array_elements_text(%s::json) AS w(event_id) CROSS JOIN LATERAL (SELECT {columns} "
            f"FROM events WHERE source_id = %s AND event_id = w.event_id OFFSET 0) AS e",
            (json.dumps(wanted), source_id),
        )
        return {row.event_id: row for row in rows}
    found: dict[str, object] = {}
    for chunk in _chunks(wanted):
        sql = f"SELECT {columns} FROM events WHERE source_id = ? AND event_id IN ({', '.join('?' * len(chunk))})"
        for row in connection.exec_driver_sql(sql, (source_id, *chunk)):
            found[row.event_id] = row
    return found


def get_event(connection: Connection, source_id: str, event_id: str):
    return connection.execute(
        select(EVENTS).where(EVENTS.c.source_id == source_id, EVENTS.c.event_id == event_id)
    ).first()


_REJECTION_COLUMNS = ("source_id", "event_id", "reason", "message", "details", "rejected_at")
MAX_MESSAGE_CHARS = 500


def save_rejections(
    connection: Connection, source_id: str, rejections: Sequence[tuple[str, str, str, dict | None]], now: datetime
) -> None:
    """Store (event_id, reason, message, details) as the latest rejection of each event id."""
    stored_now = db_instant(connection, now)
    upsert_tuples(
        connection,
        REJECTIONS,
        _REJECTION_COLUMNS,
        _REJECTION_COLUMNS[:2],
        [
            (
                source_id,
                event_id,
                reason,
                message[:MAX_MESSAGE_CHARS],
                None if not details else json.dumps(details, sort_keys=True, default=str),
                stored_now,
            )
            for event_id, reason, message, details in rejections
        ],
    )


def get_rejection(connection: Connection, source_id: str, event_id: str):
    return connection.execute(
        select(REJECTIONS).where(REJECTIONS.c.source_id == source_id, REJECTIONS.c.event_id == event_id)
    ).first()


def blocked_users(connection: Connection, user_ids: Sequence[str]) -> set[str]:
    wanted = sorted(set(user_ids))
    if not wanted:
        return set()
    if connection.dialect.name == "postgresql":
        sql = "SELECT user_id FROM user_blocks WHERE user_id IN (SELECT json_array_elements_text(%s::json))"
        return {user_id for (user_id,) in connection.exec_driver_sql(sql, (json.dumps(wanted),))}
    out: set[str] = set()
    for chunk in _chunks(wanted):
        sql = f"SELECT user_id FROM user_blocks WHERE user_id IN ({', '.join('?' * len(chunk))})"
        out.update(user_id for (user_id,) in connection.exec_driver_sql(sql, tuple(chunk)))
    return out


def hourly_counts(
    connection: Connection, wanted: Sequence[tuple[str, str, datetime]]
) -> dict[tuple[str, str, datetime], int]:
    """Stored events of each wanted (user, type, UTC hour start), by occurred_at.

    Reads only the events of those users in those hours (the ``(user_id, occurred_at)``
    index, one range per wanted hour), however long the users' histories are.
    """
    counts: dict[tuple[str, str, datetime], int] = {}
    postgres = connection.dialect.name == "postgresql"
    bounds: dict[datetime, tuple[object, object]] = {}  # a batch spans few distinct hours
    for _user_id, _event_type, hour in wanted:
        if hour not in bounds:
            start, end = db_instant(connection, hour), db_instant(connection, hour + timedelta(hours=1))
            bounds[hour] = (start.isoformat(), end.isoformat()) if postgres else (start, end)
    rows = [(user_id, event_type, *bounds[hour]) for user_id, event_type, hour in wanted]
    join = (
        "JOIN events e ON e.user_id = w.user_id AND e.event_type = w.event_type"
        " AND e.occurred_at >= w.h0 AND e.occurred_at < w.h1 GROUP BY w.i"
    )
    if connection.dialect.name == "postgresql":
        if not rows:
            return counts
        # One index range per wanted hour (see stored_results for why LATERAL).
        sql = (
            "SELECT w.i, c.n FROM json_array_elements(%s::json) WITH ORDINALITY AS w(r, i) CROSS JOIN LATERAL"
            " (SELECT count(*) AS n FROM events e WHERE e.user_id = w.r->>0"
            " AND e.occurred_at >= (w.r->>2)::timestamptz AND e.occurred_at < (w.r->>3)::timestamptz"
            " AND e.event_type = w.r->>1) AS c WHERE c.n > 0"
        )
        for index, count in connection.exec_driver_sql(sql, (json.dumps(rows),)):
            counts[wanted[index - 1]] = int(count)
        return counts
    per_chunk = SQLITE_PARAMETERS // 5
    for start in range(0, len(rows), per_chunk):
        chunk = rows[start : start + per_chunk]
        sql = (
            "WITH w(i, user_id, event_type, h0, h1) AS (VALUES "
            + ", ".join(["(?, ?, ?, ?, ?)"] * len(chunk))
            + ") SELECT w.i, count(*) FROM w "
            + join
        )
        params = [value for index, row in enumerate(chunk) for value in (index, *row)]
        for index, count in connection.exec_driver_sql(sql, tuple(params)):
            counts[wanted[start + index]] = int(count)
    return counts


_USAGE_KEY = ("user_id", "rule_id", "per", "period_start", "key_value")
_RUNNING_KEY = ("user_id", "rule_id", "local_date")


def load_usage(connection: Connection, keys: Iterable[tuple]) -> list[tuple[tuple, tuple[int, int]]]:
    """The stored cap usage of exactly ``keys`` (user_id, rule_id, per, period_start, key_value)."""
    wanted = sorted({tuple(k) for k in keys})
    stored = [(k[0], k[1], k[2], db_date(connection, k[3]), k[4]) for k in wanted]
    by_stored = dict(zip(stored, wanted, strict=True))
    return [
        (by_stored[key], (int(count), int(energy_g)))
        for key, count, energy_g in select_by_keys(connection, CAPS, _USAGE_KEY, ("count", "energy_g"), stored)
    ]


def load_running(connection: Connection, keys: Iterable[tuple]) -> list[tuple[tuple, int]]:
    """The stored running totals of exactly ``keys`` (user_id, rule_id, local_date)."""
    wanted = sorted({tuple(k) for k in keys})
    stored = [(k[0], k[1], db_date(connection, k[2])) for k in wanted]
    by_stored = dict(zip(stored, wanted, strict=True))
    return [
        (by_stored[key], int(total))
        for key, total in select_by_keys(connection, RUNNING, _RUNNING_KEY, ("total",), stored)
    ]


_USAGE_COLUMNS = ("user_id", "rule_id", "per", "period_start", "key_value", "shard", "count", "energy_g")
_RUNNING_COLUMNS = ("user_id", "rule_id", "local_date", "shard", "total")


def save_usage(connection: Connection, usage: dict[tuple, tuple[int, int]]) -> None:
    """Upsert absolute cap usage values ``{(user, rule, per, period_start, key): (count, energy_g)}``."""
    days: dict[date, object] = {}  # a batch's rows share a few period starts
    for key in usage:
        if key[3] not in days:
            days[key[3]] = key[3].isoformat()  # the stored form on SQLite; read as a date on PostgreSQL
    upsert_tuples(
        connection,
        CAPS,
        _USAGE_COLUMNS,
        _USAGE_COLUMNS[:5],
        [(k[0], k[1], k[2], days[k[3]], k[4], shard_of(k[0]), v[0], v[1]) for k, v in sorted(usage.items())],
    )


def save_running(connection: Connection, running: dict[tuple, int]) -> None:
    """Upsert a day's highest running totals ``{(user, rule, local_date): total}``."""
    upsert_tuples(
        connection,
        RUNNING,
        _RUNNING_COLUMNS,
        _RUNNING_COLUMNS[:3],
        [(k[0], k[1], db_date(connection, k[2]), shard_of(k[0]), v) for k, v in sorted(running.items())],
    )


EVENT_COLUMNS = (
    "source_id",
    "event_id",
    "shard",
    "seq",
    "user_id",
    "event_type",
    "occurred_at",
    "ingested_at",
    "data",
    "energy_g",
    "rule_ref",
    "explanation",
    "transaction_id",
    "ball_id",
    "prev_hash",
    "hash",
)


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
            source_id=row.source_id,
            event_id=row.event_id,
            user_id=row.user_id,
            event_type=row.event_type,
            occurred_at=row.occurred_at,
            ingested_at=row.ingested_at,
            data=data,
            energy_g=int(row.energy_g),
            rule_ref=row.rule_ref,
            explanation=row.explanation,
            transaction_id=row.transaction_id,
            ball_id=row.ball_id,
            shard=row.shard,
            seq=row.seq,
            prev_hash=row.prev_hash,
            hash=row.hash,
        )


def block_user(connection: Connection, user_id: str, *, reason: str, by: str, now: datetime) -> bool:
    """Block ``user_id``; False if already blocked."""
    exists = connection.execute(select(BLOCKS.c.user_id).where(BLOCKS.c.user_id == user_id)).first()
    if exists:
        return False
    connection.execute(
        BLOCKS.insert().values(user_id=user_id, shard=shard_of(user_id), blocked_at=now, blocked_by=by, reason=reason)
    )
    return True


def unblock_user(connection: Connection, user_id: str) -> bool:
    return connection.execute(BLOCKS.delete().where(BLOCKS.c.user_id == user_id)).rowcount > 0


def count_events(connection: Connection) -> int:
    return int(connection.execute(select(func.count()).select_from(EVENTS)).scalar_one())
