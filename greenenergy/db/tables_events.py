"""Tables of ingestion: accepted events (a hash chain per shard and lane), the latest
rejection of events never accepted, blocked users. (Cap usage and running totals live in
the user's state row, ``tables_users``.)

An event row is written in the same commit as its ball and its user's state. The primary key
(source_id, event_id) is what makes a re-sent event a duplicate.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, SmallInteger, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from greenenergy.db.types import UTCDateTime


class EventRow(SQLModel, table=True):
    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("shard", "lane", "seq"),
        Index("ix_events_user_occurred", "user_id", "occurred_at"),
    )

    source_id: str = Field(primary_key=True, max_length=64)
    event_id: str = Field(primary_key=True, max_length=64)
    shard: int = Field(sa_type=SmallInteger, nullable=False)
    lane: int = Field(default=0, sa_type=SmallInteger, nullable=False)
    seq: int = Field(sa_type=BigInteger, nullable=False)
    format: int = Field(default=1, sa_type=SmallInteger, nullable=False)  # canonical bytes (ingestion.records)
    user_id: str = Field(max_length=64, nullable=False)
    event_type: str = Field(max_length=64, nullable=False)
    occurred_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    ingested_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    data: str = Field(sa_type=Text, nullable=False)  # canonical JSON of the validated data
    energy_g: int = Field(sa_type=BigInteger, nullable=False)
    rule_ref: str = Field(max_length=96, nullable=False)
    explanation: str = Field(max_length=300, nullable=False)
    transaction_id: str | None = Field(default=None, max_length=32)
    ball_id: str | None = Field(default=None, max_length=40)
    prev_hash: str = Field(max_length=64, nullable=False)
    hash: str = Field(max_length=64, nullable=False)


class UserBlockRow(SQLModel, table=True):
    __tablename__ = "user_blocks"

    user_id: str = Field(primary_key=True, max_length=64)
    shard: int = Field(sa_type=SmallInteger, nullable=False)
    blocked_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    blocked_by: str = Field(max_length=64, nullable=False)
    reason: str = Field(max_length=300, nullable=False)


class EventRejectionRow(SQLModel, table=True):
    """The latest answer ``rejected`` given for a (source, event_id) that was never accepted.

    Not part of any chain and not energy: it lets a source read back why an event it sent
    was refused (``GET /v1/sources/{source}/events/{event_id}``). Accepting the event later
    removes its rejection in the same commit; rejecting it again overwrites it.
    """

    __tablename__ = "event_rejections"

    source_id: str = Field(primary_key=True, max_length=64)
    event_id: str = Field(primary_key=True, max_length=64)
    reason: str = Field(max_length=32, nullable=False)
    message: str = Field(max_length=500, nullable=False)
    details: str | None = Field(default=None, sa_type=Text)  # JSON, as answered
    rejected_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
