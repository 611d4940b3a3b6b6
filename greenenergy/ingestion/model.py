"""The values of one ingestion batch: what comes in, what a decision needs, what it decides.

``IncomingEvent`` is one event as a business unit sent it. ``prepare`` (pure) turns a batch
into a ``Prepared`` batch: each event's checks that need no stored state, and the keys whose
stored state the decision needs (``Needs``: event ids, users, ball ids). The shell loads
exactly that (``Loaded``), under the locks that make it current, and ``decide`` (pure)
returns a ``Decision``: the result of every event and every row to write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from greenenergy.forest.balls import Ball
from greenenergy.ingestion.records import EventRecord
from greenenergy.ingestion.userstate import UserIngestState

EventStatus = str  # accepted | duplicate | rejected (| queued in stream mode)


@dataclass(frozen=True, slots=True)
class IncomingEvent:
    event_id: str
    event_type: str
    user_id: str
    occurred_at: datetime
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class EventResult:
    """What the API answers for one event (CONTRACT.md ``results`` item).

    ``transaction_id`` is the ledger transaction that moved the event's grams: null while
    they wait in ``ball_id`` (energy reaches the ledger when the ball is collected, stolen or
    expires), and for events of the first format, the mint transaction of that time.
    """

    event_id: str
    status: EventStatus
    energy_g: int | None = None
    rule: str | None = None
    transaction_id: str | None = None
    reason: str | None = None
    message: str | None = None
    explanation: str | None = None
    ball_id: str | None = None
    details: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class StoredResult:
    """The stored result of an event accepted before (what a duplicate answers)."""

    event_id: str
    energy_g: int
    rule_ref: str
    transaction_id: str | None
    explanation: str
    ball_id: str | None


@dataclass(slots=True)
class Candidate:
    """An event that passed the checks needing no stored state."""

    index: int  # position in the request
    event: IncomingEvent
    occurred_at: datetime  # UTC
    data: dict[str, Any]  # validated, typed
    shard: int
    ripens_at: datetime
    ball_id: str  # the shared ball of (user, type, ripening), or the event's own if late


@dataclass(frozen=True, slots=True)
class Needs:
    """The stored state a decision reads: the shell loads exactly these, under lock."""

    event_ids: tuple[str, ...]  # distinct ids of the request (duplicates)
    user_ids: tuple[str, ...]  # users of the candidates, sorted (their state rows, blocks)
    ball_ids: tuple[str, ...]  # balls the candidates may join, sorted
    shards: tuple[int, ...]  # shards whose events chain the batch appends to, sorted


@dataclass(slots=True)
class Prepared:
    source_id: str
    now: datetime
    results: list[EventResult | None]  # per request index; None = still a candidate
    candidates: list[Candidate]
    repeats: dict[int, int]  # request index -> index of the first occurrence of its event id
    first_index: dict[str, int]  # event id -> index of its first occurrence in the request
    needs: Needs


@dataclass(frozen=True, slots=True)
class Loaded:
    """What the shell read for a ``Prepared`` batch, current under its locks."""

    stored: dict[str, StoredResult]  # event_id -> first accepted result
    users: dict[str, tuple[int, str | None, str | None]]  # user -> stored (lifetime_g, scoring, tallies)
    blocked: frozenset[str]
    balls: dict[str, Ball]  # those of ``needs.ball_ids`` that exist
    lane: int
    heads: dict[int, tuple[int, str]]  # shard -> (seq, hash) of the events chain in ``lane``


@dataclass(slots=True)
class Decision:
    results: list[EventResult]  # in request order
    events: list[EventRecord]  # accepted, chained, with hashes
    new_balls: list[Ball]
    grown_balls: list[tuple[Ball, int]]  # (existing ball, grams added)
    users: list[UserIngestState]  # changed states, sorted by user
    heads: dict[int, tuple[int, str]]  # new heads of the shards appended to
    lane: int
    rejections: list[EventResult] = field(default_factory=list)  # to remember as latest rejections

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)
