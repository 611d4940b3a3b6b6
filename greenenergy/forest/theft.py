"""Stealing from a friend's ripe ball.

Limits (checked in this order; the first that fails is the error):

1. never from one's own ball (``own_ball``, InvalidInput);
2. only from a ripe ball (``already_collected`` / ``expired`` / ``not_ripe``);
3. each thief once per ball, twice while the thief's double-collect card is active at
   ``now`` (``already_stolen``);
4. at most ``MAX_THIEVES_PER_BALL`` (6) distinct thieves per ball (``too_many_thieves``);
5. thieves together at most ``energy_g // 2`` (``nothing_left`` once that is reached).

Friendship is the service's check (``NotFriends``), it needs the friends table.

If the attempt passes, and the victim's protection cover is active at ``now``, the steal
yields 0 g with reason ``"protected"``. Such an attempt does NOT use up the thief's chance
and does not count as a thief on the ball: a cover postpones, it does not burn, the thief's
turn. Its ``Theft`` record (``stolen_g == 0``) may be stored so the victim sees who tried.

The amount is deterministic, so a retried request or a replay gives the same grams::

    pct    = 5 + int.from_bytes(sha256(f"{ball_id}|{thief_id}|{attempt}")[:8], "big") % 11
    share  = max(1, energy_g * pct // 100)               # 5..15 % of the ball, at least 1 g
    stolen = min(share, energy_g // 2 - stolen_g, remaining_g)

``attempt`` is 1 for the thief's first steal from that ball and 2 for the second (double
card). Only thefts with ``stolen_g > 0`` count for limits 3-5, and their sum must equal the
ball's ``stolen_g``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from greenenergy.clock import ensure_utc
from greenenergy.forest.balls import Ball, require_ripe
from greenenergy.forest.errors import (
    AlreadyStolen,
    BallInvariantError,
    NothingLeft,
    OwnBall,
    TooManyThieves,
)
from greenenergy.forest.items import DOUBLE_COLLECT_CARD, PROTECTION_COVER, ActiveEffect, has_active

MAX_THIEVES_PER_BALL = 6
STEAL_PCT_MIN = 5
STEAL_PCT_MAX = 15
STEALS_PER_BALL = 1
STEALS_PER_BALL_WITH_CARD = 2

StealReason = Literal["stolen", "protected"]


@dataclass(frozen=True)
class Theft:
    """One steal from one ball; ``stolen_g == 0`` records an attempt a cover stopped."""

    ball_id: str
    victim_id: str
    thief_id: str
    stolen_g: int
    stolen_at: datetime


@dataclass(frozen=True)
class StealResult:
    """``stolen_g`` moves from the victim's pending to the thief's available."""

    stolen_g: int
    reason: StealReason
    ball: Ball  # unchanged when protected
    theft: Theft


def steal_pct(ball_id: str, thief_id: str, attempt: int = 1) -> int:
    """The percentage (5..15) of the ball this thief's ``attempt`` takes."""
    digest = hashlib.sha256(f"{ball_id}|{thief_id}|{attempt}".encode()).digest()
    span = STEAL_PCT_MAX - STEAL_PCT_MIN + 1
    return STEAL_PCT_MIN + int.from_bytes(digest[:8], "big") % span


def theft_allowance_g(ball: Ball) -> int:
    """What thieves together may still take from ``ball``."""
    return ball.energy_g // 2 - ball.stolen_g


def counted(thefts: Iterable[Theft], ball: Ball) -> list[Theft]:
    """The thefts that count for the limits, checked against the ball's ``stolen_g``."""
    thefts = list(thefts)
    strangers = {t.ball_id for t in thefts} - {ball.ball_id}
    if strangers:
        raise BallInvariantError(
            f"thefts of other balls {sorted(strangers)} passed for ball {ball.ball_id}", ball_id=ball.ball_id
        )
    real = [t for t in thefts if t.stolen_g > 0]
    total_g = sum(t.stolen_g for t in real)
    if total_g != ball.stolen_g:
        raise BallInvariantError(
            f"ball {ball.ball_id}: thefts sum to {total_g} g but stolen_g is {ball.stolen_g}",
            ball_id=ball.ball_id,
        )
    return real


def thieves(thefts: Iterable[Theft]) -> set[str]:
    """Distinct thieves that took grams."""
    return {t.thief_id for t in thefts if t.stolen_g > 0}


def steal(
    ball: Ball,
    thefts: Iterable[Theft],
    *,
    thief_id: str,
    now: datetime,
    victim_effects: Iterable[ActiveEffect] = (),
    thief_effects: Iterable[ActiveEffect] = (),
) -> StealResult:
    """``thief_id`` steals from ``ball`` at ``now``; ``thefts`` are the ball's earlier thefts."""
    now = ensure_utc(now, what="now")
    if thief_id == ball.user_id:
        raise OwnBall("you cannot steal from your own ball; collect it instead", ball_id=ball.ball_id)
    require_ripe(ball, now)
    real = counted(thefts, ball)

    mine = sum(1 for t in real if t.thief_id == thief_id)
    doubled = has_active(thief_effects, DOUBLE_COLLECT_CARD, now, user_id=thief_id)
    allowed = STEALS_PER_BALL_WITH_CARD if doubled else STEALS_PER_BALL
    if mine >= allowed:
        raise AlreadyStolen(
            f"you already stole from ball {ball.ball_id}"
            + ("" if doubled else "; a double-collect card allows a second time"),
            ball_id=ball.ball_id,
        )
    if mine == 0 and len(thieves(real)) >= MAX_THIEVES_PER_BALL:
        raise TooManyThieves(f"ball {ball.ball_id} already has {MAX_THIEVES_PER_BALL} thieves", ball_id=ball.ball_id)
    allowance_g = theft_allowance_g(ball)
    if allowance_g <= 0:
        raise NothingLeft(
            f"thieves already took half of ball {ball.ball_id}; the rest is its owner's", ball_id=ball.ball_id
        )

    if has_active(victim_effects, PROTECTION_COVER, now, user_id=ball.user_id):
        record = Theft(ball.ball_id, ball.user_id, thief_id, 0, now)
        return StealResult(stolen_g=0, reason="protected", ball=ball, theft=record)

    attempt = mine + 1
    share_g = max(1, ball.energy_g * steal_pct(ball.ball_id, thief_id, attempt) // 100)
    taken_g = min(share_g, allowance_g, ball.remaining_g)
    record = Theft(ball.ball_id, ball.user_id, thief_id, taken_g, now)
    return StealResult(
        stolen_g=taken_g, reason="stolen", ball=replace(ball, stolen_g=ball.stolen_g + taken_g), theft=record
    )
