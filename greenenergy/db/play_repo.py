"""Loading and storing the forest's write use cases (collect, steal, water, expire).

Each ``load_*`` reads, in ONE call and under the locks that keep it current, everything the
matching ``greenenergy.forest.moves.decide_*`` needs; ``store`` writes the ``Move`` it
returned, in the caller's commit. Lock order (every writer): the friendship row FOR SHARE (a
steal or watering never lands after an unfriending) < the acting users' state rows (user
order) < balls (id order) < ledger heads (shard order) < guarded balances ((account, shard)
order) < leaderboard scores ((user, period) order) < board sizes (shard order) < score
buckets (key order). The last three are written last in ``store``: bucket rows are shared
by many users, so they are held for the shortest time, up to the commit. SQLite: the
caller's ``BEGIN IMMEDIATE`` serialises writers.

Plain driver SQL with positional parameters: these are the interactive calls of the 07:00
rush, and most of their time would otherwise go to building statements.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from greenenergy.db import balls_repo, ledger_repo, score_buckets, users_repo
from greenenergy.db.bulk import db_date, db_instant
from greenenergy.db.driver import Sql
from greenenergy.db.forest_repo import LIFETIME, week_period
from greenenergy.forest.counters import Counters
from greenenergy.forest.items import ActiveEffect
from greenenergy.forest.moves import Granted, Loaded, Move, ledger_needs
from greenenergy.forest.theft import Theft
from greenenergy.forest.watering import Watering
from greenenergy.units import shard_of


def _ledger(connection: Connection, *user_ids: str) -> tuple[dict, dict]:
    shards, keys = ledger_needs(*user_ids)
    return ledger_repo.lock_for_append(connection, shards, keys)


def _held(counters: dict[str, Counters]) -> dict[str, frozenset[str]]:
    return {user_id: c.awards for user_id, c in counters.items()}


def load_collect(connection: Connection, user_id: str, ball_ids: Sequence[str] | None, now: datetime) -> Loaded:
    """For a collect of ``ball_ids`` (None: the balls ripe now) by ``user_id``. The user's
    row is read, not locked: its counters change by increments, and two collects of one
    user's balls queue on the ball rows."""
    counters = users_repo.counters(connection, [user_id])
    balls = (
        balls_repo.lock_ripe(connection, user_id, now)
        if ball_ids is None
        else balls_repo.lock_balls(connection, ball_ids)
    )
    heads, balances = _ledger(connection, user_id)
    return Loaded(counters=counters, balls=balls, heads=heads, balances=balances, awards_held=_held(counters))


def are_friends(connection: Connection, user_id: str, other_id: str) -> bool:
    """Mutual friends, with the friendship row held FOR SHARE until the commit (PostgreSQL)."""
    sql = Sql(connection)
    lock = " FOR SHARE" if sql.postgres else ""
    return (
        sql.one(f"SELECT 1 FROM friendships WHERE user_id = ? AND friend_id = ?{lock}", (user_id, other_id)) is not None
    )


def load_steal(connection: Connection, thief_id: str, ball_id: str, now: datetime) -> Loaded:
    """For a steal of ``ball_id`` by ``thief_id`` (friendship checked before, by the caller)."""
    sql = Sql(connection)
    counters = users_repo.counters(connection, [thief_id])
    balls = balls_repo.lock_balls(connection, [ball_id])
    ball = balls.get(ball_id)
    thefts: list[tuple[Theft, str]] = []
    effects: list[ActiveEffect] = []
    heads: dict = {}
    balances: dict = {}
    if ball is not None:
        for victim, thief, grams, at, reason in sql.all(
            "SELECT victim_id, thief_id, stolen_g, stolen_at, reason FROM thefts WHERE ball_id = ? ORDER BY stolen_at, theft_id",
            (ball_id,),
        ):
            thefts.append((Theft(ball_id, victim, thief, int(grams), _instant(at)), reason))
        stamp = db_instant(connection, now)
        for item_id, user_id, kind, starts, ends in sql.all(
            "SELECT item_id, user_id, kind, starts_at, ends_at FROM forest_effects WHERE user_id IN (?, ?) "
            "AND ends_at > ? AND starts_at <= ?",
            (thief_id, ball.user_id, stamp, stamp),
        ):
            effects.append(ActiveEffect(kind=kind, user_id=user_id, item_id=item_id, starts_at=_instant(starts),
                                        ends_at=_instant(ends)))  # fmt: skip
        heads, balances = _ledger(connection, ball.user_id, thief_id)
    return Loaded(
        counters=counters,
        balls=balls,
        heads=heads,
        balances=balances,
        awards_held=_held(counters),
        thefts=thefts,
        effects=effects,
    )


def load_water(connection: Connection, giver_id: str, friend_id: str, day: date) -> Loaded:
    """For a watering of ``friend_id`` by ``giver_id`` on the local ``day``."""
    counters = users_repo.counters(connection, [giver_id])
    earlier = [
        Watering(giver, friend, int(grams), _instant(at), ball_id)
        for giver, friend, grams, at, ball_id in Sql(connection).all(
            "SELECT giver_id, friend_id, energy_g, watered_at, ball_id FROM waterings WHERE giver_id = ? "
            "AND friend_id = ? AND local_day = ? ORDER BY slot",
            (giver_id, friend_id, db_date(connection, day)),
        )
    ]
    heads, balances = _ledger(connection, giver_id, friend_id)
    return Loaded(
        counters=counters,
        balls={},
        heads=heads,
        balances=balances,
        awards_held=_held(counters),
        waterings_today=earlier,
    )


def due_ball_ids(connection: Connection, now: datetime, after: str, limit: int) -> list[str]:
    """Ids of balls expired at ``now`` and neither collected nor swept, after ``after``."""
    rows = Sql(connection).all(
        "SELECT ball_id FROM balls WHERE expires_at <= ? AND collected_g = 0 AND expired_g = 0 "
        f"AND ball_id > ? ORDER BY ball_id LIMIT {int(limit)}",
        (db_instant(connection, now), after),
    )
    return [ball_id for (ball_id,) in rows]


def load_expiry(connection: Connection, ball_ids: Sequence[str]) -> Loaded:
    """For sweeping ``ball_ids`` (locked; the locked rows decide which are still due)."""
    balls = balls_repo.lock_balls(connection, ball_ids)
    owners = sorted({b.user_id for b in balls.values()})
    heads, balances = _ledger(connection, *owners) if owners else ({}, {})
    return Loaded(counters={}, balls=balls, heads=heads, balances=balances)


def store(connection: Connection, move: Move, *, now: datetime, tz: ZoneInfo) -> list[Granted]:
    """Write everything ``move`` decided (module docstring: the caller holds the locks); the
    achievements actually awarded (one awarded concurrently is not awarded twice)."""
    sql = Sql(connection)
    balls_repo.save_balls(connection, move.balls_saved)
    balls_repo.insert_balls(connection, move.balls_new, now=now)
    ledger_repo.store_write(connection, move.ledger, now=now)
    sql.many(
        "INSERT INTO thefts (theft_id, ball_id, victim_id, thief_id, shard, stolen_g, reason, stolen_at, transaction_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (theft_id, t.ball_id, t.victim_id, t.thief_id, shard_of(t.victim_id), t.stolen_g, reason,
             db_instant(connection, t.stolen_at), tx)
            for t, reason, theft_id, tx in move.thefts
        ],
    )  # fmt: skip
    sql.many(
        "INSERT INTO waterings (ball_id, giver_id, friend_id, shard, energy_g, watered_at, local_day, slot, "
        "transaction_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (w.ball_id, w.giver_id, w.friend_id, shard_of(w.giver_id), w.energy_g, db_instant(connection, w.watered_at),
             db_date(connection, day), slot, tx)
            for w, day, slot, tx in move.waterings
        ],
    )  # fmt: skip
    stored = []
    for granted in move.granted:
        award, item = granted.award, granted.item
        inserted = sql.one(
            "INSERT INTO achievement_awards (user_id, achievement_id, shard, value, threshold, awarded_at, item_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, achievement_id) DO NOTHING RETURNING user_id",
            (granted.user_id, award.achievement_id, shard_of(granted.user_id), award.value, award.threshold,
             db_instant(connection, now), item.item_id if item else None),
        )  # fmt: skip
        if inserted is None:
            continue
        stored.append(granted)
        if item is not None:
            sql.run(
                "INSERT INTO forest_items (item_id, user_id, shard, kind, granted_at, expires_at, used_at, granted_by) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (item.item_id, item.user_id, shard_of(item.user_id), item.kind, db_instant(connection, item.granted_at),
                 db_instant(connection, item.expires_at), None, f"achievement:{award.achievement_id}"),
            )  # fmt: skip
    awarded: dict[str, list[str]] = {}
    for granted in stored:
        awarded.setdefault(granted.user_id, []).append(granted.award.achievement_id)
    users_repo.save_counters(connection, move.counts, move.streaks, awarded)
    if move.scores_g:
        add_scores(connection, move.scores_g, now=now, tz=tz)
    return stored


def add_scores(connection: Connection, credits_g: dict[str, int], *, now: datetime, tz: ZoneInfo) -> None:
    """Add credited grams to the users' lifetime and weekly scores (rows in (user, period)
    order), then the board sizes and the score buckets that follow from the change.

    One upsert returns each row's new score under its row lock; the score before is the new
    one less the grams added, and a row that holds exactly the grams just added was created
    by this statement (a stored score is never 0: it only exists once grams were credited),
    so a user's first lifetime row grows the global board of its shard. The buckets move
    each changed score from the bucket of its old value to that of its new one."""
    credited = {u: g for u, g in credits_g.items() if g > 0}
    if not credited:
        return
    sql = Sql(connection)
    week = week_period(now, tz)
    rows = sorted((u, period, g) for u, g in credited.items() for period in (LIFETIME, week))
    values = ", ".join("(?, ?, ?, ?)" for _ in rows)
    params = [value for u, period, g in rows for value in (u, period, shard_of(u), g)]
    changes = [
        (user_id, period, int(score) - credited[user_id], int(score))
        for user_id, period, score in sql.all(
            f"INSERT INTO forest_scores (user_id, period, shard, score_g) VALUES {values} "
            "ON CONFLICT (user_id, period) DO UPDATE SET score_g = forest_scores.score_g + excluded.score_g "
            "RETURNING user_id, period, score_g",
            tuple(params),
        )
    ]
    grown: dict[int, int] = {}
    for user_id, period, before, _after in changes:
        if period == LIFETIME and before == 0:
            grown[shard_of(user_id)] = grown.get(shard_of(user_id), 0) + 1
    if grown:
        sql.many(
            "INSERT INTO forest_board_members (shard, members) VALUES (?, ?) "
            "ON CONFLICT (shard) DO UPDATE SET members = forest_board_members.members + excluded.members",
            sorted(grown.items()),
        )
    score_buckets.store_deltas(connection, score_buckets.deltas(changes))


def _instant(value: object) -> datetime:
    """A stored instant as read through the driver: aware on PostgreSQL, naive UTC text on SQLite."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)
