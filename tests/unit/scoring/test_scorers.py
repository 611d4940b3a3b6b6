"""The online scorers: each rule version gets the most specialised shape that fits it, and
every shape scores like the general one (same Score, same state left behind)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from greenenergy.scoring import EventIn, NoRuleInForce, ScoringState, load_rules, rules_from_yaml, score_many
from greenenergy.scoring.scorers import family_scorers

SHANGHAI = ZoneInfo("Asia/Shanghai")
SHIPPED = load_rules(Path(__file__).resolve().parents[3] / "rules", SHANGHAI)

SHAPES = rules_from_yaml(
    """
rules:
  - id: fixed
    version: 1
    event_type: fixed
    effective_from: 2026-01-01
    fields: {acct: str}
    energy_g: 7
    caps:
      - {per: week, key: acct, max_count: 2}
    methodology: {source: s, verified: true}
  - id: slot
    version: 1
    event_type: slot
    effective_from: 2026-01-01
    effective_to: 2026-03-01T12:00:00
    fields: {n: int}
    energy_g: n * 0.75
    caps:
      - {per: day, max_count: 3}
      - {per: day, max_energy_g: 10}
    methodology: {source: s, verified: true}
  - id: slot
    version: 2
    event_type: slot
    effective_from: 2026-03-01T12:00:00
    fields: {n: int}
    energy_g: n
    caps:
      - {per: day, max_energy_g: 12}
    methodology: {source: s, verified: true}
  - id: walk
    version: 1
    event_type: walk
    effective_from: 2026-01-01
    fields: {steps: int}
    when: steps >= 10
    energy_g: floor(steps * 3 / 100)
    aggregate: running_total
    caps:
      - {per: day, max_energy_g: 5}
    methodology: {source: s, verified: true}
  - id: free.walk
    version: 1
    event_type: free.walk
    effective_from: 2026-01-01
    fields: {steps: int}
    energy_g: steps // 100
    aggregate: running_total
    methodology: {source: s, verified: true}
  - id: promo
    version: 1
    event_type: promo
    effective_from: 2026-01-01
    energy_g: 10
    caps:
      - {per: day, max_count: 2}
    multipliers:
      - {from: 2026-03-02, to: 2026-03-03, factor: 1.5}
    methodology: {source: s, verified: true}
""",
    SHANGHAI,
)


def shapes(book, event_type: str) -> list[str]:
    return [s.__name__ for s in family_scorers(book.calendar, book.by_type[event_type])]


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def test_each_version_gets_the_most_specialised_shape() -> None:
    assert shapes(SHAPES, "fixed") == ["fixed_count"]
    assert shapes(SHAPES, "slot") == ["one_slot", "one_slot"]
    assert shapes(SHAPES, "walk") == ["running"]
    assert shapes(SHAPES, "free.walk") == ["running"]
    assert shapes(SHAPES, "promo") == ["general"]
    shipped = {t: shapes(SHIPPED, t) for t in SHIPPED.by_type}
    assert shipped["payment.offline"] == shipped["transit.metro"] == ["fixed_count"]
    assert shipped["walking.steps"] == ["running"]
    assert shipped["office.paperless"] == ["one_slot"]
    assert shipped["recycling.box"] == ["one_slot", "general"]  # version 2 has a multiplier
    assert shipped["bill.utility"] == shipped["recycling.clothes"] == ["general"]  # two usage slots


def both(book, events: list[EventIn]) -> tuple[list, list, ScoringState, ScoringState]:
    """Scores and state from the specialised scorers and from the general ones."""
    general = {f.event_type: family_scorers(book.calendar, f, shapes=False)[-1] for f in book.by_type.values()}
    fast, slow = ScoringState(), ScoringState()
    fast_scores = score_many(book, events, fast)
    slow_scores = [general[e.event_type](e, slow) for e in events]
    return fast_scores, slow_scores, fast, slow


def assert_same(book, events: list[EventIn]) -> list:
    fast_scores, slow_scores, fast, slow = both(book, events)
    assert fast_scores == slow_scores
    assert fast.usage_rows == slow.usage_rows and fast.dirty_usage_list == slow.dirty_usage_list
    assert fast.running_rows == slow.running_rows and fast.dirty_running_list == slow.dirty_running_list
    return fast_scores


def test_fixed_count_blocks_per_key_and_names_the_cap() -> None:
    events = [
        EventIn("u", "fixed", local(f"2026-03-0{d}T09:00"), {"acct": a})
        for d, a in ((2, "a"), (3, "a"), (4, "b"), (5, "a"), (9, "a"))
    ]
    scores = assert_same(SHAPES, events)
    assert [s.energy_g for s in scores] == [7, 7, 7, 0, 7]  # the 5th is a new ISO week
    assert scores[3].explanation == "7 g; cap week per acct max_count 2 reached -> 0"


def test_one_slot_floors_cuts_and_counts_like_the_general_scorer() -> None:
    times = [
        "2026-03-01T08:00",
        "2026-03-01T09:00",
        "2026-03-01T10:00",
        "2026-03-01T11:00",
        "2026-03-01T11:30",
        "2026-03-01T12:30",
        "2026-03-01T13:00",
        "2026-03-02T08:00",
    ]
    sizes = [1, 4, 4, 8, 4, 5, 3, 20]  # 0.75 g floors to 0 (counts nowhere); version 2 from noon
    scores = assert_same(SHAPES, [EventIn("u", "slot", local(t), {"n": n}) for t, n in zip(times, sizes, strict=True)])
    assert [s.energy_g for s in scores] == [0, 3, 3, 4, 0, 2, 0, 12]
    assert scores[3].explanation == "n * 0.75 = 6; cap day max_energy_g 10 -> 4"
    assert scores[4].explanation == "n * 0.75 = 3; cap day max_count 3 reached -> 0"
    assert scores[5].rule_ref == "slot@2" and scores[5].capped  # v2 sees v1's 10 g of the day
    assert scores[5].explanation == "n = 5; cap day max_energy_g 12 -> 2"


def test_running_totals_rise_only_and_then_go_through_the_caps() -> None:
    syncs = [
        ("2026-03-01T08:00", 50),
        ("2026-03-01T09:00", 5),
        ("2026-03-01T10:00", 120),
        ("2026-03-01T11:00", 100),
        ("2026-03-01T12:00", 400),
        ("2026-03-02T08:00", 200),
    ]
    events = [EventIn("u", "walk", local(t), {"steps": s}) for t, s in syncs]
    events += [EventIn("u", "free.walk", local(t), {"steps": s * 10}) for t, s in syncs]
    scores = assert_same(SHAPES, events)
    assert [s.energy_g for s in scores[:6]] == [1, 0, 2, 0, 2, 5]
    assert scores[1].explanation == "condition not met: steps >= 10"
    assert scores[4].explanation == (
        "floor(steps * 3 / 100): +9 over the day's highest steps; cap day max_energy_g 5 -> 2"
    )
    assert [s.energy_g for s in scores[6:]] == [5, 0, 7, 0, 28, 20]


def test_general_shape_applies_the_multiplier_before_the_count_cap() -> None:
    times = ["2026-03-02T09:00", "2026-03-02T10:00", "2026-03-02T11:00", "2026-03-03T09:00"]
    scores = assert_same(SHAPES, [EventIn("u", "promo", local(t), {}) for t in times])
    assert [(s.energy_g, s.multiplier) for s in scores] == [(15, 1.5), (15, 1.5), (0, 1.5), (10, None)]


def test_events_of_an_earlier_version_and_of_no_version() -> None:
    scorer = SHAPES.scorers["slot"]  # the latest version's, handing earlier events on
    state = ScoringState()
    assert scorer(EventIn("u", "slot", local("2026-02-01T09:00"), {"n": 4}), state).rule_ref == "slot@1"
    with pytest.raises(NoRuleInForce, match="no version of rule slot is in force"):
        scorer(EventIn("u", "slot", local("2025-12-31T23:00"), {"n": 4}), state)
    with pytest.raises(ValueError, match="occurred_at must carry a time zone"):
        scorer(EventIn("u", "slot", datetime(2026, 3, 1, 9), {"n": 4}), state)


def test_any_offset_scores_the_same_instant() -> None:
    at = local("2026-03-01T00:30")  # 16:30 UTC the day before
    for moment in (at, at.astimezone(UTC), at.astimezone(timezone(timedelta(hours=-7)))):
        state = ScoringState()
        score_many(SHAPES, [EventIn("u", "fixed", moment, {"acct": "a"})], state)
        ((key, _),) = state.dirty_usage().items()
        assert key.period_start.isoformat() == "2026-02-23"  # the ISO week of 1 March, local
