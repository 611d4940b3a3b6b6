"""The online path: versions, caps across versions, multipliers, running totals, state."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from greenenergy.scoring import (
    EventIn,
    RunningKey,
    ScoringState,
    UnknownEventType,
    Usage,
    UsageKey,
    rules_from_yaml,
    score,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")

VERSIONED = rules_from_yaml(
    """
rules:
  - id: box
    version: 1
    event_type: box
    effective_from: 2026-01-01
    effective_to: 2026-03-01T12:00:00      # noon, local: a version change mid-day
    fields: {boxes: int}
    energy_g: 37 * boxes
    caps:
      - {per: day, max_count: 3}
    methodology: {source: s, verified: true}
  - id: box
    version: 2
    event_type: box
    effective_from: 2026-03-01T12:00:00
    fields: {boxes: int}
    energy_g: 40 * boxes
    caps:
      - {per: day, max_count: 3}
      - {per: week, max_energy_g: 300}
    multipliers:
      - {from: 2026-03-02, to: 2026-03-03, factor: 1.5}
    methodology: {source: s, verified: true}
  - id: walk
    version: 1
    event_type: walk
    effective_from: 2026-01-01
    effective_to: 2026-03-01T12:00:00
    fields: {steps: int}
    energy_g: steps // 100
    aggregate: running_total
    methodology: {source: s, verified: true}
  - id: walk
    version: 2
    event_type: walk
    effective_from: 2026-03-01T12:00:00
    fields: {steps: int}
    energy_g: steps // 50
    aggregate: running_total
    methodology: {source: s, verified: true}
""",
    SHANGHAI,
)


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def box(at: str, boxes: int = 1, user: str = "u-1") -> EventIn:
    return EventIn(user, "box", local(at), {"boxes": boxes})


def test_a_days_cap_carries_across_a_version_change() -> None:
    state = ScoringState()
    times = ("2026-03-01T09:00", "2026-03-01T11:59", "2026-03-01T12:00", "2026-03-01T13:00")
    scores = [score(VERSIONED, box(t), state) for t in times]
    assert [(s.rule_ref, s.energy_g) for s in scores] == [("box@1", 37), ("box@1", 37), ("box@2", 40), ("box@2", 0)]
    assert scores[3].explanation == "40 * boxes = 40; cap day max_count 3 reached -> 0"


def test_a_cap_only_a_later_version_has_sees_the_earlier_versions_events() -> None:
    state = ScoringState()
    # v1 has no weekly energy cap, but its grams are kept for the week's usage slot
    early = [score(VERSIONED, box("2026-03-01T09:00", boxes=5), state)]  # Sunday: 185 g
    later = [score(VERSIONED, box(f"2026-03-01T1{h}:00", boxes=2), state) for h in (3, 4)]
    assert [s.energy_g for s in early + later] == [185, 80, 35]  # week cap 300 under v2
    assert state.usage(UsageKey("u-1", "box", "week", date(2026, 2, 23), "")) == Usage(3, 300)


def test_a_float_multiplier_is_floored_before_the_caps() -> None:
    state = ScoringState()
    scored = score(VERSIONED, box("2026-03-02T10:00", boxes=1), state)  # Monday, in the window
    assert (scored.energy_g, scored.multiplier) == (60, 1.5)
    assert score(VERSIONED, box("2026-03-02T10:00", boxes=3), state).energy_g == 180  # 120 * 1.5
    assert score(VERSIONED, box("2026-03-02T11:00", boxes=1), state).energy_g == 60
    assert score(VERSIONED, box("2026-03-02T12:00", boxes=1), state).energy_g == 0  # 3 a day


def test_running_total_uses_the_version_in_force_for_both_totals() -> None:
    state = ScoringState()
    syncs = (("2026-03-01T08:00", 1000), ("2026-03-01T13:00", 1500))  # v1 until noon, then v2
    walk = [EventIn("u-1", "walk", local(t), {"steps": s}) for t, s in syncs]
    assert [score(VERSIONED, e, state).energy_g for e in walk] == [10, 10]  # 1500//50 - 1000//50
    assert state.dirty_running() == {RunningKey("u-1", "walk", date(2026, 3, 1)): 1500}


def test_preloaded_state_is_respected_and_changes_are_exported() -> None:
    state = ScoringState()
    state.load_usage({UsageKey("u-1", "box", "day", date(2026, 3, 3), ""): Usage(2, 80)})
    state.load_running([(RunningKey("u-1", "walk", date(2026, 3, 3)), 4000)])
    assert state.dirty_usage() == {} and state.dirty_running() == {}
    assert score(VERSIONED, box("2026-03-03T10:00"), state).energy_g == 40
    assert score(VERSIONED, box("2026-03-03T11:00"), state).energy_g == 0
    walked = score(VERSIONED, EventIn("u-1", "walk", local("2026-03-03T20:00"), {"steps": 5000}), state)
    assert walked.energy_g == 20
    assert state.dirty_usage() == {
        UsageKey("u-1", "box", "day", date(2026, 3, 3), ""): Usage(3, 120),
        UsageKey("u-1", "box", "week", date(2026, 3, 2), ""): Usage(1, 40),
    }
    assert state.dirty_running() == {RunningKey("u-1", "walk", date(2026, 3, 3)): 5000}
    state.clear_dirty()
    assert state.dirty_usage() == {} and state.dirty_running() == {}
    assert state.usage(UsageKey("u-1", "box", "day", date(2026, 3, 3), "")) == Usage(3, 120)


def test_keys_for_names_the_rows_a_batch_needs() -> None:
    ScoringState()
    events = [
        box("2026-03-01T09:00"),
        box("2026-03-03T23:30", user="u-2"),
        EventIn("u-1", "walk", datetime(2026, 3, 3, 16, 30, tzinfo=UTC), {"steps": 1}),  # 00:30 on 4 March
        EventIn("u-1", "rocket", local("2026-03-03T09:00"), {}),
    ]
    usage, running = VERSIONED.state_keys_of(events)
    assert usage == {
        UsageKey("u-1", "box", "day", date(2026, 3, 1), ""),
        UsageKey("u-1", "box", "week", date(2026, 2, 23), ""),
        UsageKey("u-2", "box", "day", date(2026, 3, 3), ""),
        UsageKey("u-2", "box", "week", date(2026, 3, 2), ""),
    }
    assert running == {RunningKey("u-1", "walk", date(2026, 3, 4))}


def test_a_condition_not_met_counts_toward_nothing() -> None:
    state = ScoringState()
    assert score(VERSIONED, box("2026-03-04T09:00", boxes=-2), state).energy_g == 0
    assert state.dirty_usage() == {}


def test_unknown_types_and_times_outside_every_version() -> None:
    with pytest.raises(UnknownEventType):
        score(VERSIONED, EventIn("u-1", "rocket", local("2026-03-03T09:00"), {}), ScoringState())
    with pytest.raises(UnknownEventType, match="no version of rule box is in force"):
        score(VERSIONED, box("2025-12-31T23:59"), ScoringState())


def test_any_utc_offset_is_the_same_instant() -> None:
    at = local("2026-03-03T00:30")
    same = [at, at.astimezone(UTC), at.astimezone(timezone(timedelta(hours=-5)))]
    for moment in same:
        state = ScoringState()
        score(VERSIONED, EventIn("u-1", "box", moment, {"boxes": 1}), state)
        assert set(state.dirty_usage()) >= {UsageKey("u-1", "box", "day", date(2026, 3, 3), "")}
