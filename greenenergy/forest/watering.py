"""Watering a friend: the giver sends some available energy; it arrives as a ripe ball.

Rules: the amount is one of ``WATER_AMOUNTS_G`` (10, 18, 33, 66 g); nobody waters
themselves; at most ``MAX_WATERINGS_PER_DAY`` (3) waterings per (giver, friend) per local
day of the configured zone (the day of ``watered_at``). The ball the friend receives is
visible at once and expires 72 hours later, like any ball; the friend must collect it, and
friends may steal from it like any ripe ball.

Friendship (``NotFriends``) and the giver's balance (``InsufficientEnergy`` from the
ledger) are the service's checks: they need the database. The pure function returns what
to create: the watering record and the friend's ball; the service writes them together
with one ledger transaction (giver available -> friend pending).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from greenenergy.clock import ensure_utc
from greenenergy.forest.balls import WATER_EVENT_TYPE, Ball, expires_at
from greenenergy.forest.errors import InvalidAmount, SelfWatering, WateringLimit
from greenenergy.periods import local_date

WATER_AMOUNTS_G: tuple[int, ...] = (10, 18, 33, 66)
MAX_WATERINGS_PER_DAY = 3


@dataclass(frozen=True)
class Watering:
    giver_id: str
    friend_id: str
    energy_g: int
    watered_at: datetime
    ball_id: str


@dataclass(frozen=True)
class WaterPlan:
    """What to write: the watering and the friend's new ball (``ball.energy_g`` grams)."""

    watering: Watering
    ball: Ball


def waterings_today(earlier: Iterable[Watering], *, giver_id: str, friend_id: str, now: datetime, tz: ZoneInfo) -> int:
    """How many times ``giver_id`` watered ``friend_id`` on the local day of ``now``."""
    today = local_date(now, tz)
    return sum(
        1
        for w in earlier
        if w.giver_id == giver_id and w.friend_id == friend_id and local_date(w.watered_at, tz) == today
    )


def water(
    *,
    giver_id: str,
    friend_id: str,
    energy_g: int,
    now: datetime,
    tz: ZoneInfo,
    earlier: Iterable[Watering],
    ball_id: str,
) -> WaterPlan:
    """Plan one watering; ``earlier`` holds at least this pair's waterings of today."""
    now = ensure_utc(now, what="now")
    # A float 10.0 equals 10 but must not pass: energy is integer grams.
    if isinstance(energy_g, bool) or not isinstance(energy_g, int) or energy_g not in WATER_AMOUNTS_G:
        raise InvalidAmount(
            f"cannot water {energy_g!r} g; choose one of {', '.join(map(str, WATER_AMOUNTS_G))}",
            energy_g=energy_g,
        )
    if giver_id == friend_id:
        raise SelfWatering("you cannot water yourself; water a friend", user_id=giver_id)
    done = waterings_today(earlier, giver_id=giver_id, friend_id=friend_id, now=now, tz=tz)
    if done >= MAX_WATERINGS_PER_DAY:
        raise WateringLimit(
            f"you already watered {friend_id} {done} times today (limit {MAX_WATERINGS_PER_DAY}); "
            f"try again after local midnight",
            friend_id=friend_id,
        )
    ball = Ball(
        ball_id=ball_id,
        user_id=friend_id,
        event_type=WATER_EVENT_TYPE,
        energy_g=energy_g,
        ripens_at=now,
        visible_at=now,
        expires_at=expires_at(now),
        source="water",
        giver_id=giver_id,
    )
    return WaterPlan(Watering(giver_id, friend_id, energy_g, now, ball_id), ball)
