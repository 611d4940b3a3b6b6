"""A user's achievement counters: one value, kept in the commit of what it counts.

Ingestion keeps ``lifetime_g``, ``event_counts`` and ``data_totals`` (``ingestion.userstate``);
the forest and planting use cases keep the others. ``stats`` turns them into the
``UserStats`` the achievements read, so evaluating achievements reads one row whatever the
length of the user's history.

The collecting streak is kept as the last local day with a collect, the run of consecutive
days ending there and the best run ever (``after_collect``); a day without a collect breaks
the run only when the next collect comes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from greenenergy.forest.achievements import UserStats

COUNTER_COLUMNS = ("balls_collected", "steals", "waterings_given", "trees")


@dataclass(frozen=True, slots=True)
class Counters:
    user_id: str
    lifetime_g: int = 0
    balls_collected: int = 0
    steals: int = 0
    waterings_given: int = 0
    trees: int = 0
    last_collect_day: date | None = None
    collect_run_days: int = 0
    collect_best_days: int = 0
    event_counts: Mapping[str, int] = field(default_factory=dict)
    data_totals: Mapping[str, int] = field(default_factory=dict)
    awards: frozenset[str] = frozenset()  # achievement ids the user holds


def after_collect(counters: Counters, *, balls: int, day: date) -> Counters:
    """``counters`` after the user collected ``balls`` balls on local ``day``."""
    last = counters.last_collect_day
    run = counters.collect_run_days
    if last is None or day > last + timedelta(days=1):
        run = 1
    elif day == last + timedelta(days=1):
        run += 1
    elif day < last:  # a clock set back: keep the newer day as the end of the run
        day = last
    return replace(
        counters,
        balls_collected=counters.balls_collected + balls,
        last_collect_day=day,
        collect_run_days=run,
        collect_best_days=max(counters.collect_best_days, run),
    )


def stats(counters: Counters, *, friends: int = 0) -> UserStats:
    """The achievement metrics of ``counters`` (``friends`` is read where it is kept)."""
    return UserStats(
        trees_planted=counters.trees,
        lifetime_energy_g=counters.lifetime_g,
        best_collect_streak_days=counters.collect_best_days,
        balls_collected=counters.balls_collected,
        friends=friends,
        waterings_given=counters.waterings_given,
        steals=counters.steals,
        event_counts=dict(counters.event_counts),
        data_totals={key: int(value) for key, value in counters.data_totals.items()},
    )
