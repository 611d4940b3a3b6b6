"""Storing the social game's reads and its few writes outside ``play_repo``: friend asks and
friendships, thefts, items and effects, awards, and the leaderboards (scores, board sizes,
score buckets).

Rows <-> the frozen values of ``greenenergy.forest``. Every function works on the caller's
connection; the caller (a service) owns the commit. Asks and unfriending of one pair run
under ``lock_pair``; the writes of collects, steals and waterings (scores included) are
``play_repo``'s, whose docstring gives the lock order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Row, Table, delete, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.elements import ColumnElement

from greenenergy.db import score_buckets
from greenenergy.db.driver import Sql
from greenenergy.db.tables_forest import (
    AchievementAwardRow,
    BoardMembersRow,
    EffectRow,
    FriendEdgeRow,
    FriendshipRow,
    ItemRow,
    ScoreRow,
    TheftRow,
)
from greenenergy.forest import ActiveEffect, Item, Theft
from greenenergy.periods import period_start
from greenenergy.units import shard_of

EDGES = FriendEdgeRow.__table__
FRIENDS = FriendshipRow.__table__
THEFTS = TheftRow.__table__
ITEMS = ItemRow.__table__
EFFECTS = EffectRow.__table__
AWARDS = AchievementAwardRow.__table__
SCORES = ScoreRow.__table__
MEMBERS = BoardMembersRow.__table__

LIFETIME = "lifetime"


def _insert(connection: Connection) -> Callable[[Table], Any]:
    """The dialect's ``insert`` (both have ``on_conflict_do_*``)."""
    return pg_insert if connection.dialect.name == "postgresql" else sqlite_insert


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


def are_friends(connection: Connection, user_id: str, other_id: str) -> bool:
    """Mutual friends? (Writers that need the friendship to last until their commit use
    ``play_repo.are_friends``, which holds the row.)"""
    query = select(literal(1)).select_from(FRIENDS).where(FRIENDS.c.user_id == user_id, FRIENDS.c.friend_id == other_id)
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

    def between(table: Table) -> ColumnElement[bool]:
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


def to_theft(row: Row) -> Theft:
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


# Items and effects ------------------------------------------------------------------------


def to_item(row: Row) -> Item:
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


def lock_item(connection: Connection, item_id: str) -> Row | None:
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


# Achievement awards -----------------------------------------------------------------------


def award_rows(connection: Connection, user_id: str) -> list:
    return list(
        connection.execute(
            select(AWARDS).where(AWARDS.c.user_id == user_id).order_by(AWARDS.c.awarded_at, AWARDS.c.achievement_id)
        )
    )


# Leaderboards -----------------------------------------------------------------------------
#
# Scores: ``forest_scores`` rows per (user, period), written by ``play_repo.add_scores`` in the
# commit of the collect or steal that credits them, with the board sizes (``forest_board_members``,
# per shard: users with a lifetime row) and the score buckets (``score_buckets``).


def week_period(now: datetime, tz: ZoneInfo) -> str:
    """The score period of the local ISO week holding ``now``: ``week:<Monday>``."""
    return f"week:{period_start(now, tz, 'week').isoformat()}"


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
    row = Sql(connection).one("SELECT COALESCE(SUM(members), 0) FROM forest_board_members")
    return int(row[0]) if row else 0


def insert_scores(connection: Connection, rows: Sequence[tuple[str, str, int]]) -> None:
    """Bulk-load new ``(user_id, period, score_g)`` rows (seed data, tests), with board sizes
    and score buckets."""
    if rows:
        connection.execute(
            SCORES.insert(), [{"user_id": u, "period": p, "shard": shard_of(u), "score_g": s} for u, p, s in rows]
        )
        _grow_board(connection, [shard_of(u) for u, p, _s in rows if p == LIFETIME])
        score_buckets.store_deltas(connection, score_buckets.deltas((u, p, 0, s) for u, p, s in rows))


def rebuild_boards(connection: Connection) -> None:
    """Recount the board sizes and the score buckets from the score rows (after a bulk load
    that bypassed them, such as a COPY)."""
    connection.execute(delete(MEMBERS))
    connection.execute(
        MEMBERS.insert().from_select(
            ["shard", "members"],
            select(SCORES.c.shard, func.count()).where(SCORES.c.period == LIFETIME).group_by(SCORES.c.shard),
        )
    )
    score_buckets.rebuild(connection)


def scores_of(connection: Connection, user_ids: Iterable[str], period: str) -> dict[str, int]:
    ids = sorted(set(user_ids))
    out: dict[str, int] = {}
    for start in range(0, len(ids), 1000):
        query = select(SCORES.c.user_id, SCORES.c.score_g).where(
            SCORES.c.period == period, SCORES.c.user_id.in_(ids[start : start + 1000])
        )
        out.update({row.user_id: int(row.score_g) for row in connection.execute(query)})
    return out


# The board reads are plain driver SQL (``db.driver.Sql``): building and caching Core
# statements cost more client CPU than the database spends on a global board.


def _by_code_point(connection: Connection, column: str) -> str:
    """``column`` ordered by code point (``forest.leaderboard``'s tie order): SQLite's BINARY
    default already is; a PostgreSQL database may have a linguistic default collation."""
    return f'{column} COLLATE "C"' if connection.dialect.name == "postgresql" else column


def _own_scores(connection: Connection, user_id: str, period: str) -> tuple[int, bool]:
    """``(score in period, has a lifetime row)``: one primary-key range."""
    rows = dict(
        Sql(connection).all(
            "SELECT period, score_g FROM forest_scores WHERE user_id = ? AND period IN (?, ?)",
            (user_id, period, LIFETIME),
        )
    )
    return int(rows.get(period, 0)), LIFETIME in rows


def global_board(connection: Connection, user_id: str, period: str, limit: int) -> tuple[int, int, int, list]:
    """``(score, rank, total, top rows)`` of ``user_id`` on the global board of ``period``.

    Members: every user with a lifetime score row (anyone who ever collected or stole), plus
    ``user_id``; a member without a row for ``period`` has score 0 there. The rank is
    ``1 + the number of scores above mine``, counted on the score buckets
    (``score_buckets.count_above``: a few hundred bucket rows and one bucket's index range,
    never every score above); members at 0 are never ahead, so they need no row. The total
    is the kept board size; the top rows are the head of the (period, score_g) index.
    """
    mine, member = _own_scores(connection, user_id, period)
    ahead = score_buckets.count_above(connection, period, mine)
    members = board_members(connection) + (0 if member else 1)
    top_rows = Sql(connection).all(
        "SELECT user_id, score_g FROM forest_scores WHERE period = ? "
        f"ORDER BY score_g DESC, {_by_code_point(connection, 'user_id')} LIMIT {int(limit)}",
        (period,),
    )
    return mine, 1 + ahead, members, [(user, int(score)) for user, score in top_rows]


def friends_board(connection: Connection, user_id: str, period: str, limit: int) -> tuple[int, int, int, list]:
    """``(score, rank, total, top rows)`` of ``user_id`` among the user and their mutual friends.

    One statement over the friends: the user's ``friendships`` range drives primary-key
    probes into ``forest_scores`` (a user with 5,000 friends: 5,000 probes, whatever the
    number of users; the key carries the score, so one index descent each); window
    aggregates count the friends and those ahead of the user while the same rows are ordered
    for the top ``limit``. The user joins the board here, not in SQL (a UNION would make
    every row pass through one more step): at most one of the ``limit`` rows gives way.
    """
    mine, _member = _own_scores(connection, user_id, period)
    rows = Sql(connection).all(
        "SELECT f.friend_id, COALESCE(s.score_g, 0) AS score, COUNT(*) OVER (), "
        "SUM(CASE WHEN COALESCE(s.score_g, 0) > ? THEN 1 ELSE 0 END) OVER () "
        "FROM friendships f LEFT JOIN forest_scores s ON s.user_id = f.friend_id AND s.period = ? "
        f"WHERE f.user_id = ? ORDER BY score DESC, {_by_code_point(connection, 'f.friend_id')} LIMIT {int(limit)}",
        (mine, period, user_id),
    )
    friends, ahead = (int(rows[0][2]), int(rows[0][3])) if rows else (0, 0)
    entries = [(friend, int(score)) for friend, score, _n, _a in rows] + [(user_id, mine)]
    entries.sort(key=lambda e: (-e[1], e[0]))  # forest.leaderboard's order: score, then id by code point
    return mine, 1 + ahead, 1 + friends, entries[:limit]
