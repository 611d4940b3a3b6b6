"""Storing energy balls: rows <-> ``greenenergy.forest.Ball`` values.

Writers that change a ball lock its row first (``lock_balls``, in ball_id order), before
they append to the ledger: the global lock order is event lanes, user state rows, balls,
ledger heads, balances. Statements go to the driver (``db.driver``): these are the hot paths.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection

from greenenergy.db.bulk import db_instant, insert_tuples
from greenenergy.db.driver import Sql
from greenenergy.db.tables_forest import BallRow
from greenenergy.forest import Ball
from greenenergy.units import shard_of

BALLS = BallRow.__table__
COLUMNS = (
    "ball_id",
    "user_id",
    "event_type",
    "energy_g",
    "ripens_at",
    "visible_at",
    "expires_at",
    "source",
    "collected_g",
    "stolen_g",
    "expired_g",
    "collected_at",
    "giver_id",
    "mint_rule",
)
_SELECT = "SELECT " + ", ".join(COLUMNS) + " FROM balls"


def _instant(value: object) -> datetime | None:
    """A stored instant as the driver returns it: aware (psycopg) or naive UTC text (sqlite3)."""
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo is not None else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def to_ball(row: Sequence) -> Ball:
    """A ball from a driver tuple in ``COLUMNS`` order, or from a SQLAlchemy row of the table."""
    if hasattr(row, "_mapping"):
        row = [row._mapping[name] for name in COLUMNS]
    (
        ball_id,
        user_id,
        event_type,
        energy_g,
        ripens,
        visible,
        expires,
        source,
        collected,
        stolen,
        expired,
        at,
        giver,
        rule,
    ) = row
    return Ball(
        ball_id=ball_id,
        user_id=user_id,
        event_type=event_type,
        energy_g=int(energy_g),
        ripens_at=_instant(ripens),
        visible_at=_instant(visible),
        expires_at=_instant(expires),
        source=source,
        collected_g=int(collected),
        stolen_g=int(stolen),
        expired_g=int(expired),
        collected_at=_instant(at),
        giver_id=giver,
        mint_rule=rule,
    )  # type: ignore[arg-type]


def lock_balls(connection: Connection, ball_ids: Iterable[str]) -> dict[str, Ball]:
    """Lock (PostgreSQL: FOR UPDATE, in id order) and read the balls that exist among ``ball_ids``."""
    ids = sorted(set(ball_ids))
    if not ids:
        return {}
    sql = Sql(connection)
    found: dict[str, Ball] = {}
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        if sql.postgres:
            # One primary-key probe per id (a LATERAL subquery: no plan can scan the table),
            # locking in the order of the sorted ids.
            rows = sql.all(
                "SELECT b.* FROM json_array_elements_text(?::json) WITH ORDINALITY AS w(id, i) CROSS JOIN LATERAL "
                f"({_SELECT} WHERE ball_id = w.id FOR UPDATE) AS b ORDER BY w.i",
                (json.dumps(chunk),),
            )
        else:
            rows = sql.all(f"{_SELECT} WHERE ball_id IN ({', '.join('?' * len(chunk))})", chunk)
        for row in rows:
            found[row[0]] = to_ball(row)
    return found


def lock_ripe(connection: Connection, user_id: str, now: datetime) -> dict[str, Ball]:
    """Lock and read the user's balls that may be ripe at ``now`` (visible, not expired, not
    collected or swept); the core decides on the locked rows."""
    sql = Sql(connection)
    stamp = db_instant(connection, now)
    rows = sql.all(
        f"{_SELECT} WHERE user_id = ? AND expires_at > ? AND visible_at <= ? AND collected_g = 0 AND expired_g = 0 "
        "ORDER BY ball_id" + (" FOR UPDATE" if sql.postgres else ""),
        (user_id, stamp, stamp),
    )
    return {row[0]: to_ball(row) for row in rows}


_INSERT_COLUMNS = (
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

    insert_tuples(connection, BALLS, _INSERT_COLUMNS, [
        (b.ball_id, b.user_id, shard_of(b.user_id), b.event_type, b.source, b.energy_g, b.collected_g, b.stolen_g,
         b.expired_g, stored(b.ripens_at), stored(b.visible_at), stored(b.expires_at), stored(b.collected_at),
         b.giver_id, stored(now), b.mint_rule)
        for b in balls
    ])  # fmt: skip


def save_balls(connection: Connection, balls: Sequence[Ball]) -> None:
    """Write the changed grams of existing (locked) balls."""
    Sql(connection).many(
        "UPDATE balls SET energy_g = ?, collected_g = ?, stolen_g = ?, expired_g = ?, collected_at = ? WHERE ball_id = ?",
        [
            (b.energy_g, b.collected_g, b.stolen_g, b.expired_g,
             None if b.collected_at is None else db_instant(connection, b.collected_at), b.ball_id)
            for b in balls
        ],
    )  # fmt: skip


def grow_balls(connection: Connection, grown: Sequence[tuple[Ball, int]]) -> None:
    """Add grams to existing (locked) balls: ``(ball, grams added)``."""
    Sql(connection).many(
        "UPDATE balls SET energy_g = energy_g + ? WHERE ball_id = ?", [(grams, ball.ball_id) for ball, grams in grown]
    )


def get_ball(connection: Connection, ball_id: str) -> Ball | None:
    row = Sql(connection).one(f"{_SELECT} WHERE ball_id = ?", (ball_id,))
    return to_ball(row) if row is not None else None


def user_balls(connection: Connection, user_id: str, *, expiring_after: datetime | None = None) -> list[Ball]:
    """A user's balls, by visible time; ``expiring_after`` keeps only those that expire later."""
    sql = Sql(connection)
    if expiring_after is None:
        rows = sql.all(f"{_SELECT} WHERE user_id = ? ORDER BY visible_at, ball_id", (user_id,))
    else:
        rows = sql.all(
            f"{_SELECT} WHERE user_id = ? AND expires_at > ? ORDER BY visible_at, ball_id",
            (user_id, db_instant(connection, expiring_after)),
        )
    return [to_ball(row) for row in rows]


def count_visible_between(connection: Connection, since: datetime, until: datetime) -> int:
    """Balls that became visible in ``(since, until]`` (a report of the scheduler's ``ripen``)."""
    row = Sql(connection).one(
        "SELECT COUNT(*) FROM balls WHERE visible_at > ? AND visible_at <= ?",
        (db_instant(connection, since), db_instant(connection, until)),
    )
    return int(row[0]) if row else 0
