"""Storing energy balls: rows <-> ``greenenergy.forest.Ball`` values.

Writers that change a ball lock its row first (``lock_balls``, in ball_id order), before
they append to the ledger: the global lock order is event heads, balls, ledger heads,
balances.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, select, update

from greenenergy.db.bulk import insert_rows
from greenenergy.db.tables_forest import BallRow
from greenenergy.forest import Ball
from greenenergy.units import shard_of

BALLS = BallRow.__table__


def to_ball(row) -> Ball:  # noqa: ANN001 - a SQLAlchemy Row of the balls table
    return Ball(
        ball_id=row.ball_id, user_id=row.user_id, event_type=row.event_type, energy_g=int(row.energy_g),
        ripens_at=row.ripens_at, visible_at=row.visible_at, expires_at=row.expires_at, source=row.source,
        collected_g=int(row.collected_g), stolen_g=int(row.stolen_g), expired_g=int(row.expired_g),
        collected_at=row.collected_at, giver_id=row.giver_id,
    )


def _values(ball: Ball) -> dict[str, object]:
    return {
        "ball_id": ball.ball_id, "user_id": ball.user_id, "shard": shard_of(ball.user_id),
        "event_type": ball.event_type, "source": ball.source, "energy_g": ball.energy_g,
        "collected_g": ball.collected_g, "stolen_g": ball.stolen_g, "expired_g": ball.expired_g,
        "ripens_at": ball.ripens_at, "visible_at": ball.visible_at, "expires_at": ball.expires_at,
        "collected_at": ball.collected_at, "giver_id": ball.giver_id,
    }


def lock_balls(connection: Connection, ball_ids: Iterable[str]) -> dict[str, Ball]:
    """Lock (PostgreSQL: FOR UPDATE, in id order) and read the balls that exist among ``ball_ids``."""
    ids = sorted(set(ball_ids))
    if not ids:
        return {}
    found: dict[str, Ball] = {}
    for start in range(0, len(ids), 5000):
        query = (
            select(BALLS).where(BALLS.c.ball_id.in_(ids[start : start + 5000])).order_by(BALLS.c.ball_id).with_for_update()
        )
        for row in connection.execute(query):
            found[row.ball_id] = to_ball(row)
    return found


def insert_balls(connection: Connection, balls: Sequence[Ball], *, now: datetime) -> None:
    if balls:
        insert_rows(connection, BALLS, [dict(_values(b), created_at=now) for b in balls])


def save_balls(connection: Connection, balls: Sequence[Ball]) -> None:
    """Write the changed grams of existing (locked) balls."""
    if not balls:
        return
    connection.execute(
        update(BALLS)
        .where(BALLS.c.ball_id == bindparam("b_id"))
        .values(
            energy_g=bindparam("b_energy"), collected_g=bindparam("b_collected"), stolen_g=bindparam("b_stolen"),
            expired_g=bindparam("b_expired"), collected_at=bindparam("b_collected_at"),
        ),
        [
            {"b_id": b.ball_id, "b_energy": b.energy_g, "b_collected": b.collected_g, "b_stolen": b.stolen_g,
             "b_expired": b.expired_g, "b_collected_at": b.collected_at}
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
