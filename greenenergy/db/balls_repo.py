"""Storing energy balls: rows <-> ``greenenergy.forest.Ball`` values.

Writers that change a ball lock its row first (``lock_balls``, in ball_id order), before
they append to the ledger: the global lock order is event heads, balls, ledger heads,
balances.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, func, select

from greenenergy.db.bulk import db_instant, insert_tuples, update_tuples
from greenenergy.db.tables_forest import BallRow
from greenenergy.forest import Ball
from greenenergy.units import shard_of

BALLS = BallRow.__table__


def to_ball(row) -> Ball:
    return Ball(
        ball_id=row.ball_id,
        user_id=row.user_id,
        event_type=row.event_type,
        energy_g=int(row.energy_g),
        ripens_at=row.ripens_at,
        visible_at=row.visible_at,
        expires_at=row.expires_at,
        source=row.source,
        collected_g=int(row.collected_g),
        stolen_g=int(row.stolen_g),
        expired_g=int(row.expired_g),
        collected_at=row.collected_at,
        giver_id=row.giver_id,
        mint_rule=row.mint_rule,
    )


def lock_balls(connection: Connection, ball_ids: Iterable[str]) -> dict[str, Ball]:
    """Lock (PostgreSQL: FOR UPDATE, in id order) and read the balls that exist among ``ball_ids``.

    Ingestion asks for a thousand ids of which few exist yet: the ids are looked up (and
    locked) with plain driver SQL first, and only the existing rows are read as balls.
    """
    ids = sorted(set(ball_ids))
    if not ids:
        return {}
    existing: list[str] = []
    postgres = connection.dialect.name == "postgresql"
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        if postgres:
            # One primary-key probe per id (a LATERAL subquery: no plan can scan the table),
            # locking in the order of the sorted ids.
            sql = (
                "SELECT b.ball_id FROM json_array_elements_text(%s::json) WITH ORDINALITY AS w(id, i) "
                "CROSS JOIN LATERAL (SELECT ball_id FROM balls WHERE ball_id = w.id FOR UPDATE) AS b ORDER BY w.i"
            )
            params = (json.dumps(chunk),)
        else:
            sql, params = (
                "SELECT ball_id FROM balls WHERE ball_id IN (" + ", ".join("?" * len(chunk)) + ")",
                tuple(chunk),
            )
        existing.extend(ball_id for (ball_id,) in connection.exec_driver_sql(sql, params))
    found: dict[str, Ball] = {}
    for start in range(0, len(existing), 900):
        query = select(BALLS).where(BALLS.c.ball_id.in_(existing[start : start + 900]))
        for row in connection.execute(query):
            found[row.ball_id] = to_ball(row)
    return found


_BALL_COLUMNS = (
    "ball_id",
    "user_id",
    "shard",
    "event_type",
    "source",
    "energy_g",
    "collected_g",
    "stolen_g",
    "expired_g",
    "ripens_at",
    "visible_at",
    "expires_at",
    "collected_at",
    "giver_id",
    "created_at",
    "mint_rule",
)


def insert_balls(connection: Connection, balls: Sequence[Ball], *, now: datetime) -> None:
    if not balls:
        return
    memo: dict[datetime, object] = {}  # a batch's balls share a few ripening and expiry instants

    def stored(moment: datetime | None) -> object:
        if moment is None:
            return None
        value = memo.get(moment)
        if value is None:
            value = memo[moment] = db_instant(connection, moment)
        return value

    insert_tuples(
        connection,
        BALLS,
        _BALL_COLUMNS,
        [
            (
                b.ball_id,
                b.user_id,
                shard_of(b.user_id),
                b.event_type,
                b.source,
                b.energy_g,
                b.collected_g,
                b.stolen_g,
                b.expired_g,
                stored(b.ripens_at),
                stored(b.visible_at),
                stored(b.expires_at),
                stored(b.collected_at),
                b.giver_id,
                stored(now),
                b.mint_rule,
            )
            for b in balls
        ],
    )


def save_balls(connection: Connection, balls: Sequence[Ball]) -> None:
    """Write the changed grams of existing (locked) balls."""
    update_tuples(
        connection,
        BALLS,
        ("energy_g", "collected_g", "stolen_g", "expired_g", "collected_at"),
        ("ball_id",),
        [
            (
                b.energy_g,
                b.collected_g,
                b.stolen_g,
                b.expired_g,
                None if b.collected_at is None else db_instant(connection, b.collected_at),
                b.ball_id,
            )
            for b in balls
        ],
    )


def get_ball(connection: Connection, ball_id: str) -> Ball | None:
    row = connection.execute(select(BALLS).where(BALLS.c.ball_id == ball_id)).first()
    return to_ball(row) if row is not None else None


def user_balls(connection: Connection, user_id: str, *, expiring_after: datetime | None = None) -> list[Ball]:
    """A user's balls, by visible time; ``expiring_after`` keeps only those that expire later."""
    query = select(BALLS).where(BALLS.c.user_id == user_id)
    if expiring_after is not None:
        query = query.where(BALLS.c.expires_at > expiring_after)
    query = query.order_by(BALLS.c.visible_at, BALLS.c.ball_id)
    return [to_ball(row) for row in connection.execute(query)]


def grow_balls(connection: Connection, grown: Sequence[tuple[Ball, int]]) -> None:
    """Add grams to existing (locked) balls: ``(ball, grams added)``."""
    if not grown:
        return
    mark = "?" if connection.dialect.name == "sqlite" else "%s"
    connection.exec_driver_sql(
        f"UPDATE balls SET energy_g = energy_g + {mark} WHERE ball_id = {mark}",
        [(grams, ball.ball_id) for ball, grams in grown],
    )


def count_visible_between(connection: Connection, since: datetime, until: datetime) -> int:
    """Balls that became visible in ``(since, until]`` (a report of the scheduler's ``ripen``)."""
    query = select(func.count()).select_from(BALLS).where(BALLS.c.visible_at > since, BALLS.c.visible_at <= until)
    return int(connection.execute(query).scalar_one())
