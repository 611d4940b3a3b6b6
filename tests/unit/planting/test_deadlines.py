"""Deadlines: inside the yearly season from the order, outside it from the next season's start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from greenenergy.planting import deadline, is_overdue, order_status

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_order_inside_the_season_is_due_deadline_days_later(catalog):
    plot = catalog.get_plot("a-01")  # season 03-15..05-31, 90 days
    ordered_at = datetime(2026, 4, 2, 3, 0, tzinfo=UTC)
    assert deadline(ordered_at, plot, tz=SHANGHAI) == ordered_at + timedelta(days=90)


def test_order_after_the_season_waits_for_next_year(catalog):
    plot = catalog.get_plot("a-01")
    ordered_at = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    # 2027-03-15 00:00 Shanghai is 2027-03-14 16:00 UTC.
    assert deadline(ordered_at, plot, tz=SHANGHAI) == datetime(2027, 3, 14, 16, 0, tzinfo=UTC) + timedelta(days=90)


def test_order_before_the_season_waits_for_its_start(catalog):
    plot = catalog.get_plot("a-01")
    ordered_at = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    assert deadline(ordered_at, plot, tz=SHANGHAI) == datetime(2026, 3, 14, 16, 0, tzinfo=UTC) + timedelta(days=90)


def test_season_days_are_local_days(catalog):
    plot = catalog.get_plot("a-01")
    # 2026-05-31 17:00 UTC is already 1 June in Shanghai: outside the window.
    ordered_at = datetime(2026, 5, 31, 17, 0, tzinfo=UTC)
    assert deadline(ordered_at, plot, tz=SHANGHAI) == datetime(2027, 3, 14, 16, 0, tzinfo=UTC) + timedelta(days=90)
    inside = datetime(2026, 5, 31, 15, 0, tzinfo=UTC)  # 23:00 on 31 May in Shanghai
    assert deadline(inside, plot, tz=SHANGHAI) == inside + timedelta(days=90)


def test_overdue_only_strictly_after_the_deadline():
    due = datetime(2026, 6, 30, 16, 0, tzinfo=UTC)
    assert not is_overdue(due, due)
    assert is_overdue(due, due + timedelta(microseconds=1))
    assert order_status(planted=False, deadline_at=due, now=due + timedelta(days=1)) == "overdue"
    assert order_status(planted=False, deadline_at=due, now=due) == "pending"
    assert order_status(planted=True, deadline_at=due, now=due + timedelta(days=1)) == "planted"


def test_a_season_across_new_year_recurs():
    from datetime import date

    from greenenergy.planting.deadlines import planting_starts_on
    from greenenergy.planting.model import Season

    winter = Season(start=date(2026, 11, 1), end=date(2027, 2, 28))
    assert planting_starts_on(winter, date(2028, 1, 15)) == date(2028, 1, 15)  # inside the 2027/28 window
    assert planting_starts_on(winter, date(2028, 3, 1)) == date(2028, 11, 1)
    assert planting_starts_on(winter, date(2028, 12, 31)) == date(2028, 12, 31)


def test_a_season_starting_on_29_february_starts_on_28_february_in_common_years():
    from datetime import date

    from greenenergy.planting.deadlines import planting_starts_on
    from greenenergy.planting.model import Season

    leap = Season(start=date(2028, 2, 29), end=date(2028, 4, 30))
    assert planting_starts_on(leap, date(2027, 1, 10)) == date(2027, 2, 28)
    assert planting_starts_on(leap, date(2028, 1, 10)) == date(2028, 2, 29)


def test_an_order_the_job_marked_stays_overdue_and_counts_days_from_the_later_instant():
    due = datetime(2026, 6, 30, 16, 0, tzinfo=UTC)
    marked = due + timedelta(days=10, hours=1)  # the job ran as of a later instant than the reader
    before_the_deadline = due - timedelta(days=3)
    assert order_status(planted=False, deadline_at=due, now=before_the_deadline, marked_overdue_at=marked) == "overdue"
    assert order_status(planted=True, deadline_at=due, now=due, marked_overdue_at=marked) == "planted"
    from greenenergy.planting import days_overdue

    assert days_overdue(due, due - timedelta(days=3)) == 0
    assert days_overdue(due, due + timedelta(days=2, hours=23)) == 2
    assert days_overdue(due, due - timedelta(days=3), marked) == 10
    assert days_overdue(due, marked + timedelta(days=5), marked) == 15
