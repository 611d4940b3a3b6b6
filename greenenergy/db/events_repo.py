"""Storing accepted events and the scoring state (cap usage, running totals, blocks)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from greenenergy.audit.records import EventRecord
from greenenergy.db.bulk import insert_rows
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


def hourly_counts(
    connection: Connection, user_ids: Sequence[str], since: datetime, until: datetime
) -> dict[tuple[str, str, datetime], int]:
    """Stored events per (user, type, UTC hour) with occurred_at in [since, until)."""
    counts: dict[tuple[str, str, datetime], int] = {}
    for chunk in _chunks(sorted(set(user_ids))):
        query = select(EVENTS.c.user_id, EVENTS.c.event_type, EVENTS.c.occurred_at).where(
            EVENTS.c.user_id.in_(chunk), EVENTS.c.occurred_at >= since, EVENTS.c.occurred_at < until
        )
        for row in connection.execute(query):
            key = (row.user_id, row.event_type, row.occurred_at.replace(minute=0, second=0, microsecond=0))
            counts[key] = counts.get(key, 0) + 1
    return counts


def load_usage(connection: Connection, user_ids: Sequence[str], since: date) -> list[tuple[tuple, tuple[int, int]]]:
    rows = []
    for chunk in _chunks(sorted(set(user_ids))):
        query = select(CAPS).where(CAPS.c.user_id.in_(chunk), CAPS.c.period_start >= since)
        for row in connection.execute(query):
            key = (row.user_id, row.rule_id, row.per, row.period_start, row.key_value)
            rows.append((key, (int(row.count), int(row.energy_g))))
    return rows


def load_running(connection: Connection, user_ids: Sequence[str], since: date) -> list[tuple[tuple, int]]:
    rows = []
    for chunk in _chunks(sorted(set(user_ids))):
        query = select(RUNNING).where(RUNNING.c.user_id.in_(chunk), RUNNING.c.local_date >= since)
        for row in connection.execute(query):
            rows.append(((row.user_id, row.rule_id, row.local_date), int(row.total)))
    return rows


def _insert(connection: Connection):  # noqa: ANN202 - the dialect's insert construct
    return pg_insert if connection.dialect.name == "postgresql" else sqlite_insert


def save_usage(connection: Connection, usage: dict[tuple, tuple[int, int]]) -> None:
    """Upsert absolute cap usage values."""
    if not usage:
        return
    statement = _insert(connection)(CAPS)
    statement = statement.on_conflict_do_update(
        index_elements=[CAPS.c.user_id, CAPS.c.rule_id, CAPS.c.per, CAPS.c.period_start, CAPS.c.key_value],
        set_={"count": statement.excluded.count, "energy_g": statement.excluded.energy_g},
    )
    connection.execute(statement, [
        {"user_id": k[0], "rule_id": k[1], "per": k[2], "period_start": k[3], "key_value": k[4],
         "shard": shard_of(k[0]), "count": v[0], "energy_g": v[1]}
        for k, v in sorted(usage.items())
    ])


def save_running(connection: Connection, running: dict[tuple, int]) -> None:
    if not running:
        return
    statement = _insert(connection)(RUNNING)
    statement = statement.on_conflict_do_update(
        index_elements=[RUNNING.c.user_id, RUNNING.c.rule_id, RUNNING.c.local_date],
        set_={"total": statement.excluded.total},
    )
    connection.execute(statement, [
        {"user_id": k[0], "rule_id": k[1], "local_date": k[2], "shard": shard_of(k[0]), "total": v}
        for k, v in sorted(running.items())
    ])


def data_text(data: dict) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def insert_events(connection: Connection, records: Sequence[EventRecord]) -> None:
    if not records:
        return
    insert_rows(connection, EVENTS, [
        {"source_id": r.source_id, "event_id": r.event_id, "shard": r.shard, "seq": r.seq, "user_id": r.user_id,
         "event_type": r.event_type, "occurred_at": r.occurred_at, "ingested_at": r.ingested_at,
         "data": data_text(dict(r.data)), "energy_g": r.energy_g, "rule_ref": r.rule_ref,
         "explanation": r.explanation, "transaction_id": r.transaction_id, "ball_id": r.ball_id,
         "prev_hash": r.prev_hash, "hash": r.hash}
        for r in records
    ])


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
