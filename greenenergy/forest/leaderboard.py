"""Leaderboards: who earned the most energy among friends or among everyone.

A *board* is a set of members (a user and their friends, or all users), each with a score;
members with nothing in the period are on the board with score 0. What a rank means, so
that the SQL the services run and this module can be tested against each other:

* **rank** = 1 + the number of members with a strictly greater score (standard
  competition ranking, "1224": equal scores share a rank, the next rank skips);
* **total** = the number of members;
* **order** of a listing: score descending, then ``user_id`` ascending (code-point order),
  so equal scores always list the same way.

In SQL: ``rank = 1 + count(*) filter (where score > :mine)``, ``total = count(*)``,
``order by score desc, user_id``.

The suggested *score* is the grams that entered the user's ``available`` account by
collecting (own balls and waterings received) or stealing, within the period; ``period_scores``
computes it from plain credit rows. Periods: ``week`` is the local ISO week (Monday 00:00 in
the configured zone, inclusive, to the next Monday 00:00, exclusive); ``lifetime`` has no bounds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from greenenergy.clock import ensure_utc
from greenenergy.periods import local_midnight_utc, period_start

BoardPeriod = Literal["week", "lifetime"]


@dataclass(frozen=True)
class RankedEntry:
    rank: int
    user_id: str
    score: int


@dataclass(frozen=True)
class Credit:
    """Grams credited to a user's available account at ``at`` (a collect or a steal)."""

    user_id: str
    energy_g: int
    at: datetime


def _checked(entries: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    entries = [(user_id, int(score)) for user_id, score in entries]
    seen: set[str] = set()
    for user_id, _ in entries:
        if user_id in seen:
            raise ValueError(f"user {user_id!r} appears twice on one board")
        seen.add(user_id)
    return entries


def rank_entries(entries: Iterable[tuple[str, int]]) -> list[RankedEntry]:
    """The whole board in listing order, each member with its competition rank."""
    ordered = sorted(_checked(entries), key=lambda entry: (-entry[1], entry[0]))
    ranked: list[RankedEntry] = []
    for position, (user_id, score) in enumerate(ordered, start=1):
        # Same score as the one above: same rank; otherwise the rank is the position.
        rank = ranked[-1].rank if ranked and ranked[-1].score == score else position
        ranked.append(RankedEntry(rank, user_id, score))
    return ranked


def top(entries: Iterable[tuple[str, int]], limit: int) -> list[RankedEntry]:
    """The first ``limit`` rows of the listing."""
    return rank_entries(entries)[: max(0, limit)]


def rank_among(entries: Sequence[tuple[str, int]], user_id: str) -> tuple[int, int]:
    """``(rank, total)`` of ``user_id``, who must be a member of the board."""
    entries = _checked(entries)
    scores = dict(entries)
    if user_id not in scores:
        raise ValueError(f"user {user_id!r} is not on this board; boards include every member, score 0 if idle")
    mine = scores[user_id]
    return 1 + sum(1 for _, score in entries if score > mine), len(entries)


def week_start(now: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant of Monday 00:00 local of the ISO week holding ``now``."""
    return local_midnight_utc(period_start(now, tz, "week"), tz)


def week_window(now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """``[start, end)`` of the local ISO week holding ``now`` (168 h, or 167/169 across DST)."""
    monday = period_start(now, tz, "week")
    return local_midnight_utc(monday, tz), local_midnight_utc(monday + timedelta(days=7), tz)


def period_scores(
    credited: Iterable[Credit], *, since: datetime | None = None, until: datetime | None = None
) -> dict[str, int]:
    """Sum of credits per user with ``since <= at < until`` (a bound of None is open)."""
    lower = ensure_utc(since) if since is not None else None
    upper = ensure_utc(until) if until is not None else None
    scores: dict[str, int] = {}
    for credit in credited:
        at = ensure_utc(credit.at)
        if (lower is None or at >= lower) and (upper is None or at < upper):
            scores[credit.user_id] = scores.get(credit.user_id, 0) + int(credit.energy_g)
    return scores


def board_entries(members: Iterable[str], scores: dict[str, int]) -> list[tuple[str, int]]:
    """Every member with its score, 0 for those without credits in the period."""
    return [(user_id, scores.get(user_id, 0)) for user_id in dict.fromkeys(members)]
