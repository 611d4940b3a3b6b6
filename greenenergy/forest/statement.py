"""The yearly green statement: one user's year, aggregated from plain rows.

Everything is counted in the *local* calendar year of the configured zone, by the instant
that belongs to it: an event by ``occurred_at``, a collected ball by ``collected_at``, an
expired ball by ``expires_at``, a theft by ``stolen_at``, a tree by ``redeemed_at``, a
certificate by ``issued_at``. Waiting and ripe balls are not in any year yet.

Carbon: 1 g of energy stands for 1 g of CO2e avoided, so every ``carbon_g`` equals the
``energy_g`` beside it; both are shown so a reader does not have to know that.

Energy "by behaviour" is what the user's own events earned (grams minted by the rules),
not what they collected: stolen and watered grams are in the ball summary instead.

Percentile: ``floor(100 * lower / total)``, where ``total`` is the number of users in the
distribution of yearly energy totals (which must include this user; inactive users count
with 0) and ``lower`` the number of them with a strictly lower total than this user's.
0 for an empty distribution. "Better than N % of users."
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from greenenergy.forest.achievements import streak_days
from greenenergy.forest.balls import Ball, ball_status
from greenenergy.forest.theft import Theft
from greenenergy.periods import local_date


@dataclass(frozen=True)
class EventRow:
    event_type: str
    energy_g: int
    occurred_at: datetime


@dataclass(frozen=True)
class TreeRow:
    tree_id: str
    species_id: str
    status: str
    redeemed_at: datetime


@dataclass(frozen=True)
class CertificateRow:
    certificate_no: str
    tree_id: str
    issued_at: datetime


@dataclass(frozen=True)
class BallSummary:
    collected_count: int = 0
    collected_g: int = 0
    expired_count: int = 0
    expired_g: int = 0
    stolen_from_me_count: int = 0
    stolen_from_me_g: int = 0
    stolen_by_me_count: int = 0
    stolen_by_me_g: int = 0


@dataclass(frozen=True)
class Statement:
    user_id: str
    year: int
    events: int  # the user's events that local year
    energy_g: int
    carbon_g: int
    energy_by_type_g: dict[str, int]
    carbon_by_type_g: dict[str, int]
    energy_by_month_g: dict[int, int]  # 1..12, every month present
    carbon_by_month_g: dict[int, int]
    balls: BallSummary
    trees_total: int
    trees_by_species: dict[str, int]
    trees_by_status: dict[str, int]
    certificates: tuple[str, ...]
    best_streak_days: int
    percentile: int


def percentile(mine_g: int, totals_g: Iterable[int]) -> int:
    """Share (0..100, floored) of users whose total is strictly lower than ``mine_g``."""
    totals = list(totals_g)
    if not totals:
        return 0
    lower = sum(1 for total in totals if total < mine_g)
    return 100 * lower // len(totals)


def _count(into: dict[str, int], key: str, amount: int = 1) -> None:
    into[key] = into.get(key, 0) + amount


def build_statement(
    *,
    user_id: str,
    year: int,
    tz: ZoneInfo,
    now: datetime,
    events: Iterable[EventRow],
    balls: Iterable[Ball],
    thefts: Iterable[Theft],
    trees: Iterable[TreeRow],
    certificates: Iterable[CertificateRow],
    collect_dates: Iterable[date],
    yearly_totals_g: Iterable[int],
) -> Statement:
    """Aggregate one user's rows into their statement for local ``year``.

    ``balls`` are the user's own balls, ``thefts`` any thefts by or from the user (others are
    ignored), ``collect_dates`` local dates of the user's collects, ``yearly_totals_g`` the
    yearly energy of every user (this one included) for the percentile. ``now`` decides
    whether an unswept ball has expired.
    """

    def in_year(moment: datetime) -> bool:
        return local_date(moment, tz).year == year

    by_type: dict[str, int] = {}
    by_month = dict.fromkeys(range(1, 13), 0)
    event_count = 0
    for event in events:
        if in_year(event.occurred_at):
            event_count += 1
            _count(by_type, event.event_type, int(event.energy_g))
            by_month[local_date(event.occurred_at, tz).month] += int(event.energy_g)
    energy_g = sum(by_month.values())

    summary: dict[str, int] = {}
    for ball in balls:
        if ball.user_id != user_id:
            continue
        status = ball_status(ball, now)
        if status == "collected" and ball.collected_at is not None and in_year(ball.collected_at):
            _count(summary, "collected_count")
            _count(summary, "collected_g", ball.collected_g)
        elif status == "expired" and in_year(ball.expires_at):
            _count(summary, "expired_count")
            # Unswept: what the expiry job will move is what remains.
            _count(summary, "expired_g", ball.expired_g + ball.remaining_g)
    for theft in thefts:
        if theft.stolen_g <= 0 or not in_year(theft.stolen_at):
            continue
        if theft.victim_id == user_id:
            _count(summary, "stolen_from_me_count")
            _count(summary, "stolen_from_me_g", theft.stolen_g)
        elif theft.thief_id == user_id:
            _count(summary, "stolen_by_me_count")
            _count(summary, "stolen_by_me_g", theft.stolen_g)

    by_species: dict[str, int] = {}
    by_status: dict[str, int] = {}
    for tree in trees:
        if in_year(tree.redeemed_at):
            _count(by_species, tree.species_id)
            _count(by_status, tree.status)

    _, best = streak_days(day for day in collect_dates if day.year == year)
    return Statement(
        user_id=user_id,
        year=year,
        events=event_count,
        energy_g=energy_g,
        carbon_g=energy_g,
        energy_by_type_g=dict(sorted(by_type.items())),
        carbon_by_type_g=dict(sorted(by_type.items())),
        energy_by_month_g=by_month,
        carbon_by_month_g=dict(by_month),
        balls=BallSummary(**summary),
        trees_total=sum(by_species.values()),
        trees_by_species=dict(sorted(by_species.items())),
        trees_by_status=dict(sorted(by_status.items())),
        certificates=tuple(sorted(c.certificate_no for c in certificates if in_year(c.issued_at))),
        best_streak_days=best,
        percentile=percentile(energy_g, yearly_totals_g),
    )
