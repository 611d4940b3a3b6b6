"""Scoring is deterministic: one by one (online, in time order) and as a pandas batch agree.

Random events over several users, days, weeks and months, scored with random rule sets
(one or two versions per rule, count and energy caps per day / week / month with and
without a key, campaign multipliers, a running total, field bounds that differ between
versions) and with the shipped rules/: the rows rejected as invalid data (with the same
field, reason and allowed range), the grams of every event, and the cap usage and running
totals left behind, are the same.
Also: the scalar and the numpy evaluators of random expressions agree on random inputs
(division by zero, negatives, floor, // and % included); and each online scorer shape
(``scorers``) scores like the general scorer, Score for Score and row for row of state.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenenergy.scoring import (
    EventIn,
    InvalidEventData,
    ScoringState,
    load_rules,
    rules_from_yaml,
    score,
    score_frame,
)
from greenenergy.scoring.batch_data import grams_of
from greenenergy.scoring.errors import ExpressionError
from greenenergy.scoring.expr import compile_expression
from greenenergy.scoring.rules import to_grams
from greenenergy.scoring.scorers import family_scorers
from tests.property.strategies_scoring import (
    CONDITION_EXPRESSIONS,
    EXPR_FIELDS,
    NUMBER_EXPRESSIONS,
    ROWS,
    START,
    generated_events,
    one_slot_rule_set_yaml,
    rule_set_yaml,
    shipped_events,
)

ZONES = st.sampled_from(("Asia/Shanghai", "America/New_York", "Asia/Kolkata", "Europe/Berlin"))
SHIPPED = load_rules(Path(__file__).resolve().parents[2] / "rules", ZoneInfo("Asia/Shanghai"))


def batch_rejection(error: InvalidEventData) -> tuple[str, str]:
    """The (error, reason) a batch gives the row the online validation refused with ``error``:
    ``field 'boxes': out of bounds (must be at least 1, got 0)`` for a declared bound."""
    sentence = error.message.partition(f"field '{error.field}' ")[2]
    detail = f" ({sentence})" if error.reason == "out_of_bounds" and sentence.startswith("must be") else ""
    return error.code, f"field '{error.field}': {error.reason.replace('_', ' ')}{detail}"


def validated(book, events: list[tuple[str, str, datetime, dict]]) -> list[dict | InvalidEventData]:
    """Each event's typed data, or the InvalidEventData the online validation raises."""
    out: list[dict | InvalidEventData] = []
    for _, kind, at, data in events:
        try:
            out.append(book.validate(kind, at, data))
        except InvalidEventData as error:
            out.append(error)
    return out


def valid_inputs(book, events: list[tuple[str, str, datetime, dict]]) -> list[EventIn]:
    """EventIn of the events the online validation accepts (a rejected one changes nothing)."""
    return [
        EventIn(user, kind, at, data)
        for (user, kind, at, _), data in zip(events, validated(book, events), strict=True)
        if isinstance(data, dict)
    ]


def online_and_batch(book, events: list[tuple[str, str, datetime, dict]]):
    """Grams and final state, online (time order, ties in list order) and batch; the rows
    the batch rejects must be those the online validation rejects, for the same reason."""
    online_state = ScoringState()
    online = [0] * len(events)
    checked = validated(book, events)
    expected = [batch_rejection(c) if isinstance(c, InvalidEventData) else (None, None) for c in checked]
    for i in sorted(range(len(events)), key=lambda i: (events[i][2], i)):
        user, kind, at, _ = events[i]
        if isinstance(checked[i], dict):
            online[i] = score(book, EventIn(user, kind, at, checked[i]), online_state).energy_g
    rows = [
        {"event_id": str(i), "type": kind, "user_id": user, "occurred_at": at, **data}
        for i, (user, kind, at, data) in enumerate(events)
    ]
    fields = sorted({name for *_, data in events for name in data})
    df = pd.DataFrame(rows, columns=["event_id", "type", "user_id", "occurred_at", *fields])
    df["occurred_at"] = pd.to_datetime(df["occurred_at"], utc=True)
    batch_state = ScoringState()
    out = score_frame(book, df, batch_state)
    assert list(zip(out["error"], out["reason"], strict=True)) == expected
    return online, out["energy_g"].tolist(), online_state, batch_state


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=rule_set_yaml(), generated=generated_events(), zone=ZONES)
def test_random_rules_score_the_same_online_and_in_a_batch(text: str, generated, zone: str) -> None:
    assert_online_equals_batch(text, generated, zone)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=one_slot_rule_set_yaml(), generated=generated_events(), zone=ZONES)
def test_one_slot_rules_score_the_same_online_and_in_a_batch(text: str, generated, zone: str) -> None:
    """The rule shapes the online scorers specialise, against the batch path."""
    assert_online_equals_batch(text, generated, zone)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=rule_set_yaml(bounded=True), generated=generated_events(), zone=ZONES)
def test_out_of_bounds_rows_are_rejected_alike_online_and_in_a_batch(text: str, generated, zone: str) -> None:
    """Every number field of every version declares a bound the events fall on both sides
    of: the same rows are rejected (field, out_of_bounds, the allowed range and the value),
    and the others score the same."""
    assert_online_equals_batch(text, generated, zone)


def assert_online_equals_batch(text: str, generated, zone: str) -> None:
    tz = ZoneInfo(zone)
    book = rules_from_yaml(text, tz)
    events = [
        (user, kind, (START + timedelta(minutes=minute)).replace(tzinfo=tz), data)
        for user, kind, minute, data in generated
    ]
    online, batch, online_state, batch_state = online_and_batch(book, events)
    assert batch == online
    assert batch_state.dirty_usage() == online_state.dirty_usage()
    assert batch_state.dirty_running() == online_state.dirty_running()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated=shipped_events())
def test_the_shipped_rules_score_the_same_online_and_in_a_batch(generated) -> None:
    tz = SHIPPED.tz
    events = [(user, kind, at.replace(tzinfo=tz), data) for user, kind, at, data in generated]
    online, batch, online_state, batch_state = online_and_batch(SHIPPED, events)
    assert batch == online
    assert batch_state.dirty_usage() == online_state.dirty_usage()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=rule_set_yaml(), generated=generated_events(), cut=st.floats(0, 1))
def test_state_saved_and_reloaded_between_batches_changes_nothing(text: str, generated, cut: float) -> None:
    """Score the earlier events, keep only the dirty rows (as storage would), load what
    ``keys_for`` names into a fresh state, and score the later events as a batch: the
    grams are those of scoring everything in one go."""
    tz = ZoneInfo("Asia/Shanghai")
    book = rules_from_yaml(text, tz)
    events = sorted(
        (
            (user, kind, (START + timedelta(minutes=minute)).replace(tzinfo=tz), data)
            for user, kind, minute, data in generated
        ),
        key=lambda e: e[2],
    )
    valid = [isinstance(data, dict) for data in validated(book, events)]
    events = [e for e, ok in zip(events, valid, strict=True) if ok]  # rejected events change nothing
    split = int(len(events) * cut)
    inputs = valid_inputs(book, events)
    whole = ScoringState()
    expected = [score(book, e, whole).energy_g for e in inputs]

    first = ScoringState()
    for event in inputs[:split]:
        score(book, event, first)
    stored_usage, stored_running = first.dirty_usage(), first.dirty_running()
    later = ScoringState()
    usage_keys, running_keys = book.state_keys_of(inputs[split:])
    later.load_usage({k: stored_usage[k] for k in usage_keys if k in stored_usage})
    later.load_running({k: stored_running[k] for k in running_keys if k in stored_running})
    rows = [{"type": kind, "user_id": user, "occurred_at": at, **data} for user, kind, at, data in events[split:]]
    fields = sorted({name for *_, data in events for name in data})
    df = pd.DataFrame(rows, columns=["type", "user_id", "occurred_at", *fields])
    df["occurred_at"] = pd.to_datetime(df["occurred_at"], utc=True)
    assert score_frame(book, df, later)["energy_g"].tolist() == expected[split:]
    for key, usage in later.dirty_usage().items():
        assert whole.usage(key) == usage


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.one_of(rule_set_yaml(), one_slot_rule_set_yaml()),
    generated=generated_events(),
    zone=ZONES,
    cut=st.floats(0, 1),
)
def test_every_scorer_shape_scores_like_the_general_scorer(text: str, generated, zone: str, cut: float) -> None:
    """The specialised closures (fixed_count, one_slot, running) against ``general``, with
    the dirty flags cleared part way (as after a commit) so both branches of each are hit."""
    tz = ZoneInfo(zone)
    book = rules_from_yaml(text, tz)
    general = {f.event_type: family_scorers(book.calendar, f, shapes=False)[-1] for f in book.by_type.values()}
    events = sorted(
        (
            (user, kind, (START + timedelta(minutes=minute)).replace(tzinfo=tz), data)
            for user, kind, minute, data in generated
        ),
        key=lambda e: e[2],
    )
    inputs = valid_inputs(book, events)
    fast, slow = ScoringState(), ScoringState()
    for i, event in enumerate(inputs):
        if i == int(len(inputs) * cut):
            fast.clear_dirty()
            slow.clear_dirty()
        assert book.scorers[event.event_type](event, fast) == general[event.event_type](event, slow)
    assert fast.usage_rows == slow.usage_rows and fast.running_rows == slow.running_rows
    assert fast.dirty_usage_list == slow.dirty_usage_list
    assert fast.dirty_running_list == slow.dirty_running_list


def _agree(text: str, rows: list[dict]) -> None:
    try:
        expression = compile_expression(text, EXPR_FIELDS)
    except ExpressionError:
        return  # e.g. a division by a constant 0: refused at load, nothing to compare
    dtypes = {"int": np.float64, "float": np.float64, "bool": bool, "str": object}
    columns = {name: np.array([row[name] for row in rows], dtype=dtypes[kind]) for name, kind in EXPR_FIELDS.items()}
    vector = expression.vector(columns, len(rows))
    for row, got in zip(rows, vector, strict=True):
        expected = expression.scalar(row)
        if expression.type == "bool":
            assert bool(got) == expected, (text, row)
            continue
        assert not math.isnan(got), (text, row)
        assert got == expected, (text, row, got, expected)
        assert abs(expected) <= 2**53
    if expression.type != "bool":
        assert grams_of(vector).tolist() == [to_grams(expression.scalar(row)) for row in rows]


@settings(max_examples=1500, deadline=None)
@given(text=NUMBER_EXPRESSIONS, rows=st.lists(ROWS, min_size=1, max_size=5))
def test_scalar_and_vector_evaluators_agree_on_numbers(text: str, rows: list[dict]) -> None:
    _agree(text, rows)


@settings(max_examples=500, deadline=None)
@given(text=CONDITION_EXPRESSIONS, rows=st.lists(ROWS, min_size=1, max_size=5))
def test_scalar_and_vector_evaluators_agree_on_conditions(text: str, rows: list[dict]) -> None:
    _agree(text, rows)
