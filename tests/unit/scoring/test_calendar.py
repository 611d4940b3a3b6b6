"""Local periods of UTC instants, per-hour cached (online) and by offset table (batch),
against ``zoneinfo`` itself, across DST changes and an offset change that turns the date
back."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from greenenergy.periods import local_date
from greenenergy.scoring.calendar import (
    NS_PER_SECOND,
    LocalCalendar,
    date_to_day_number,
    day_number_to_date,
    month_start_days,
    period_triple,
    week_start_days,
)

BERLIN = ZoneInfo("Europe/Berlin")


def instants(start: datetime, hours: int, step_minutes: int) -> list[datetime]:
    return [start + timedelta(minutes=m) for m in range(0, hours * 60, step_minutes)]


# Europe/Berlin 2026: +01:00 until 29 March 01:00 UTC, +02:00 until 25 October 01:00 UTC.
# Each span covers a local midnight and the change itself, minute by minute near them.
DST_SPANS = [
    ("Europe/Berlin", datetime(2026, 3, 28, 20, tzinfo=UTC)),
    ("Europe/Berlin", datetime(2026, 10, 24, 20, tzinfo=UTC)),
    ("America/New_York", datetime(2026, 3, 8, 3, tzinfo=UTC)),
    ("Asia/Kolkata", datetime(2026, 2, 28, 16, tzinfo=UTC)),  # +05:30, a month end
    ("America/Juneau", datetime(1867, 10, 18, 20, tzinfo=UTC)),  # the date goes back a day
]


@pytest.mark.parametrize(("zone", "start"), DST_SPANS)
def test_the_online_periods_are_zoneinfo_s_on_every_minute(zone: str, start: datetime) -> None:
    tz = ZoneInfo(zone)
    calendar = LocalCalendar(tz)
    moments = instants(start, 10, 1)
    shuffled = moments[::7] + moments[::-3]  # jumps back and forth across the cached hours
    for moment in moments + moments[::-1] + shuffled:
        expected = period_triple(local_date(moment, tz))
        assert calendar.periods(moment) == expected, moment
        assert calendar.periods(moment.astimezone(tz)) == expected, moment  # any offset: the same instant


@pytest.mark.parametrize(("zone", "start"), DST_SPANS)
def test_the_batch_local_days_are_zoneinfo_s_on_every_minute(zone: str, start: datetime) -> None:
    tz = ZoneInfo(zone)
    moments = instants(start, 10, 1) + [start + timedelta(seconds=s) for s in range(-2, 3)]
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    stamps = np.array([(m - epoch) // timedelta(seconds=1) * NS_PER_SECOND for m in moments], dtype=np.int64)
    days = LocalCalendar(tz).local_days(stamps)
    assert [day_number_to_date(d) for d in days] == [local_date(m, tz) for m in moments]


def test_the_dst_change_lands_on_its_second_in_the_batch_table() -> None:
    change = datetime(2026, 10, 25, 1, tzinfo=UTC)  # 03:00 CEST becomes 02:00 CET
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    # local midnights: 22:00 UTC before the change (CEST), 23:00 UTC after it (CET); 25 October
    # has 25 hours
    seconds = [-(3 * 3600 + 1), -(3 * 3600), -1, 0, 22 * 3600 - 1, 22 * 3600]
    moments = [change + timedelta(seconds=s) for s in seconds]
    stamps = np.array([(m - epoch) // timedelta(seconds=1) * NS_PER_SECOND for m in moments], dtype=np.int64)
    days = [day_number_to_date(d) for d in LocalCalendar(BERLIN).local_days(stamps)]
    assert days == [
        date(2026, 10, 24),
        date(2026, 10, 25),
        date(2026, 10, 25),
        date(2026, 10, 25),
        date(2026, 10, 25),
        date(2026, 10, 26),
    ]


def test_week_and_month_starts_of_day_numbers() -> None:
    days = np.arange(date_to_day_number(date(2023, 12, 20)), date_to_day_number(date(2024, 3, 10)))
    weeks = [day_number_to_date(d) for d in week_start_days(days)]
    months = [day_number_to_date(d) for d in month_start_days(days)]  # few distinct days: a table
    expected = [period_triple(day_number_to_date(d)) for d in days]
    assert weeks == [t[1] for t in expected] and months == [t[2] for t in expected]
    wide = np.array([date_to_day_number(date(1900, 2, 28)), date_to_day_number(date(2100, 3, 1))])
    assert [day_number_to_date(d) for d in month_start_days(wide)] == [date(1900, 2, 1), date(2100, 3, 1)]
    assert month_start_days(np.zeros(0, dtype=np.int64)).tolist() == []
