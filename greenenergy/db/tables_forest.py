"""Tables of the forest: energy balls (created by ingestion and watering), and the social game.

A ball's status is never stored: it is derived from the clock and the gram columns
(greenenergy.forest.balls.ball_status). Invariant, checked by the table:
energy_g = collected_g + stolen_g + expired_g + remaining, remaining >= 0.

The social game (rows written by greenenergy.services.forest_*):

* ``friend_edges``: one row per *ask*: ``(user_id, friend_id)`` means user_id asked to be
  friends with friend_id. A friendship is both rows; unfriending deletes both.
* ``friendships``: the mutual pairs, one row per direction, written in the commit that sees
  both asks (asks and unfriending of one pair are serialised by a per-pair lock), so "the
  friends of X" is one primary-key range and joins with scores plan as index probes.
* ``thefts``: every steal attempt that passed the rules, including those a protection cover
  turned into 0 g (``reason = protected``), so the victim sees who took what and who tried.
* ``waterings``: one row per watering; ``slot`` 1..3 is unique per (giver, friend, local day),
  so two concurrent fourth waterings cannot both commit.
* ``forest_items`` / ``forest_effects``: inventory items and the timed effects using one started.
* ``achievement_awards``: one row per (user, achievement), so an award is made once.
* ``forest_scores``: leaderboard scores per user and period (``lifetime`` or ``week:<local
  Monday>``), updated in the same commit as the ledger movement that changes them.
* ``forest_board_members``: how many users have a lifetime score, per shard (the size of the
  global board), incremented in the commit that creates a user's lifetime score row.
* ``forest_score_buckets``: how many scores of a period fall in each bucket of scores
  (greenenergy.db.score_buckets), updated in the commit that changes the scores: a global
  rank adds up buckets instead of counting every score above it.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, Index, Integer, SmallInteger, UniqueConstraint
from sqlmodel import Field, SQLModel

from greenenergy.db.types import UTCDateTime


class BallRow(SQLModel, table=True):
    __tablename__ = "balls"
    __table_args__ = (
        Index("ix_balls_user_expires", "user_id", "expires_at"),
        Index("ix_balls_expires", "expires_at"),
        CheckConstraint(
            "collected_g >= 0 AND stolen_g >= 0 AND expired_g >= 0 AND collected_g + stolen_g + expired_g <= energy_g",
            name="grams_whole",
        ),
    )

    ball_id: str = Field(primary_key=True, max_length=40)
    user_id: str = Field(max_length=64, nullable=False)
    shard: int = Field(sa_type=SmallInteger, nullable=False)
    event_type: str = Field(max_length=64, nullable=False)
    source: str = Field(max_length=8, nullable=False)  # event | water
    energy_g: int = Field(sa_type=BigInteger, nullable=False)
    collected_g: int = Field(default=0, sa_type=BigInteger, nullable=False)
    stolen_g: int = Field(default=0, sa_type=BigInteger, nullable=False)
    expired_g: int = Field(default=0, sa_type=BigInteger, nullable=False)
    ripens_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    visible_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    collected_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    giver_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    mint_rule: str | None = Field(default=None, max_length=64)  # greenenergy.forest.Ball.mint_rule


class FriendEdgeRow(SQLModel, table=True):
    """``user_id`` asked ``friend_id``; mutual friends have both rows."""

    __tablename__ = "friend_edges"
    __table_args__ = (Index("ix_friend_edges_friend", "friend_id", "user_id"),)

    user_id: str = Field(primary_key=True, max_length=64)
    friend_id: str = Field(primary_key=True, max_length=64)
    shard: int = Field(sa_type=SmallInteger, nullable=False)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class FriendshipRow(SQLModel, table=True):
    """``user_id`` and ``friend_id`` are mutual friends (the reverse row exists too)."""

    __tablename__ = "friendships"

    user_id: str = Field(primary_key=True, max_length=64)
    friend_id: str = Field(primary_key=True, max_length=64)
    shard: int = Field(sa_type=SmallInteger, nullable=False)
    since: datetime = Field(sa_type=UTCDateTime, nullable=False)


class TheftRow(SQLModel, table=True):
    __tablename__ = "thefts"
    __table_args__ = (
        Index("ix_thefts_ball", "ball_id"),
        Index("ix_thefts_thief_stolen", "thief_id", "stolen_at"),
        Index("ix_thefts_victim_stolen", "victim_id", "stolen_at"),
        CheckConstraint("stolen_g >= 0", name="stolen_non_negative"),
    )

    theft_id: str = Field(primary_key=True, max_length=32)
    ball_id: str = Field(max_length=40, nullable=False, foreign_key="balls.ball_id")
    victim_id: str = Field(max_length=64, nullable=False)
    thief_id: str = Field(max_length=64, nullable=False)
    shard: int = Field(sa_type=SmallInteger, nullable=False)  # the victim's
    stolen_g: int = Field(sa_type=BigInteger, nullable=False)
    reason: str = Field(max_length=16, nullable=False)  # stolen | protected
    stolen_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    transaction_id: str | None = Field(default=None, max_length=32)


class WateringRow(SQLModel, table=True):
    __tablename__ = "waterings"
    __table_args__ = (
        UniqueConstraint("giver_id", "friend_id", "local_day", "slot"),
        Index("ix_waterings_friend", "friend_id", "watered_at"),
    )

    ball_id: str = Field(primary_key=True, max_length=40, foreign_key="balls.ball_id")
    giver_id: str = Field(max_length=64, nullable=False)
    friend_id: str = Field(max_length=64, nullable=False)
    shard: int = Field(sa_type=SmallInteger, nullable=False)  # the giver's
    energy_g: int = Field(sa_type=BigInteger, nullable=False)
    watered_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    local_day: date = Field(sa_type=Date, nullable=False)
    slot: int = Field(sa_type=SmallInteger, nullable=False)
    transaction_id: str = Field(max_length=32, nullable=False)


class ItemRow(SQLModel, table=True):
    __tablename__ = "forest_items"
    __table_args__ = (Index("ix_forest_items_user", "user_id", "granted_at"),)

    item_id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(max_length=64, nullable=False)
    shard: int = Field(sa_type=SmallInteger, nullable=False)
    kind: str = Field(max_length=32, nullable=False)
    granted_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    granted_by: str = Field(max_length=100, nullable=False)  # admin:<subject> | achievement:<id>


class EffectRow(SQLModel, table=True):
    __tablename__ = "forest_effects"
    __table_args__ = (Index("ix_forest_effects_user_ends", "user_id", "ends_at"),)

    item_id: str = Field(primary_key=True, max_length=32, foreign_key="forest_items.item_id")
    user_id: str = Field(max_length=64, nullable=False)
    kind: str = Field(max_length=32, nullable=False)
    starts_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    ends_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class AchievementAwardRow(SQLModel, table=True):
    __tablename__ = "achievement_awards"

    user_id: str = Field(primary_key=True, max_length=64)
    achievement_id: str = Field(primary_key=True, max_length=64)
    shard: int = Field(sa_type=SmallInteger, nullable=False)
    value: int = Field(sa_type=BigInteger, nullable=False)
    threshold: int = Field(sa_type=BigInteger, nullable=False)
    awarded_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    item_id: str | None = Field(default=None, max_length=32)


class ScoreRow(SQLModel, table=True):
    """Leaderboard score of one user in one period; (period, score_g) lists the top and counts
    within a score bucket. The primary key carries the score (SQLite: WITHOUT ROWID;
    PostgreSQL: the key INCLUDEs score_g, migration 0007), so a friend's score is one probe."""

    __tablename__ = "forest_scores"
    __table_args__ = (
        Index("ix_forest_scores_period_score", "period", "score_g"),
        CheckConstraint("score_g >= 0", name="score_non_negative"),
        {"sqlite_with_rowid": False},
    )

    user_id: str = Field(primary_key=True, max_length=64)
    period: str = Field(primary_key=True, max_length=16)  # lifetime | week:YYYY-MM-DD
    shard: int = Field(sa_type=SmallInteger, nullable=False)
    score_g: int = Field(default=0, sa_type=BigInteger, nullable=False)


class BoardMembersRow(SQLModel, table=True):
    """Users with a lifetime score row, per shard: the global board's size without a count."""

    __tablename__ = "forest_board_members"
    __table_args__ = (CheckConstraint("members >= 0", name="members_non_negative"),)

    shard: int = Field(primary_key=True, sa_type=SmallInteger, sa_column_kwargs={"autoincrement": False})
    members: int = Field(default=0, sa_type=BigInteger, nullable=False)


class ScoreBucketRow(SQLModel, table=True):
    """How many ``forest_scores`` rows of ``period`` fall in ``bucket`` (at ``level`` 0 fine or
    1 coarse), counted in ``part`` (a user's shard mod ``score_buckets.PARTS``)."""

    __tablename__ = "forest_score_buckets"
    # No CHECK (users >= 0): an upsert's proposed row is checked before its conflict is, and
    # a decrement proposes a negative count (tests check the counts against the scores).
    __table_args__ = ({"sqlite_with_rowid": False},)

    period: str = Field(primary_key=True, max_length=16)
    level: int = Field(primary_key=True, sa_type=SmallInteger, sa_column_kwargs={"autoincrement": False})
    bucket: int = Field(primary_key=True, sa_type=Integer, sa_column_kwargs={"autoincrement": False})
    part: int = Field(primary_key=True, sa_type=SmallInteger, sa_column_kwargs={"autoincrement": False})
    users: int = Field(default=0, sa_type=BigInteger, nullable=False)
