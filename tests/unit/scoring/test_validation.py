"""Event data is checked against the fields of the version in force at occurred_at."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from greenenergy.errors import InvalidInput
from greenenergy.scoring import InvalidEventData, NoRuleInForce, UnknownEventType, rules_from_yaml

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
AT = datetime(2026, 3, 1, tzinfo=timezone.utc)
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
    before = datetime(2025, 12, 31, 15, 59, tzinfo=timezone.utc)  # 23:59 in Shanghai
    assert BOOK.validate("bill.utility", before, {"amount_fen": 1}) == {"amount_fen": 1}
    error = reject({"amount_fen": 1}, at=datetime(2025, 12, 31, 16, 0, tzinfo=timezone.utc))
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
        BOOK.validate("bill.utility", datetime(2016, 12, 31, tzinfo=timezone.utc), {"amount_fen": 1})
    assert caught.value.code == "unknown_type" and caught.value.details["event_type"] == "bill.utility"


def test_a_naive_occurred_at_is_refused() -> None:
    with pytest.raises(ValueError, match="occurred_at must carry a time zone"):
        BOOK.validate("bill.utility", datetime(2026, 3, 1), GOOD)
