"""Local periods: days, weeks, months and the 07:00 ripening, in the configured zone.

Stored times are UTC; caps and ripening are defined on the *local* calendar of the
configured zone (default Asia/Shanghai). These helpers are the one place that converts.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from greenenergy.clock import UTC, ensure_utc

Period = Literal["day", "week", "month"]


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    """The calendar date of ``moment`` in ``tz``."""
    return ensure_utc(moment).astimezone(tz).date()


def period_start(moment: datetime, tz: ZoneInfo, per: Period) -> date:
    """The first local date of the day / ISO week (Monday) / month holding ``moment``."""
    day = local_date(moment, tz)
    if per == "day":
        return day
    if per == "week":
        return day - timedelta(days=day.weekday())
    if per == "month":
        return day.replace(day=1)
    raise ValueError(f"unknown period {per!r}; use day, week or month")


def local_midnight_utc(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant at which local ``day`` begins."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def next_local_time(moment: datetime, tz: ZoneInfo, at: time = time(7)) -> datetime:
    """The first instant strictly after ``moment`` whose local wall time is ``at`` (UTC).

    A behaviour at 06:59 local ripens at 07:00 the same day; one at 07:00 or later, at
    07:00 the next day.
    """
    local = ensure_utc(moment).astimezone(tz)
    candidate = datetime.combine(local.date(), at, tzinfo=tz)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=tz)
    return candidate.astimezone(UTC)
