"""Event data is checked against the fields of the version in force at occurred_at."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from greenenergy.errors import InvalidInput
from greenenergy.scoring import InvalidEventData, NoRuleInForce, UnknownEventType, rules_from_yaml, score_frame

BOOK = rules_from_yaml(
    """
rules:
  - id: bill.utility
    version: 1
    event_type: bill.utility
    effective_from: 2017-01-01
    effective_to: 2026-01-01
    fields: {amount_fen: int}
    energy_g: 262
    methodology: {source: s, verified: true}
  - id: bill.utility
    version: 2
    event_type: bill.utility
    effective_from: 2026-01-01
    fields: {amount_fen: int, account_no: str, ratio: float, paperless: bool}
    energy_g: 262
    methodology: {source: s, verified: true}
""",
    ZoneInfo("Asia/Shanghai"),
)
AT = datetime(2026, 3, 1, tzinfo=UTC)
GOOD = {"amount_fen": 1000, "account_no": "A-1", "ratio": 0.5, "paperless": True}


def reject(data, at: datetime = AT) -> InvalidEventData:
    with pytest.raises(InvalidEventData) as caught:
        BOOK.validate("bill.utility", at, data)
    error = caught.value
    assert error.code == "invalid_data" and isinstance(error, InvalidInput)
    assert error.details == {"field": error.field, "reason": error.reason}
    return error


def test_valid_data_comes_back_typed() -> None:
    assert BOOK.validate("bill.utility", AT, GOOD) == GOOD
    typed = BOOK.validate("bill.utility", AT, {**GOOD, "ratio": 2, "amount_fen": np.int64(5)})
    assert typed["ratio"] == 2.0 and isinstance(typed["ratio"], float)
    assert typed["amount_fen"] == 5 and type(typed["amount_fen"]) is int


def test_the_version_in_force_decides_the_fields() -> None:
    before = datetime(2025, 12, 31, 15, 59, tzinfo=UTC)  # 23:59 in Shanghai
    assert BOOK.validate("bill.utility", before, {"amount_fen": 1}) == {"amount_fen": 1}
    error = reject({"amount_fen": 1}, at=datetime(2025, 12, 31, 16, 0, tzinfo=UTC))
    assert (error.field, error.reason) == ("account_no", "missing")


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        ({**GOOD, "colour": "red"}, "colour", "unknown_field"),
        ({k: v for k, v in GOOD.items() if k != "ratio"}, "ratio", "missing"),
        ({**GOOD, "amount_fen": True}, "amount_fen", "wrong_type"),
        ({**GOOD, "amount_fen": "12"}, "amount_fen", "wrong_type"),
        ({**GOOD, "amount_fen": 12.0}, "amount_fen", "wrong_type"),
        ({**GOOD, "amount_fen": None}, "amount_fen", "wrong_type"),
        ({**GOOD, "ratio": "0.5"}, "ratio", "wrong_type"),
        ({**GOOD, "ratio": False}, "ratio", "wrong_type"),
        ({**GOOD, "paperless": 1}, "paperless", "wrong_type"),
        ({**GOOD, "account_no": 12}, "account_no", "wrong_type"),
        ({**GOOD, "amount_fen": 10**12 + 1}, "amount_fen", "out_of_bounds"),
        ({**GOOD, "amount_fen": -(10**13)}, "amount_fen", "out_of_bounds"),
        ({**GOOD, "ratio": float("nan")}, "ratio", "out_of_bounds"),
        ({**GOOD, "ratio": float("inf")}, "ratio", "out_of_bounds"),
        ({**GOOD, "ratio": 10**400}, "ratio", "out_of_bounds"),
        ({**GOOD, "account_no": "x" * 257}, "account_no", "out_of_bounds"),
        (["amount_fen"], "data", "not_a_mapping"),
    ],
)
def test_each_invalid_data_reason(data, field: str, reason: str) -> None:
    error = reject(data)
    assert (error.field, error.reason) == (field, reason)
    assert field in error.message


def test_unknown_type_and_no_version_in_force() -> None:
    with pytest.raises(UnknownEventType) as caught:
        BOOK.validate("transit.rocket", AT, {})
    assert caught.value.code == "unknown_type"
    with pytest.raises(NoRuleInForce) as caught:
        BOOK.validate("bill.utility", datetime(2016, 12, 31, tzinfo=UTC), {"amount_fen": 1})
    assert caught.value.code == "unknown_type" and caught.value.details["event_type"] == "bill.utility"


def test_a_naive_occurred_at_is_refused() -> None:
    with pytest.raises(ValueError, match="occurred_at must carry a time zone"):
        BOOK.validate("bill.utility", datetime(2026, 3, 1), GOOD)


BOUNDED = rules_from_yaml(
    """
rules:
  - id: hand.in
    version: 1
    event_type: hand.in
    effective_from: 2017-01-01
    fields:
      items: {type: int, min: 1}
      limit: {type: int, max: 5}
      share: {type: float, min: 0, max: 1}
      weight: {type: float, min: 0.5}
      label: str
    energy_g: items
    methodology: {source: s, verified: true}
""",
    ZoneInfo("Asia/Shanghai"),
)
IN = {"items": 1, "limit": 5, "share": 0, "weight": 0.5, "label": "x"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"items": 0}, "field 'items' must be at least 1, got 0"),
        ({"items": -5}, "field 'items' must be at least 1, got -5"),
        ({"items": np.int64(0)}, "field 'items' must be at least 1, got 0"),
        ({"limit": 6}, "field 'limit' must be at most 5, got 6"),
        ({"share": 1.5}, "field 'share' must be at least 0 and at most 1, got 1.5"),
        ({"share": -1}, "field 'share' must be at least 0 and at most 1, got -1.0"),
        ({"weight": 0.25}, "field 'weight' must be at least 0.5, got 0.25"),
        ({"weight": np.float32(0.25)}, "field 'weight' must be at least 0.5, got 0.25"),
    ],
)
def test_a_value_outside_its_declared_bounds_is_out_of_bounds(change: dict, message: str) -> None:
    with pytest.raises(InvalidEventData) as caught:
        BOUNDED.validate("hand.in", AT, {**IN, **change})
    error = caught.value
    assert error.details == {"field": next(iter(change)), "reason": "out_of_bounds"}
    assert error.message == f"hand.in@1: {message}"


def test_values_on_their_bounds_are_valid_and_other_checks_come_first() -> None:
    assert BOUNDED.validate("hand.in", AT, IN) == {**IN, "share": 0.0}
    assert BOUNDED.validate("hand.in", AT, {**IN, "limit": -(10**12), "items": 10**12, "share": 1}) == {
        **IN,
        "limit": -(10**12),
        "items": 10**12,
        "share": 1.0,
    }
    for data, reason in (
        ({**IN, "items": 0.0}, "wrong_type"),
        ({**IN, "items": False}, "wrong_type"),
        ({**IN, "limit": -(10**13)}, "out_of_bounds"),
        ({**IN, "share": float("nan")}, "out_of_bounds"),
    ):
        with pytest.raises(InvalidEventData) as caught:
            BOUNDED.validate("hand.in", AT, data)
        assert caught.value.reason == reason
        assert "at least" not in caught.value.message  # the type and magnitude checks say their own


def _batch_rejections(columns: dict) -> list:
    n = len(next(iter(columns.values())))
    df = pd.DataFrame({"type": ["hand.in"] * n, "user_id": ["u"] * n, "occurred_at": [AT] * n, **columns})
    df["occurred_at"] = pd.to_datetime(df["occurred_at"], utc=True)
    out = score_frame(BOUNDED, df)
    return list(zip(out["error"], out["reason"], strict=True))


def _online_rejection(data: dict):
    try:
        BOUNDED.validate("hand.in", AT, data)
    except InvalidEventData as error:
        words = error.reason.replace("_", " ")
        sentence = error.message.partition(f"field '{error.field}' ")[2]
        bound = error.reason == "out_of_bounds" and sentence.startswith("must be")
        return "invalid_data", f"field '{error.field}': {words}" + (f" ({sentence})" if bound else "")
    return None, None


@pytest.mark.parametrize("storage", ["numpy", "nullable", "object"])
def test_the_batch_rejects_the_same_rows_with_the_same_bounds(storage: str) -> None:
    rows = [
        IN,
        {**IN, "items": 0},
        {**IN, "limit": 9},
        {**IN, "share": 2.0},
        {**IN, "weight": 0.1},
        {**IN, "items": -3, "limit": 9},
        {**IN, "items": 10**13},
        {**IN, "items": 7, "weight": 99.0},
    ]
    columns = {name: [row[name] for row in rows] for name in IN}
    if storage == "nullable":
        columns = {
            name: pd.array(values, dtype="Int64" if name in ("items", "limit") else None)
            for name, values in columns.items()
        }
    elif storage == "object":
        columns = {name: pd.Series(values, dtype=object) for name, values in columns.items()}
    assert _batch_rejections(columns) == [_online_rejection(row) for row in rows]
    assert _online_rejection(rows[1]) == ("invalid_data", "field 'items': out of bounds (must be at least 1, got 0)")
    assert _online_rejection(rows[6]) == ("invalid_data", "field 'items': out of bounds")


def test_the_batch_checks_bounds_of_rows_that_hold_the_field() -> None:
    """An int column stored as float64 because other rows lack the field (NA)."""
    rows = [IN, {**IN, "items": 0}, {k: v for k, v in IN.items() if k != "items"}, {**IN, "items": 2}]
    columns = {name: [row.get(name) for row in rows] for name in IN}
    columns["items"] = pd.Series(columns["items"], dtype="float64")
    assert _batch_rejections(columns) == [
        (None, None),
        ("invalid_data", "field 'items': out of bounds (must be at least 1, got 0)"),
        ("invalid_data", "field 'items': missing"),
        (None, None),
    ]
