"""Storing the social game: friend asks and friendships, thefts, waterings, items, effects,
awards, leaderboard scores and board sizes.

Rows <-> the frozen values of ``greenenergy.forest``. Every function works on the caller's
connection; the caller (a service) owns the commit and takes locks in this order: the pair
lock of a friendship (asks, unfriending) or the friendship row FOR SHARE (steal, water) <
balls (``balls_repo.lock_balls``) < items < scores (user, period order) < board sizes (shard
order) < ledger (``ledger_repo.post_transactions``, last). Scores are upserted with
``score = score + delta``, so concurrent credits to one user queue on the row and add up.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, case, delete, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from greenenergy.db.ledger_repo import POSTINGS, TX
from greenenergy.db.tables_forest import (
    AchievementAwardRow,
    BoardMembersRow,
    EffectRow,
    FriendEdgeRow,
    FriendshipRow,
    ItemRow,
    ScoreRow,
    TheftRow,
    WateringRow,
)
from greenenergy.forest import ActiveEffect, Item, Theft, Watering
from greenenergy.ledger import user_account
from greenenergy.periods import period_start
from greenenergy.units import shard_of

EDGES = FriendEdgeRow.__table__
FRIENDS = FriendshipRow.__table__
THEFTS = TheftRow.__table__
WATERINGS = WateringRow.__table__
ITEMS = ItemRow.__table__
EFFECTS = EffectRow.__table__
AWARDS = AchievementAwardRow.__table__
SCORES = ScoreRow.__table__
MEMBERS = BoardMembersRow.__table__

LIFETIME = "lifetime"


def _insert(connection: Connection):
    return pg_insert if connection.dialect.name == "postgresql" else sqlite_insert


def order_codepoint(connection: Connection, column):
    """``column`` ordered by code point, as ``forest.leaderboard`` orders ties: SQLite's default
    BINARY collation already is; a PostgreSQL database may have a linguistic default."""
    return column.collate("C") if connection.dialect.name == "postgresql" else column


# Friends ----------------------------------------------------------------------------------


def lock_pair(connection: Connection, user_id: str, other_id: str) -> None:
    """Serialise writers of one pair's asks and friendship until the commit.

    PostgreSQL: a transaction-scoped advisory lock keyed by the unordered pair (a rare key
    collision only makes two unrelated pairs wait for each other). SQLite: ``BEGIN
    IMMEDIATE`` already serialises every writer.
    """
    if connection.dialect.name == "postgresql":
        low, high = sorted((user_id, other_id))
        key = int.from_bytes(hashlib.sha256(f"friends|{low}|{high}".encode()).digest()[:8], "big", signed=True)
        connection.execute(select(func.pg_advisory_xact_lock(key)))


def asks(connection: Connection, user_id: str, other_id: str) -> tuple[bool, bool]:
    """``(user asked other, other asked user)``."""
    query = select(EDGES.c.user_id, EDGES.c.friend_id).where(
        ((EDGES.c.user_id == user_id) & (EDGES.c.friend_id == other_id))
        | ((EDGES.c.user_id == other_id) & (EDGES.c.friend_id == user_id))
    )
    found = {(row.user_id, row.friend_id) for row in connection.execute(query)}
    return (user_id, other_id) in found, (other_id, user_id) in found


def are_friends(connection: Connection, user_id: str, other_id: str, *, lock: bool = False) -> bool:
    """Mutual friends? ``lock`` holds the row FOR SHARE, so an unfriending (which deletes it)
    waits for the caller's commit: a steal or a watering never lands after the friendship ended."""
    query = select(literal(1)).select_from(FRIENDS).where(FRIENDS.c.user_id == user_id, FRIENDS.c.friend_id == other_id)
    if lock:
        query = query.with_for_update(read=True)
    return connection.execute(query).first() is not None


def add_ask(connection: Connection, user_id: str, friend_id: str, *, now: datetime) -> bool:
    """Record that ``user_id`` asked ``friend_id``; False if it was already recorded."""
    statement = (
        _insert(connection)(EDGES)
        .values(user_id=user_id, friend_id=friend_id, shard=shard_of(user_id), created_at=now)
        .on_conflict_do_nothing(index_elements=[EDGES.c.user_id, EDGES.c.friend_id])
        .returning(EDGES.c.user_id)
    )
    return connection.execute(statement).first() is not None


def make_friends(connection: Connection, user_id: str, other_id: str, *, now: datetime) -> None:
    """Write the friendship both ways (a no-op if it exists); call under ``lock_pair``."""
    statement = _insert(connection)(FRIENDS).on_conflict_do_nothing(
        index_elements=[FRIENDS.c.user_id, FRIENDS.c.friend_id]
    )
    connection.execute(
        statement,
        [
            {"user_id": a, "friend_id": b, "shard": shard_of(a), "since": now}
            for a, b in sorted([(user_id, other_id), (other_id, user_id)])
        ],
    )


def remove_pair(connection: Connection, user_id: str, other_id: str) -> set[tuple[str, str]]:
    """Delete the friendship and both asks; the ``(user_id, friend_id)`` asks that were removed."""

    def between(table):
        return ((table.c.user_id == user_id) & (table.c.friend_id == other_id)) | (
            (table.c.user_id == other_id) & (table.c.friend_id == user_id)
        )

    connection.execute(delete(FRIENDS).where(between(FRIENDS)))
    deleted = connection.execute(delete(EDGES).where(between(EDGES)).returning(EDGES.c.user_id, EDGES.c.friend_id))
    return {(row.user_id, row.friend_id) for row in deleted}


def edges_of(connection: Connection, user_id: str) -> tuple[dict[str, datetime], dict[str, datetime]]:
    """``(outgoing, incoming)``: whom the user asked and who asked the user, with when."""
    outgoing = {
        row.friend_id: row.created_at
        for row in connection.execute(select(EDGES.c.friend_id, EDGES.c.created_at).where(EDGES.c.user_id == user_id))
    }
    incoming = {
        row.user_id: row.created_at
        for row in connection.execute(select(EDGES.c.user_id, EDGES.c.created_at).where(EDGES.c.friend_id == user_id))
    }
    return outgoing, incoming


def count_friends(connection: Connection, user_id: str) -> int:
    return int(
        connection.execute(select(func.count()).select_from(FRIENDS).where(FRIENDS.c.user_id == user_id)).scalar_one()
    )


def insert_asks(connection: Connection, pairs: Sequence[tuple[str, str]], *, now: datetime) -> None:
    """Bulk-load asks (seed data, benchmarks, tests), and the friendships of the pairs asked
    both ways within ``pairs``."""
    if not pairs:
        return
    connection.execute(
        EDGES.insert(), [{"user_id": a, "friend_id": b, "shard": shard_of(a), "created_at": now} for a, b in pairs]
    )
    asked = set(pairs)
    mutual = sorted(pair for pair in asked if (pair[1], pair[0]) in asked)
    if mutual:
        connection.execute(
            FRIENDS.insert(), [{"user_id": a, "friend_id": b, "shard": shard_of(a), "since": now} for a, b in mutual]
        )


# Thefts -----------------------------------------------------------------------------------


def to_theft(row) -> Theft:
    return Theft(row.ball_id, row.victim_id, row.thief_id, int(row.stolen_g), row.stolen_at)


def theft_rows(connection: Connection, ball_ids: Iterable[str]) -> dict[str, list]:
    """The theft rows of ``ball_ids`` (attempts a cover stopped included), oldest first."""
    ids = sorted(set(ball_ids))
    out: dict[str, list] = {ball_id: [] for ball_id in ids}
    for start in range(0, len(ids), 1000):
        query = (
            select(THEFTS)
            .where(THEFTS.c.ball_id.in_(ids[start : start + 1000]))
            .order_by(THEFTS.c.ball_id, THEFTS.c.stolen_at, THEFTS.c.theft_id)
        )
        for row in connection.execute(query):
            out[row.ball_id].append(row)
    return out


def insert_theft(
    connection: Connection, theft: Theft, *, theft_id: str, reason: str, transaction_id: str | None
) -> None:
    connection.execute(
        THEFTS.insert().values(
            theft_id=theft_id,
            ball_id=theft.ball_id,
            victim_id=theft.victim_id,
            thief_id=theft.thief_id,
            shard=shard_of(theft.victim_id),
            stolen_g=theft.stolen_g,
            reason=reason,
            stolen_at=theft.stolen_at,
            transaction_id=transaction_id,
        )
    )


# Waterings --------------------------------------------------------------------------------


def waterings_on(connection: Connection, giver_id: str, friend_id: str, local_day: date) -> list[Watering]:
    query = (
        select(WATERINGS)
        .where(WATERINGS.c.giver_id == giver_id, WATERINGS.c.friend_id == friend_id, WATERINGS.c.local_day == local_day)
        .order_by(WATERINGS.c.slot)
    )
    return [
        Watering(r.giver_id, r.friend_id, int(r.energy_g), r.watered_at, r.ball_id) for r in connection.execute(query)
    ]


def insert_watering(
    connection: Connection, watering: Watering, *, local_day: date, slot: int, transaction_id: str
) -> None:
    """Raises IntegrityError if a concurrent watering took the same ``slot`` of the day."""
    connection.execute(
        WATERINGS.insert().values(
            ball_id=watering.ball_id,
            giver_id=watering.giver_id,
            friend_id=watering.friend_id,
            shard=shard_of(watering.giver_id),
            energy_g=watering.energy_g,
            watered_at=watering.watered_at,
            local_day=local_day,
            slot=slot,
            transaction_id=transaction_id,
        )
    )


# Items and effects ------------------------------------------------------------------------


def to_item(row) -> Item:
    return Item(
        item_id=row.item_id,
        user_id=row.user_id,
        kind=row.kind,
        granted_at=row.granted_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
    )


def insert_item(connection: Connection, item: Item, *, granted_by: str) -> None:
    connection.execute(
        ITEMS.insert().values(
            item_id=item.item_id,
            user_id=item.user_id,
            shard=shard_of(item.user_id),
            kind=item.kind,
            granted_at=item.granted_at,
            expires_at=item.expires_at,
            used_at=item.used_at,
            granted_by=granted_by,
        )
    )


def lock_item(connection: Connection, item_id: str):
    return connection.execute(select(ITEMS).where(ITEMS.c.item_id == item_id).with_for_update()).first()


def mark_item_used(connection: Connection, item: Item) -> None:
    connection.execute(update(ITEMS).where(ITEMS.c.item_id == item.item_id).values(used_at=item.used_at))


def insert_effect(connection: Connection, effect: ActiveEffect) -> None:
    connection.execute(
        EFFECTS.insert().values(
            item_id=effect.item_id,
            user_id=effect.user_id,
            kind=effect.kind,
            starts_at=effect.starts_at,
            ends_at=effect.ends_at,
        )
    )


def item_rows(connection: Connection, user_id: str) -> list:
    """The user's items, newest first, each with its effect's window when used."""
    query = (
        select(ITEMS, EFFECTS.c.starts_at, EFFECTS.c.ends_at)
        .outerjoin(EFFECTS, EFFECTS.c.item_id == ITEMS.c.item_id)
        .where(ITEMS.c.user_id == user_id)
        .order_by(ITEMS.c.granted_at.desc(), ITEMS.c.item_id)
    )
    return list(connection.execute(query))


def active_effects(connection: Connection, user_ids: Iterable[str], now: datetime) -> list[ActiveEffect]:
    """Effects of ``user_ids`` in force at ``now`` (``starts_at <= now < ends_at``)."""
    query = select(EFFECTS).where(
        EFFECTS.c.user_id.in_(sorted(set(user_ids))), EFFECTS.c.ends_at > now, EFFECTS.c.starts_at <= now
    )
    return [
        ActiveEffect(kind=r.kind, user_id=r.user_id, item_id=r.item_id, starts_at=r.starts_at, ends_at=r.ends_at)
        for r in connection.execute(query)
    ]


# Achievement awards -----------------------------------------------------------------------


def award_rows(connection: Connection, user_id: str) -> list:
    return list(
        connection.execute(
            select(AWARDS).where(AWARDS.c.user_id == user_id).order_by(AWARDS.c.awarded_at, AWARDS.c.achievement_id)
        )
    )


def insert_award(
    connection: Connection,
    *,
    user_id: str,
    achievement_id: str,
    value: int,
    threshold: int,
    now: datetime,
    item_id: str | None,
) -> bool:
    """Store an award unless the user already holds it; True if this call stored it."""
    statement = (
        _insert(connection)(AWARDS)
        .values(
            user_id=user_id,
            achievement_id=achievement_id,
            shard=shard_of(user_id),
            value=value,
            threshold=threshold,
            awarded_at=now,
            item_id=item_id,
        )
        .on_conflict_do_nothing(index_elements=[AWARDS.c.user_id, AWARDS.c.achievement_id])
    )
    statement = statement.returning(AWARDS.c.user_id)
    return connection.execute(statement).first() is not None


# Leaderboard scores -----------------------------------------------------------------------


def week_period(now: datetime, tz: ZoneInfo) -> str:
    """The score period of the local ISO week holding ``now``: ``week:<Monday>``."""
    return f"week:{period_start(now, tz, 'week').isoformat()}"


def add_scores(connection: Connection, credits_g: Mapping[str, int], *, now: datetime, tz: ZoneInfo) -> None:
    """Add grams credited to users' ``available`` at ``now`` to their lifetime and weekly scores.

    A user's first lifetime row is created at 0 first (``ON CONFLICT DO NOTHING RETURNING``
    names exactly the rows this commit created, even under concurrency), then every row gets
    its grams added, then the board size of the new users' shards grows. Rows are locked in
    (user, period) order, the board-size rows after them, in shard order.
    """
    credited = {user_id: grams for user_id, grams in credits_g.items() if grams > 0}
    if not credited:
        return
    created = set()
    for user_id in sorted(credited):
        first = (
            _insert(connection)(SCORES)
            .values(user_id=user_id, period=LIFETIME, shard=shard_of(user_id), score_g=0)
            .on_conflict_do_nothing(index_elements=[SCORES.c.user_id, SCORES.c.period])
            .returning(SCORES.c.user_id)
        )
        if connection.execute(first).first() is not None:
            created.add(user_id)
    week = week_period(now, tz)
    rows = sorted((user_id, period, grams) for user_id, grams in credited.items() for period in (LIFETIME, week))
    statement = _insert(connection)(SCORES)
    statement = statement.on_conflict_do_update(
        index_elements=[SCORES.c.user_id, SCORES.c.period],
        set_={"score_g": SCORES.c.score_g + statement.excluded.score_g},
    )
    connection.execute(
        statement,
        [
            {"user_id": user_id, "period": period, "shard": shard_of(user_id), "score_g": grams}
            for user_id, period, grams in rows
        ],
    )
    _grow_board(connection, [shard_of(user_id) for user_id in created])


def _grow_board(connection: Connection, shards: Iterable[int]) -> None:
    grown: dict[int, int] = {}
    for shard in shards:
        grown[shard] = grown.get(shard, 0) + 1
    if not grown:
        return
    statement = _insert(connection)(MEMBERS)
    statement = statement.on_conflict_do_update(
        index_elements=[MEMBERS.c.shard], set_={"members": MEMBERS.c.members + statement.excluded.members}
    )
    connection.execute(statement, [{"shard": shard, "members": n} for shard, n in sorted(grown.items())])


def board_members(connection: Connection) -> int:
    """Users with a lifetime score: the members of the global board (without the asker)."""
    return int(connection.execute(select(func.coalesce(func.sum(MEMBERS.c.members), 0))).scalar_one())


def insert_scores(connection: Connection, rows: Sequence[tuple[str, str, int]]) -> None:
    """Bulk-load new ``(user_id, period, score_g)`` rows (seed data, tests), with board sizes."""
    if rows:
        connection.execute(
            SCORES.insert(), [{"user_id": u, "period": p, "shard": shard_of(u), "score_g": s} for u, p, s in rows]
        )
        _grow_board(connection, [shard_of(u) for u, p, _s in rows if p == LIFETIME])


def rebuild_board_members(connection: Connection) -> None:
    """Recount the board sizes from the score rows (after a bulk load that bypassed them)."""
    connection.execute(delete(MEMBERS))
    connection.execute(
        MEMBERS.insert().from_select(
            ["shard", "members"],
            select(SCORES.c.shard, func.count()).where(SCORES.c.period == LIFETIME).group_by(SCORES.c.shard),
        )
    )


def score_of(connection: Connection, user_id: str, period: str) -> int:
    value = connection.execute(
        select(SCORES.c.score_g).where(SCORES.c.user_id == user_id, SCORES.c.period == period)
    ).scalar_one_or_none()
    return int(value or 0)


def scores_of(connection: Connection, user_ids: Iterable[str], period: str) -> dict[str, int]:
    ids = sorted(set(user_ids))
    out: dict[str, int] = {}
    for start in range(0, len(ids), 1000):
        query = select(SCORES.c.user_id, SCORES.c.score_g).where(
            SCORES.c.period == period, SCORES.c.user_id.in_(ids[start : start + 1000])
        )
        out.update({row.user_id: int(row.score_g) for row in connection.execute(query)})
    return out


def global_board(connection: Connection, user_id: str, period: str, limit: int) -> tuple[int, int, int, list]:
    """``(score, rank, total, top rows)`` of ``user_id`` on the global board of ``period``.

    Members: every user with a lifetime score row (anyone who ever collected or stole), plus
    ``user_id``; a member without a row for ``period`` has score 0 there. The rank is
    ``1 + count(score > mine)`` over the (period, score_g) index (members at 0 are never
    ahead, so they need no row); the total is the kept board size.
    """
    mine = score_of(connection, user_id, period)
    ahead = connection.execute(
        select(func.count()).select_from(SCORES).where(SCORES.c.period == period, SCORES.c.score_g > mine)
    ).scalar_one()
    members = board_members(connection)
    if not _has_row(connection, user_id, LIFETIME):
        members += 1
    top_rows = connection.execute(
        select(SCORES.c.user_id, SCORES.c.score_g)
        .where(SCORES.c.period == period)
        .order_by(SCORES.c.score_g.desc(), order_codepoint(connection, SCORES.c.user_id))
        .limit(limit)
    )
    return mine, 1 + int(ahead), int(members), [(r.user_id, int(r.score_g)) for r in top_rows]


def friends_board(connection: Connection, user_id: str, period: str, limit: int) -> tuple[int, int, int, list]:
    """``(score, rank, total, top rows)`` of ``user_id`` among the user and their mutual friends.

    One pass: the user's ``friendships`` range drives primary-key probes into
    ``forest_scores`` (a user with 5,000 friends: 5,000 probes, whatever the number of
    users); window aggregates count the members and those ahead while the same rows are
    ordered for the top ``limit``.
    """
    mine = score_of(connection, user_id, period)
    friends = (
        select(FRIENDS.c.friend_id.label("user_id"), func.coalesce(SCORES.c.score_g, 0).label("score_g"))
        .select_from(FRIENDS)
        .outerjoin(SCORES, (SCORES.c.user_id == FRIENDS.c.friend_id) & (SCORES.c.period == period))
        .where(FRIENDS.c.user_id == user_id)
    )
    members = friends.union_all(select(literal(user_id).label("user_id"), literal(mine).label("score_g"))).subquery()
    rows = connection.execute(
        select(
            members.c.user_id,
            members.c.score_g,
            func.count().over().label("total"),
            func.sum(case((members.c.score_g > mine, 1), else_=0)).over().label("ahead"),
        )
        .order_by(members.c.score_g.desc(), order_codepoint(connection, members.c.user_id))
        .limit(limit)
    ).all()
    total, ahead = int(rows[0].total), int(rows[0].ahead)  # the user is a member: never empty
    return mine, 1 + ahead, total, [(r.user_id, int(r.score_g)) for r in rows]


def _has_row(connection: Connection, user_id: str, period: str) -> bool:
    return (
        connection.execute(select(literal(1)).where(SCORES.c.user_id == user_id, SCORES.c.period == period)).first()
        is not None
    )


# Lifetime energy --------------------------------------------------------------------------


def lifetime_minted_g(connection: Connection, user_id: str) -> int:
    """Grams ever minted for the user's own events: the credits of ``mint`` transactions to
    ``user:<id>:pending``, less reversals of such mints. Steals, waterings received and
    collects are moves of energy that already existed, so they do not count."""
    original = TX.alias("original")
    reverses_mint = select(original.c.id).where(original.c.id == TX.c.reverses, original.c.kind == "mint").exists()
    query = (
        select(func.coalesce(func.sum(POSTINGS.c.energy_g), 0))
        .select_from(POSTINGS.join(TX, TX.c.id == POSTINGS.c.transaction_id))
        .where(POSTINGS.c.account == user_account(user_id, "pending"))
        .where((TX.c.kind == "mint") | ((TX.c.kind == "reversal") & reverses_mint))
    )
    return int(connection.execute(query).scalar_one())
