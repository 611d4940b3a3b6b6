"""Achievements as data: loading with file:line errors, awarding once, streaks."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from greenenergy.errors import CatalogError
from greenenergy.forest import UserStats, evaluate, load_achievements, parse_achievements, streak_days

CATALOG = Path(__file__).resolve().parents[3] / "achievements" / "achievements.yaml"

TWO = """\
achievements:
  - id: first_tree
    name: {zh: 第一棵树, en: First tree}
    metric: trees_planted
    threshold: 1
    reward_item: protection_cover
  - id: boxes_100
    name: {zh: 回收100个快递箱, en: 100 boxes recycled}
    metric: data_total:recycling.box:boxes
    threshold: 100
"""


def test_an_achievement_is_awarded_when_the_metric_reaches_the_threshold():
    catalog = parse_achievements(TWO)
    awards = evaluate(catalog, UserStats(trees_planted=1, data_totals={"recycling.box:boxes": 99}), set())
    assert [(a.achievement_id, a.value, a.reward_item) for a in awards] == [("first_tree", 1, "protection_cover")]


def test_an_achievement_already_held_is_never_returned_again():
    catalog = parse_achievements(TWO)
    stats = UserStats(trees_planted=3, data_totals={"recycling.box:boxes": 100})
    first = evaluate(catalog, stats, set())
    assert [a.achievement_id for a in first] == ["first_tree", "boxes_100"]
    held = {a.achievement_id for a in first}
    assert evaluate(catalog, stats, held) == []


def test_the_shipped_catalog_has_the_issue_achievements():
    catalog = {
        a.id: a for a in load_achievements(CATALOG, event_types={"recycling.box", "transit.metro", "food.no_cutlery"})
    }
    assert (catalog["first_tree"].metric, catalog["first_tree"].threshold) == ("trees_planted", 1)
    assert (catalog["streak_7"].metric, catalog["streak_7"].threshold) == ("collect_streak_days", 7)
    assert (catalog["boxes_100"].metric, catalog["boxes_100"].threshold) == ("data_total:recycling.box:boxes", 100)
    assert (catalog["tonne_co2e"].metric, catalog["tonne_co2e"].threshold) == ("lifetime_energy_g", 1_000_000)
    awards = evaluate(catalog.values(), UserStats(lifetime_energy_g=1_000_000, best_collect_streak_days=7), set())
    assert {a.achievement_id for a in awards} == {"tonne_co2e", "streak_7"}


def problems_of(text: str, **kwargs) -> list[str]:
    with pytest.raises(CatalogError) as caught:
        parse_achievements(text, source="ach.yaml", **kwargs)
    return caught.value.problems


def test_an_unknown_metric_is_reported_at_its_line():
    text = """\
achievements:
  - id: walker
    name: {zh: 步行者, en: Walker}
    metric: kilometres_walked
    threshold: 5
"""
    [problem] = problems_of(text)
    assert problem.startswith("ach.yaml:4: walker: metric: ") and "unknown metric 'kilometres_walked'" in problem


def test_every_problem_is_reported_in_one_run():
    text = """\
achievements:
  - id: a
    name: {zh: 甲, en: A}
    metric: trees_planted
    threshold: 0
  - id: b
    name: {zh: 乙}
    metric: trees_planted
    threshold: "7"
  - id: a
    name: {zh: 甲, en: A}
    metric: trees_planted
    threshold: 2
"""
    problems = problems_of(text)
    assert problems[0].startswith("ach.yaml:5: a: threshold: ")
    assert any(p.startswith("ach.yaml:7: b: name.en: ") for p in problems)
    assert any(p.startswith("ach.yaml:9: b: threshold: ") for p in problems)
    assert problems[-1] == "ach.yaml:10: a: duplicate id (first at line 2)"


def test_a_reward_must_be_a_known_item():
    text = """\
achievements:
  - id: a
    name: {zh: 甲, en: A}
    metric: trees_planted
    threshold: 1
    reward_item: golden_watering_can
"""
    [problem] = problems_of(text)
    assert problem.startswith("ach.yaml:6: a: reward_item: ")


def test_a_metric_naming_an_undeclared_event_type_is_an_error_when_types_are_known():
    text = """\
achievements:
  - id: boxes
    name: {zh: 箱, en: Boxes}
    metric: events_of_type:recycling.boxes
    threshold: 1
"""
    [problem] = problems_of(text, event_types={"recycling.box"})
    assert problem.startswith("ach.yaml:4: boxes: metric 'events_of_type:recycling.boxes' names unknown event type")


def test_broken_yaml_names_the_line():
    [problem] = problems_of("achievements:\n  - id: a\n    name: {zh: 甲\n")
    assert problem.startswith("ach.yaml:")
    assert "yaml" in problem


def test_a_file_without_the_list_is_refused():
    assert problems_of("awards: []\n") == ["ach.yaml:1: the file must hold a mapping with an 'achievements' list"]


# Streaks -------------------------------------------------------------------------------


def days(*texts: str) -> list[date]:
    return [date.fromisoformat(t) for t in texts]


def test_streaks_count_consecutive_days_across_a_month_end():
    collected = days("2026-11-28", "2026-11-29", "2026-11-30", "2026-12-01", "2026-12-03", "2026-12-04")
    assert streak_days(collected) == (2, 4)


def test_several_collects_a_day_count_once():
    assert streak_days(days("2026-11-20", "2026-11-20", "2026-11-21")) == (2, 2)


def test_the_current_streak_survives_until_a_whole_day_is_missed():
    collected = days("2026-11-19", "2026-11-20")
    assert streak_days(collected, today=date(2026, 11, 20)) == (2, 2)
    assert streak_days(collected, today=date(2026, 11, 21)) == (2, 2)
    assert streak_days(collected, today=date(2026, 11, 22)) == (0, 2)


def test_no_collects_no_streak():
    assert streak_days([]) == (0, 0)
