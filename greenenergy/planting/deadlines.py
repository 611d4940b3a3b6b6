"""Planting deadlines and overdue orders.

A plot's season (``start``..``end`` inclusive, local dates) recurs every year on the same
month and day (29 February becomes 28 February in other years). An order placed inside a
window is due ``planting_deadline_days`` after it was placed; an order placed outside every
window waits for the next window and is due that many days after the window opens (local
midnight). Replanting orders (a dead tree) follow the same rule from the moment the death
was reported.

An order is ``overdue`` once ``now`` is strictly after its deadline and it is still not
planted. Deadlines are computed once, when the order is created, and stored with it.

As with an energy ball, the status a reader sees is derived from the clock, so it is right
even when the overdue job has not run yet; and what the job has already recorded stands:

* ``planted`` once a confirmation closed the order;
* ``overdue`` if not planted and (``now > deadline`` or the job marked it -- the job may
  have run as of a later instant than this reader's clock, e.g. ``greenenergy tick --now``);
* ``pending`` otherwise.

``days_overdue`` counts whole days past the deadline as of the later of ``now`` and the
job's mark, so it never reads 0 for an order the job saw overdue days ago.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from greenenergy.clock import ensure_utc
from greenenergy.periods import local_date, local_midnight_utc
from greenenergy.planting.model import Plot, Season
from greenenergy.planting.records import OrderState

OrderStatus = Literal["pending", "overdue", "planted"]


def _in_year(day: date, year: int) -> date:
    try:
        return day.replace(year=year)
    except ValueError:  # 29 February in a common year
        return day.replace(year=year, day=28)


def _window(season: Season, year: int) -> tuple[date, date]:
    """The occurrence of ``season`` that starts in ``year``."""
    span = season.end.year - season.start.year  # 1 for a window across New Year
    return _in_year(season.start, year), _in_year(season.end, year + span)


def planting_starts_on(season: Season, day: date) -> date:
    """``day`` itself if it falls inside a window of ``season``, else the next window's start."""
    for year in (day.year - 1, day.year, day.year + 1):
        start, end = _window(season, year)
        if start <= day <= end:
            return day
    return min(start for start, _ in (_window(season, y) for y in (day.year, day.year + 1)) if start > day)


def deadline(ordered_at: datetime, plot: Plot, *, tz: ZoneInfo) -> datetime:
    """When the planting order placed at ``ordered_at`` for ``plot`` is due (UTC)."""
    ordered_at = ensure_utc(ordered_at, what="ordered_at")
    day = local_date(ordered_at, tz)
    starts_on = planting_starts_on(plot.season, day)
    base = ordered_at if starts_on == day else local_midnight_utc(starts_on, tz)
    return base + timedelta(days=plot.planting_deadline_days)


def is_overdue(deadline_at: datetime, now: datetime) -> bool:
    """True when ``now`` is past the deadline (the caller checks the order is unplanted)."""
    return ensure_utc(now, what="now") > ensure_utc(deadline_at, what="deadline_at")


def order_status(
    *, planted: bool, deadline_at: datetime, now: datetime, marked_overdue_at: datetime | None = None
) -> OrderStatus:
    """The status a reader sees for one planting order at ``now`` (see the module docstring).

    ``marked_overdue_at`` is when the overdue job marked the order (None: not marked).
    """
    if planted:
        return "planted"
    return "overdue" if marked_overdue_at is not None or is_overdue(deadline_at, now) else "pending"


def days_overdue(deadline_at: datetime, now: datetime, marked_overdue_at: datetime | None = None) -> int:
    """Whole days past ``deadline_at`` as of ``now`` (or the job's later mark); 0 before it."""
    as_of = ensure_utc(now, what="now")
    if marked_overdue_at is not None:
        as_of = max(as_of, ensure_utc(marked_overdue_at, what="marked_overdue_at"))
    return max(0, (as_of - ensure_utc(deadline_at, what="deadline_at")).days)


def overdue_marks(orders: Iterable[OrderState], now: datetime) -> list[str]:
    """The ids of ``orders`` the overdue job marks at ``now``: pending and past the deadline."""
    return [o.order_id for o in orders if o.status == "pending" and is_overdue(o.deadline, now)]
