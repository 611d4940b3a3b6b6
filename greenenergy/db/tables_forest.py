"""Tables of the forest: energy balls (created by ingestion and watering).

A ball's status is never stored: it is derived from the clock and the gram columns
(greenenergy.forest.balls.ball_status). Invariant, checked by the table:
energy_g = collected_g + stolen_g + expired_g + remaining, remaining >= 0.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Index, SmallInteger
from sqlmodel import Field, SQLModel

from greenenergy.db.types import UTCDateTime


class BallRow(SQLModel, table=True):
    __tablename__ = "balls"
    __table_args__ = (
        Index("ix_balls_user_expires", "user_id", "expires_at"),
        Index("ix_balls_expires", "expires_at"),
        CheckConstraint("collected_g >= 0 AND stolen_g >= 0 AND expired_g >= 0 "
                        "AND collected_g + stolen_g + expired_g <= energy_g", name="grams_whole"),
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
