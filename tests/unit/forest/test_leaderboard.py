"""Leaderboards: competition ranking with ties, deterministic order, local ISO weeks."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenenergy.forest import (
    Credit,
    RankedEntry,
    board_entries,
    period_scores,
    rank_among,
    rank_entries,
    top,
    week_start,
    week_window,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


BOARD = [("dan", 50), ("amy", 80), ("cat", 50), ("bob", 80), ("eve", 10)]


def test_ties_share_a_rank_and_the_next_rank_skips():
    assert rank_entries(BOARD) == [
        RankedEntry(1, "amy", 80),
        RankedEntry(1, "bob", 80),
        RankedEntry(3, "cat", 50),
        RankedEntry(3, "dan", 50),
        RankedEntry(5, "eve", 10),
    ]


def test_rank_among_counts_strictly_greater_scores():
    assert rank_among(BOARD, "dan") == (3, 5)
    assert rank_among(BOARD, "eve") == (5, 5)
    assert rank_among(BOARD, "bob") == (1, 5)


def test_top_cuts_the_listing():
    assert [e.user_id for e in top(BOARD, 3)] == ["amy", "bob", "cat"]


def test_a_user_off_the_board_or_twice_on_it_is_a_programming_error():
    with pytest.raises(ValueError):
        rank_among(BOARD, "zoe")
    with pytest.raises(ValueError):
        rank_entries([("amy", 1), ("amy", 2)])


def test_idle_members_are_on_the_board_with_zero():
    entries = board_entries(["amy", "bob", "cat"], {"bob": 5})
    assert entries == [("amy", 0), ("bob", 5), ("cat", 0)]
    assert rank_among(entries, "amy") == (2, 3)


@given(st.dictionaries(st.text(min_size=1, max_size=3), st.integers(0, 20), min_size=1, max_size=30))
def test_listing_rank_and_rank_among_agree(scores):
    entries = list(scores.items())
    for entry in rank_entries(entries):
        assert rank_among(entries, entry.user_id) == (entry.rank, len(entries))


def test_the_week_starts_at_monday_midnight_shanghai():
    # Sunday 23:59 local still belongs to the week of Monday 16 November.
    assert week_start(at("2026-11-22T23:59:59+08:00"), SHANGHAI) == at("2026-11-15T16:00:00+00:00")
    assert week_start(at("2026-11-23T00:00:00+08:00"), SHANGHAI) == at("2026-11-22T16:00:00+00:00")


def test_a_week_across_the_spring_change_in_berlin_is_167_hours():
    start, end = week_window(at("2026-03-25T12:00:00+01:00"), BERLIN)
    assert start == at("2026-03-23T00:00:00+01:00") and end == at("2026-03-30T00:00:00+02:00")
    assert (end - start).total_seconds() == 167 * 3600


def test_weekly_scores_count_credits_inside_the_window_only():
    start, end = week_window(at("2026-11-18T12:00:00+08:00"), SHANGHAI)
    credited = [
        Credit("amy", 10, at("2026-11-15T23:59:59+08:00")),  # the week before
        Credit("amy", 20, at("2026-11-16T00:00:00+08:00")),  # first instant of the week
        Credit("bob", 30, at("2026-11-22T23:59:59+08:00")),
        Credit("bob", 40, at("2026-11-23T00:00:00+08:00")),  # the next week
    ]
    assert period_scores(credited, since=start, until=end) == {"amy": 20, "bob": 30}
    assert period_scores(credited) == {"amy": 30, "bob": 70}
