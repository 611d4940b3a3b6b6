"""The batch path over a DataFrame: same grams as online, errors per row, original order."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from greenenergy.scoring import (
    EventIn,
    InvalidEventData,
    InvalidFrame,
    ScoringState,
    Usage,
    UsageKey,
    load_rules,
    rules_from_yaml,
    score,
    score_frame,
)
from greenenergy.scoring.batch_data import Frame

SHANGHAI = ZoneInfo("Asia/Shanghai")
BOOK = load_rules(Path(__file__).resolve().parents[3] / "rules", SHANGHAI)


def frame(rows: list[dict], index=None) -> pd.DataFrame:
    df = pd.DataFrame(rows, index=index)
    df["occurred_at"] = pd.to_datetime(df["occurred_at"], utc=True)
    return df


def test_rows_come_back_in_input_order_with_the_input_index() -> None:
    df = frame(
        [
            {"event_id": "late", "type": "transit.metro", "user_id": "u", "occurred_at": "2026-05-03T12:00:00+08:00"},
            {
                "event_id": "early",
                "type": "recycling.box",
                "user_id": "u",
                "occurred_at": "2026-05-03T08:00:00+08:00",
                "boxes": 2,
            },
        ],
        index=[10, 20],
    )
    out = score_frame(BOOK, df)
    assert list(out.index) == [10, 20]
    assert out["event_id"].tolist() == ["late", "early"]
    assert out["energy_g"].tolist() == [52, 74]
    assert out["energy_g"].dtype == np.int64
    assert out["rule_ref"].tolist() == ["transit.metro@1", "recycling.box@1"]


def test_ties_in_time_are_scored_in_row_order() -> None:
    rows = [
        {
            "event_id": str(i),
            "type": "bill.utility",
            "user_id": "u",
            "occurred_at": "2026-05-03T08:00:00+08:00",
            "amount_fen": 100 + i,
            "account_no": "E-1",
        }
        for i in range(3)
    ]
    out = score_frame(BOOK, frame(rows))
    assert out["energy_g"].tolist() == [262, 0, 0]
    assert out["explanation"].tolist()[1] == "262; cap month per account_no max_count 1 reached"


def test_a_batch_mixing_good_and_bad_rows_keeps_every_good_one() -> None:
    rows = [
        {"type": "payment.offline", "user_id": "u", "occurred_at": "2026-05-03T08:00:00+08:00", "amount_fen": 500},
        {"type": "transit.rocket", "user_id": "u", "occurred_at": "2026-05-03T08:01:00+08:00"},
        {"type": "payment.offline", "user_id": "u", "occurred_at": "2026-05-03T08:02:00+08:00"},
        {"type": "payment.offline", "user_id": "u", "occurred_at": "2026-05-03T08:03:00+08:00", "amount_fen": 2.5},
        {"type": "transit.metro", "user_id": "u", "occurred_at": "2026-05-03T08:04:00+08:00", "amount_fen": 100},
        {"type": "walking.steps", "user_id": "u", "occurred_at": "2026-05-03T08:05:00+08:00", "steps": 2e13},
        {"type": "recycling.box", "user_id": "u", "occurred_at": "2016-05-03T08:05:00+08:00", "boxes": 1},
        {"type": "payment.offline", "user_id": None, "occurred_at": "2026-05-03T08:06:00+08:00", "amount_fen": 500},
        {"type": "payment.offline", "user_id": "u", "occurred_at": None, "amount_fen": 500},
        {"type": "payment.offline", "user_id": "u", "occurred_at": "2026-05-03T08:07:00+08:00", "amount_fen": 500},
    ]
    out = score_frame(BOOK, frame(rows))
    assert out["energy_g"].tolist() == [5, 0, 0, 0, 0, 0, 0, 0, 0, 5]
    assert out["error"].tolist() == [
        None,
        "unknown_type",
        "invalid_data",
        "invalid_data",
        "invalid_data",
        "invalid_data",
        "unknown_type",
        "invalid_data",
        "invalid_data",
        None,
    ]
    assert out["reason"].tolist() == [
        None,
        "no rule scores event type 'transit.rocket'",
        "field 'amount_fen': missing",
        "field 'amount_fen': wrong type",
        "field 'amount_fen': unknown field",
        "field 'steps': out of bounds",
        "no version of rule recycling.box is in force at occurred_at",
        "user_id is missing",
        "occurred_at is missing",
        None,
    ]


def test_object_columns_are_checked_value_by_value() -> None:
    rows = [
        {"type": "recycling.box", "user_id": "u", "occurred_at": "2026-05-03T08:00:00+08:00", "boxes": "2"},
        {"type": "recycling.box", "user_id": "u", "occurred_at": "2026-05-03T08:01:00+08:00", "boxes": True},
        {"type": "recycling.box", "user_id": "u", "occurred_at": "2026-05-03T08:02:00+08:00", "boxes": 3},
    ]
    out = score_frame(BOOK, frame(rows))
    assert out["energy_g"].tolist() == [0, 0, 111]
    assert out["reason"].tolist() == ["field 'boxes': wrong type", "field 'boxes': wrong type", None]


def test_a_naive_time_column_is_refused() -> None:
    df = pd.DataFrame([{"type": "transit.metro", "user_id": "u", "occurred_at": pd.Timestamp("2026-05-03T08:00")}])
    with pytest.raises(InvalidFrame, match="tz-aware"):
        score_frame(BOOK, df)
    with pytest.raises(InvalidFrame, match="user_id"):
        score_frame(BOOK, pd.DataFrame({"type": [], "occurred_at": []}))


def test_the_state_is_read_and_written_like_the_online_path() -> None:
    rows = [
        {"type": "transit.metro", "user_id": "u", "occurred_at": f"2026-05-03T{8 + i:02d}:00:00+08:00"}
        for i in range(3)
    ]
    rows.append({"type": "walking.steps", "user_id": "u", "occurred_at": "2026-05-03T21:00:00+08:00", "steps": 9000})
    key = UsageKey("u", "transit.metro", "day", date(2026, 5, 3), "")
    batch_state, online_state = ScoringState(), ScoringState()
    for state in (batch_state, online_state):
        state.load_usage({key: Usage(3, 156)})
    out = score_frame(BOOK, frame(rows), batch_state)
    events = [
        EventIn(
            r["user_id"],
            r["type"],
            pd.Timestamp(r["occurred_at"]).to_pydatetime(),
            {"steps": r["steps"]} if "steps" in r else {},
        )
        for r in rows
    ]
    online = [score(BOOK, e, online_state).energy_g for e in events]
    assert out["energy_g"].tolist() == online == [52, 52, 0, 180]
    assert batch_state.dirty_usage() == online_state.dirty_usage()
    assert batch_state.dirty_usage()[key] == Usage(5, 260)
    assert batch_state.dirty_running() == online_state.dirty_running()


def test_multipliers_and_caps_are_named_in_the_explanation() -> None:
    rows = [
        {"type": "recycling.box", "user_id": "u", "occurred_at": "2026-09-06T08:00:00+08:00", "boxes": 4},
        {"type": "recycling.box", "user_id": "u", "occurred_at": "2026-09-06T09:00:00+08:00", "boxes": 4},
    ]
    out = score_frame(BOOK, frame(rows))
    assert out["energy_g"].tolist() == [296, 74]
    assert out["capped"].tolist() == [False, True]
    assert out["explanation"].tolist() == [
        "37 * boxes; multiplier x2 (2026-09-05..2026-09-12)",
        "37 * boxes; multiplier x2 (2026-09-05..2026-09-12); cap day max_energy_g 370",
    ]


def test_caps_that_do_not_nest_give_the_online_result() -> None:
    # ISO week 23 Feb - 1 Mar 2026 straddles February and March: week and month caps do
    # not nest, so applying the week cap first over all events would wrongly block 1 March
    book = rules_from_yaml(
        """
rules:
  - id: tree.hug
    version: 1
    event_type: tree.hug
    effective_from: 2026-01-01
    energy_g: 7
    caps:
      - {per: week, max_count: 2}
      - {per: month, max_count: 1}
    methodology: {source: s, verified: false}
""",
        SHANGHAI,
    )
    times = ["2026-02-27T10:00:00+08:00", "2026-02-28T10:00:00+08:00", "2026-03-01T10:00:00+08:00"]
    out = score_frame(book, frame([{"type": "tree.hug", "user_id": "u", "occurred_at": t} for t in times]))
    state = ScoringState()
    online = [score(book, EventIn("u", "tree.hug", pd.Timestamp(t).to_pydatetime(), {}), state).energy_g for t in times]
    assert out["energy_g"].tolist() == online == [7, 0, 7]


CAPPED = """
rules:
  - id: hug
    version: 1
    event_type: hug
    effective_from: 1860-01-01
    fields: {n: int}
    energy_g: 10 * n
    caps:
      - {per: day, max_count: 1}
      - {per: month, max_energy_g: 45}
    methodology: {source: s, verified: false}
  - id: walk
    version: 1
    event_type: walk
    effective_from: 1860-01-01
    fields: {steps: int}
    energy_g: steps // 10
    aggregate: running_total
    caps:
      - {per: week, max_energy_g: 100}
    methodology: {source: s, verified: false}
"""


def online_grams(book, rows: list[dict]) -> list[int]:
    """The grams of scoring ``rows`` one by one in time order (ties in row order); a row
    the online validation rejects earns 0 and changes nothing, as in a batch."""
    state = ScoringState()
    grams = [0] * len(rows)
    for i in sorted(range(len(rows)), key=lambda i: (pd.Timestamp(rows[i]["occurred_at"]), i)):
        row = rows[i]
        data = {k: v for k, v in row.items() if k not in ("event_id", "type", "user_id", "occurred_at")}
        at = pd.Timestamp(row["occurred_at"]).to_pydatetime()
        try:
            valid = book.validate(row["type"], at, data)
        except InvalidEventData:
            continue
        grams[i] = score(book, EventIn(row["user_id"], row["type"], at, valid), state).energy_g
    return grams


def test_a_zone_whose_local_date_goes_back_is_grouped_by_sorting() -> None:
    # Juneau moved from +15:02 to -8:57 on 18/19 October 1867: local dates repeat a day,
    # so a user's days are not runs in time order; the batch path must sort instead
    book = rules_from_yaml(CAPPED, ZoneInfo("America/Juneau"))
    times = [
        "1867-10-18T10:00Z",
        "1867-10-19T00:30Z",
        "1867-10-19T01:30Z",
        "1867-10-19T02:00Z",
        "1867-10-19T12:00Z",
        "1867-10-20T12:00Z",
    ]
    steps = [100, 400, 300, 500, 900, 200]  # running totals of the local days 19, 19, 18, 18, 19, 20
    rows = []
    for t, total in zip(times, steps, strict=True):
        rows.append({"event_id": str(len(rows)), "type": "hug", "user_id": "u", "occurred_at": t, "n": 2})
        rows.append({"event_id": str(len(rows)), "type": "walk", "user_id": "u", "occurred_at": t, "steps": total})
    df = frame(rows)
    assert not Frame(book, df, ()).days_monotone
    out = score_frame(book, df)
    assert out["error"].isna().all()
    assert out["energy_g"].tolist() == online_grams(book, rows)
    # hugs: one a local day (19 Oct, then 18 Oct twice, then 19 Oct again), 45 g a month
    assert out["energy_g"].tolist()[::2] == [20, 0, 20, 0, 0, 5]
    # walks: each local day's increase (10, 30; 30, 20; 50, 20), cut by 100 g a week to 10, then 0
    assert out["energy_g"].tolist()[1::2] == [10, 30, 30, 20, 10, 0]


def test_the_per_row_field_checks_agree_with_the_whole_type_shortcut(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [
        {
            "event_id": str(i),
            "type": "walking.steps" if i % 3 else "recycling.box",
            "user_id": f"u{i % 4}",
            "occurred_at": f"2026-09-0{1 + i % 9}T{i % 24:02d}:00:00+08:00",
            **({"steps": 700 * i} if i % 3 else {"boxes": i % 5}),
        }
        for i in range(60)
    ]
    df = frame(rows)
    assert Frame(BOOK, df, ()).exact_fields("walking.steps", {"steps": "int"})
    fast = score_frame(BOOK, df)
    monkeypatch.setattr(Frame, "exact_fields", lambda self, event_type, fields: False)
    slow = score_frame(BOOK, df)
    pd.testing.assert_frame_equal(fast, slow)
    assert fast["energy_g"].tolist() == online_grams(BOOK, rows)
    zero_boxes = [i for i, row in enumerate(rows) if row.get("boxes") == 0]
    assert zero_boxes and fast["error"].notna().tolist() == [i in zero_boxes for i in range(len(rows))]
    assert set(fast["reason"].iloc[zero_boxes]) == {"field 'boxes': out of bounds (must be at least 1, got 0)"}


def test_an_empty_frame_and_a_frame_of_unusable_rows() -> None:
    empty = frame([{"type": "transit.metro", "user_id": "u", "occurred_at": "2026-05-03T08:00:00+08:00"}]).iloc[:0]
    assert score_frame(BOOK, empty)["energy_g"].tolist() == []
    unusable = frame([{"type": "transit.metro", "user_id": None, "occurred_at": "2026-05-03T08:00:00+08:00"}])
    out = score_frame(BOOK, unusable)
    assert out["energy_g"].tolist() == [0] and out["error"].tolist() == ["invalid_data"]
