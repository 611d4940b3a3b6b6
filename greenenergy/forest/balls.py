"""Energy balls: the life of the grams a user earned but has not collected yet.

A ball belongs to one user, one event type and one ripening instant: the energy of several
events of that user and type that ripen at the same 07:00 is one ball. A ball ripens at the
first 07:00 (configured zone) strictly after the behaviour, becomes *visible* at
``max(ripens_at, ingested_at)`` (an event that arrives late appears when it arrives) and
expires exactly 72 hours (elapsed time, not wall-clock: across a DST change the local hour
shifts) after it became visible. A watering arrives as a ball that is visible at once.

Invariants of every ``Ball`` (checked on construction, so no function can return a bad one):

* ``energy_g = collected_g + stolen_g + expired_g + remaining_g``, every part ``>= 0``;
* ``energy_g >= 1`` (an event worth 0 g makes no ball);
* ``stolen_g <= energy_g // 2`` (thieves together take at most half);
* at most one of ``collected_g`` / ``expired_g`` is non-zero; ``collected_at`` is set
  exactly when ``collected_g > 0``;
* ``ripens_at <= visible_at < expires_at``, all tz-aware, stored in UTC.

The status is derived from the clock, never stored, so a read is right even when the
expiry job has not run yet:

* ``collected`` once collected (``collected_g > 0``);
* ``expired`` if not collected and (``now >= expires_at`` or the expiry already moved grams);
* ``waiting`` if ``now < visible_at``;
* ``ripe`` otherwise (``visible_at <= now < expires_at``; ``remaining_g > 0`` always holds
  here, because thieves leave at least half).

Functions never mutate: they return the new ``Ball`` with what moved, and the service writes
both (the ball row and one ledger transaction) in one commit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from greenenergy.clock import UTC, ensure_utc
from greenenergy.forest.errors import (
    AlreadyCollected,
    BallClosed,
    BallExpired,
    BallInvariantError,
    NotRipe,
)
from greenenergy.periods import next_local_time
from greenenergy.units import require_grams

BallStatus = Literal["waiting", "ripe", "collected", "expired"]
BallSource = Literal["event", "water"]

BALL_LIFETIME = timedelta(hours=72)
WATER_EVENT_TYPE = "forest.water"


@dataclass(frozen=True)
class Ball:
    """One energy ball; ``remaining_g`` is derived so the sum can never drift."""

    ball_id: str
    user_id: str
    event_type: str
    energy_g: int
    ripens_at: datetime
    visible_at: datetime
    expires_at: datetime
    source: BallSource = "event"
    collected_g: int = 0
    stolen_g: int = 0
    expired_g: int = 0
    collected_at: datetime | None = None
    giver_id: str | None = None  # the friend who watered, for source == "water"
    # The rule whose mint account the grams come from when they leave the ball (collected,
    # stolen, expired): energy not yet in the ledger. None: the grams are already in the
    # ledger, in the owner's pending account (a watering; an event ball of the first format).
    mint_rule: str | None = None

    def __post_init__(self) -> None:
        for name in ("ripens_at", "visible_at", "expires_at", "collected_at"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is not UTC:  # the common case is already UTC
                object.__setattr__(self, name, ensure_utc(value, what=name))
        energy_g, collected_g, stolen_g, expired_g = self.energy_g, self.collected_g, self.stolen_g, self.expired_g
        if not (
            type(energy_g) is int and type(collected_g) is int and type(stolen_g) is int and type(expired_g) is int
        ):  # exact ints, the common case; else say which is wrong
            for name in ("energy_g", "collected_g", "stolen_g", "expired_g"):
                require_grams(getattr(self, name), what=name)
        if (
            energy_g >= 1
            and collected_g >= 0
            and stolen_g >= 0
            and expired_g >= 0
            and collected_g + stolen_g + expired_g <= energy_g
            and stolen_g <= energy_g // 2
            and not (collected_g and expired_g)
            and (self.collected_at is None) == (collected_g == 0)
            and self.ripens_at <= self.visible_at < self.expires_at
            and self.source in ("event", "water")
        ):
            return  # every invariant holds: the common case, checked in one expression
        self._refuse()

    def _refuse(self) -> None:
        """Raise naming every broken invariant (the slow path of ``__post_init__``)."""
        parts = {
            "energy_g": self.energy_g,
            "collected_g": self.collected_g,
            "stolen_g": self.stolen_g,
            "expired_g": self.expired_g,
        }
        problems = [f"{name} is negative ({value})" for name, value in parts.items() if value < 0]
        if self.energy_g < 1:
            problems.append(f"energy_g must be at least 1, got {self.energy_g}")
        if self.remaining_g < 0:
            problems.append(
                f"collected_g + stolen_g + expired_g = "
                f"{self.collected_g + self.stolen_g + self.expired_g} exceeds energy_g {self.energy_g}"
            )
        if self.stolen_g > self.energy_g // 2:
            problems.append(f"stolen_g {self.stolen_g} exceeds half of energy_g {self.energy_g}")
        if self.collected_g and self.expired_g:
            problems.append("a ball cannot be both collected and expired")
        if (self.collected_at is None) != (self.collected_g == 0):
            problems.append("collected_at must be set exactly when collected_g > 0")
        if not self.ripens_at <= self.visible_at < self.expires_at:
            problems.append("need ripens_at <= visible_at < expires_at")
        if self.source not in ("event", "water"):
            problems.append(f"source must be 'event' or 'water', got {self.source!r}")
        raise BallInvariantError(f"ball {self.ball_id}: " + "; ".join(problems), ball_id=self.ball_id)

    @property
    def remaining_g(self) -> int:
        return self.energy_g - self.collected_g - self.stolen_g - self.expired_g


@dataclass(frozen=True)
class Collection:
    """What one collect moved: ``collected_g`` from pending to available of ``user_id``."""

    ball_id: str
    user_id: str
    collected_g: int
    ball: Ball


@dataclass(frozen=True)
class Expiry:
    """What one expiry moved: ``expired_g`` from pending to ``sink:expired`` (0 = nothing to do)."""

    ball_id: str
    user_id: str
    expired_g: int
    ball: Ball


def ripens_at(occurred_at: datetime, tz: ZoneInfo) -> datetime:
    """The first 07:00 local strictly after the behaviour (UTC)."""
    return next_local_time(occurred_at, tz)


class RipeningMemo:
    """``ripens_at`` for the many events of one batch, computed once per 15-minute bucket.

    Every UTC offset in use is a whole number of 15 minutes, so every local 07:00 falls on a
    15-minute boundary of UTC time and all instants of one bucket ``[b, b + 15 min)`` ripen at
    the same 07:00. The memo checks that premise for each bucket it stores (the ripening it
    found is itself on a boundary) and computes exactly, without storing, where it fails
    (historical local mean times such as Monrovia's -00:44:30 before 1972).
    """

    __slots__ = ("_by_bucket", "tz")
    BUCKET_S = 900

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self._by_bucket: dict[int, datetime] = {}

    def __len__(self) -> int:
        return len(self._by_bucket)

    def __call__(self, occurred_at: datetime) -> datetime:
        moment = ensure_utc(occurred_at)
        bucket = int(moment.timestamp() // self.BUCKET_S)
        found = self._by_bucket.get(bucket)
        if found is not None:
            return found
        ripening = ripens_at(moment, self.tz)
        start = datetime.fromtimestamp(bucket * self.BUCKET_S, UTC)
        if ripening.timestamp() % self.BUCKET_S == 0 and ripens_at(start, self.tz) == ripening:
            self._by_bucket[bucket] = ripening
        return ripening


def visible_at(ripening: datetime, ingested_at: datetime) -> datetime:
    """A ball appears when it is ripe, but never before its energy reached us."""
    return max(ensure_utc(ripening), ensure_utc(ingested_at, what="ingested_at"))


def expires_at(visible: datetime) -> datetime:
    """72 elapsed hours after the ball became visible."""
    return ensure_utc(visible) + BALL_LIFETIME


def event_ball_id(
    *, user_id: str, event_type: str, ripening: datetime, ingested_at: datetime, event_ref: str, own: bool = False
) -> str:
    """A deterministic ball id, so a retried ingestion finds the same ball.

    An event ingested before its ripening joins the one shared ball of
    ``(user_id, event_type, ripens_at)``; an event that arrives late (at or after the ripening
    instant) gets a ball of its own, named after the event (``event_ref``, e.g.
    ``"<source_id>:<event_id>"``), because the shared ball may already be collected.
    ``own`` asks for the event's own ball whatever the time (the shared one no longer takes
    energy).
    """
    key = f"{user_id}\x1f{event_type}\x1f{ensure_utc(ripening).isoformat()}"
    if own or ensure_utc(ingested_at) >= ensure_utc(ripening):
        key += f"\x1f{event_ref}"
    return "b-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def new_event_ball(
    *,
    ball_id: str,
    user_id: str,
    event_type: str,
    energy_g: int,
    occurred_at: datetime,
    ingested_at: datetime,
    tz: ZoneInfo | None = None,
    ripening: datetime | None = None,
    mint_rule: str | None = None,
) -> Ball:
    """The ball an event's energy makes when no open ball of its key exists yet.

    ``ripening`` (the event's ``ripens_at``) may be given when known, else ``tz`` computes it.
    ``mint_rule``: see ``Ball.mint_rule``.
    """
    if ripening is None:
        if tz is None:
            raise ValueError("new_event_ball needs the ripening instant or the time zone")
        ripening = ripens_at(occurred_at, tz)
    visible = visible_at(ripening, ingested_at)
    return Ball(
        ball_id=ball_id,
        user_id=user_id,
        event_type=event_type,
        energy_g=energy_g,
        ripens_at=ripening,
        visible_at=visible,
        expires_at=expires_at(visible),
        mint_rule=mint_rule,
    )


def can_join(ball: Ball, *, user_id: str, event_type: str, ripening: datetime, ingested_at: datetime) -> bool:
    """Whether an event's energy may be added to ``ball`` rather than start a new one.

    Only an event ball of the same key that is still waiting when the energy arrives: nobody
    can have collected or stolen from it yet, so adding grams changes no one's history.
    """
    return (
        ball.source == "event"
        and ball.user_id == user_id
        and ball.event_type == event_type
        and ball.ripens_at == ensure_utc(ripening)
        and ensure_utc(ingested_at) < ball.visible_at
        and ball.remaining_g == ball.energy_g
    )


def join(ball: Ball, *, energy_g: int, occurred_at: datetime, ingested_at: datetime, tz: ZoneInfo) -> Ball:
    """``ball`` with an event's energy added; ``BallClosed`` if it may not take it."""
    ripening = ripens_at(occurred_at, tz)
    if not can_join(ball, user_id=ball.user_id, event_type=ball.event_type, ripening=ripening, ingested_at=ingested_at):
        raise BallClosed(
            f"ball {ball.ball_id} no longer takes energy; make a new ball for this event",
            ball_id=ball.ball_id,
        )
    return replace(ball, energy_g=ball.energy_g + require_grams(energy_g))


def ball_status(ball: Ball, now: datetime) -> BallStatus:
    """The status at ``now``, derived from the clock (see the module docstring)."""
    now = ensure_utc(now, what="now")
    if ball.collected_g > 0:
        return "collected"
    if ball.expired_g > 0 or now >= ball.expires_at:
        return "expired"
    if now < ball.visible_at:
        return "waiting"
    return "ripe"


def require_ripe(ball: Ball, now: datetime) -> None:
    """Raise the specific Conflict unless ``ball`` is ripe at ``now``."""
    status = ball_status(ball, now)
    if status == "collected":
        raise AlreadyCollected(f"ball {ball.ball_id} was already collected", ball_id=ball.ball_id)
    if status == "expired":
        raise BallExpired(f"ball {ball.ball_id} expired at {ball.expires_at.isoformat()}", ball_id=ball.ball_id)
    if status == "waiting":
        raise NotRipe(f"ball {ball.ball_id} ripens at {ball.visible_at.isoformat()}", ball_id=ball.ball_id)


def collect(ball: Ball, now: datetime) -> Collection:
    """The owner takes everything that is left of a ripe ball."""
    require_ripe(ball, now)
    taken_g = ball.remaining_g
    collected = replace(ball, collected_g=taken_g, collected_at=ensure_utc(now))
    return Collection(ball_id=ball.ball_id, user_id=ball.user_id, collected_g=taken_g, ball=collected)


def collectable(balls: Iterable[Ball], now: datetime) -> list[Ball]:
    """The balls a collect-all takes: those ripe at ``now``, in ripening order."""
    ripe = [ball for ball in balls if ball_status(ball, now) == "ripe"]
    return sorted(ripe, key=lambda ball: (ball.visible_at, ball.ball_id))


def collect_all(balls: Iterable[Ball], now: datetime) -> list[Collection]:
    """One ``Collection`` per ripe ball; waiting, expired and collected balls are skipped."""
    return [collect(ball, now) for ball in collectable(balls, now)]


def expire(ball: Ball, now: datetime) -> Expiry:
    """Move what is left of an expired ball to the sink; idempotent.

    ``expired_g`` is 0 (and the ball unchanged) before ``expires_at``, for a collected ball,
    and for a ball whose expiry already ran, so running the job twice moves nothing twice.
    """
    now = ensure_utc(now, what="now")
    if ball.collected_g > 0 or ball.expired_g > 0 or now < ball.expires_at:
        return Expiry(ball_id=ball.ball_id, user_id=ball.user_id, expired_g=0, ball=ball)
    lost_g = ball.remaining_g
    return Expiry(ball_id=ball.ball_id, user_id=ball.user_id, expired_g=lost_g, ball=replace(ball, expired_g=lost_g))


def expire_due(balls: Iterable[Ball], now: datetime) -> list[Expiry]:
    """The expiries the scheduler must write at ``now`` (only those that move grams)."""
    due = (expire(ball, now) for ball in balls)
    return [expiry for expiry in due if expiry.expired_g > 0]
