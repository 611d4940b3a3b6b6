"""Storing accepted events, latest rejections and blocked users; loading and storing one
ingestion batch (``load_batch`` / ``store_batch``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, Row, select

from greenenergy.db import balls_repo, users_repo
from greenenergy.db.bulk import db_instant, insert_tuples, sqlite_instant, upsert_tuples
from greenenergy.db.chains import acquire_event_lane, lock_heads, store_heads
from greenenergy.db.tables import ChainHead
from greenenergy.db.tables_events import EventRejectionRow, EventRow, UserBlockRow
from greenenergy.ingestion import Decision, EventRecord, Loaded, Needs, StoredResult, data_text
from greenenergy.units import shard_of

EVENTS = EventRow.__table__
HEADS = ChainHead.__table__
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


def get_event(connection: Connection, source_id: str, event_id: str) -> Row | None:
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


def get_rejection(connection: Connection, source_id: str, event_id: str) -> Row | None:
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


def event_chain_records(connection: Connection, shard: int, lane: int = 0) -> Iterable[EventRecord]:
    """One chain (shard, lane) of accepted events in seq order, as records (for audit verify)."""
    query = select(EVENTS).where(EVENTS.c.shard == shard, EVENTS.c.lane == lane).order_by(EVENTS.c.seq)
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
            lane=row.lane,
            seq=row.seq,
            format=row.format,
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


# One ingestion batch: load what ``Prepared.needs`` names, store a ``Decision``. -----------


def load_batch(connection: Connection, source_id: str, needs: Needs) -> Loaded:
    """Everything ``ingestion.decide`` needs for a batch, current under the batch's locks.

    Order (the global lock order): an events lane; the users' state rows; only then the
    stored results of the request's event ids -- a concurrent batch carrying one of them for
    the same user has committed by now, so it is seen as a duplicate, never written twice --
    the blocked users, the balls the events may join (locked), and the lane's heads.
    """
    lane = acquire_event_lane(connection)
    users = users_repo.lock_ingest_states(connection, needs.user_ids)
    stored = {
        row.event_id: StoredResult(
            row.event_id, int(row.energy_g), row.rule_ref, row.transaction_id, row.explanation, row.ball_id
        )
        for row in stored_results(connection, source_id, needs.event_ids).values()
    }
    return Loaded(
        stored=stored,
        users=users,
        blocked=frozenset(blocked_users(connection, needs.user_ids)),
        balls=balls_repo.lock_balls(connection, needs.ball_ids),
        lane=lane,
        heads=lock_heads(connection, EVENTS_CHAIN, list(needs.shards), lane=lane, lock=False),
    )


EVENT_COLUMNS = (
    "source_id",
    "event_id",
    "shard",
    "lane",
    "seq",
    "format",
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


def store_batch(connection: Connection, source_id: str, decision: Decision, now: datetime) -> None:
    """Write a decided batch: events, balls, user states, chain heads, latest rejections."""
    sqlite = connection.dialect.name == "sqlite"
    stored_now = db_instant(connection, now)
    rows = []
    for record in decision.events:
        occurred = record.occurred_at
        rows.append((
            source_id, record.event_id, record.shard, record.lane, record.seq, record.format, record.user_id,
            record.event_type, sqlite_instant(occurred) if sqlite else occurred, stored_now, data_text(record.data),
            record.energy_g, record.rule_ref, record.explanation, None, record.ball_id, record.prev_hash, record.hash,
        ))  # fmt: skip
    insert_tuples(connection, EVENTS, EVENT_COLUMNS, rows)
    balls_repo.insert_balls(connection, decision.new_balls, now=now)
    balls_repo.grow_balls(connection, decision.grown_balls)
    users_repo.save_ingest_states(connection, decision.users)
    if decision.heads:
        store_heads(connection, EVENTS_CHAIN, decision.heads, lane=decision.lane)
    save_rejections(
        connection,
        source_id,
        [(r.event_id, r.reason or "", r.message or "", r.details) for r in decision.rejections],
        now,
    )
