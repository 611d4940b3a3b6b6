"""The shipped rules/ against the reference figures (reference/ant-forest-facts.md).

Times are written in Shanghai local time (the default zone) unless a test is about UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from greenenergy.scoring import EventIn, InvalidEventData, Score, ScoringState, load_rules, score

SHANGHAI = ZoneInfo("Asia/Shanghai")
BOOK = load_rules(Path(__file__).resolve().parents[3] / "rules", SHANGHAI)


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def run(events: list[tuple[str, datetime, dict]], user: str = "u-1", state: ScoringState | None = None) -> list[Score]:
    state = state if state is not None else ScoringState()
    return [score(BOOK, EventIn(user, kind, at, BOOK.validate(kind, at, data)), state) for kind, at, data in events]


def grams(events, **kwargs) -> list[int]:
    return [s.energy_g for s in run(events, **kwargs)]


def test_every_behaviour_of_the_reference_has_a_rule_with_the_contract_fields() -> None:
    fields = {v.event_type: v.fields for v in BOOK.versions()}
    assert fields == {
        "walking.steps": {"steps": "int"},
        "payment.offline": {"amount_fen": "int"},
        "bill.utility": {"amount_fen": "int", "account_no": "str"},
        "ticket.show": {},
        "ticket.train": {},
        "hospital.appointment": {},
        "transit.metro": {},
        "transit.bus": {},
        "invoice.electronic": {},
        "food.no_cutlery": {},
        "toll.etc": {"amount_fen": "int"},
        "recycling.box": {"boxes": "int"},
        "retail.no_bag": {},
        "logistics.e_waybill": {},
        "recycling.clothes": {"weight_g": "int"},
        "office.paperless": {"pages": "int"},
    }


def test_methodology_cites_a_source_and_flags_unverified_figures() -> None:
    unverified = {v.id for v in BOOK.versions() if not v.methodology.verified}
    assert unverified == {
        "toll.etc",
        "food.no_cutlery",
        "retail.no_bag",
        "recycling.clothes",
        "office.paperless",
        "logistics.e_waybill",
    }
    assert all(len(v.methodology.source) > 20 for v in BOOK.versions())


def test_the_11th_offline_payment_of_a_local_day_earns_0() -> None:
    day = [("payment.offline", local(f"2026-05-03T{8 + i:02d}:00"), {"amount_fen": 100}) for i in range(11)]
    scores = run([*day, ("payment.offline", local("2026-05-04T00:00"), {"amount_fen": 100})])
    assert [s.energy_g for s in scores] == [5] * 10 + [0, 5]
    assert scores[10].capped and scores[10].explanation == "5 g; cap day max_count 10 reached -> 0"
    assert scores[10].rule_ref == "payment.offline@1"


def test_a_payment_under_1_yuan_earns_0_and_does_not_count() -> None:
    events = [("payment.offline", local("2026-05-03T09:00"), {"amount_fen": 99})]
    events += [("payment.offline", local(f"2026-05-03T1{i}:00"), {"amount_fen": 250}) for i in range(10)]
    scores = run(events)
    assert [s.energy_g for s in scores] == [0] + [5] * 10
    assert not scores[0].condition_met and scores[0].explanation == "condition not met: amount_fen >= 100"


def test_the_day_boundary_is_the_configured_zones() -> None:
    # 23:30 UTC on 3 May is 07:30 on 4 May in Shanghai: a new day for the cap
    utc = UTC
    ten = [("payment.offline", datetime(2026, 5, 3, 2 + i, tzinfo=utc), {"amount_fen": 100}) for i in range(10)]
    late = [
        ("payment.offline", datetime(2026, 5, 3, 15, 59, tzinfo=utc), {"amount_fen": 100}),  # 23:59 local
        ("payment.offline", datetime(2026, 5, 3, 23, 30, tzinfo=utc), {"amount_fen": 100}),  # next local day
    ]
    assert grams(ten + late) == [5] * 10 + [0, 5]


def test_utility_bills_one_per_account_per_month_and_ten_a_month() -> None:
    events = [
        ("bill.utility", local("2026-05-01T10:00"), {"amount_fen": 5000, "account_no": "E-1"}),
        ("bill.utility", local("2026-05-20T10:00"), {"amount_fen": 5000, "account_no": "E-1"}),
        ("bill.utility", local("2026-05-20T11:00"), {"amount_fen": 5000, "account_no": "W-1"}),
        ("bill.utility", local("2026-06-01T00:00"), {"amount_fen": 5000, "account_no": "E-1"}),
        ("bill.utility", local("2026-06-02T00:00"), {"amount_fen": 50, "account_no": "G-1"}),
    ]
    scores = run(events)
    assert [s.energy_g for s in scores] == [262, 0, 262, 262, 0]
    assert scores[1].explanation == "262 g; cap month per account_no max_count 1 reached -> 0"
    month = [
        ("bill.utility", local(f"2026-07-{1 + i:02d}T09:00"), {"amount_fen": 100, "account_no": f"A-{i}"})
        for i in range(11)
    ]
    assert grams(month) == [262] * 10 + [0]


def test_walking_awards_only_increases_and_stops_at_296() -> None:
    syncs = [5_000, 4_000, 12_000, 12_000, 20_000, 30_000]
    events = [("walking.steps", local(f"2026-05-03T{9 + i:02d}:00"), {"steps": s}) for i, s in enumerate(syncs)]
    events.append(("walking.steps", local("2026-05-04T08:00"), {"steps": 10_000}))
    scores = run(events)
    assert [s.energy_g for s in scores] == [100, 0, 140, 0, 56, 0, 200]
    assert sum(s.energy_g for s in scores[:6]) == 296
    assert scores[4].capped and scores[4].explanation.endswith("cap day max_energy_g 296 -> 56")


def test_walking_reaches_the_cap_at_14800_steps() -> None:
    assert grams([("walking.steps", local("2026-05-03T20:00"), {"steps": 14_800})]) == [296]
    assert grams([("walking.steps", local("2026-05-03T20:00"), {"steps": 14_799})]) == [295]


def test_a_box_earns_37_g() -> None:
    events = [
        ("recycling.box", local("2026-05-03T09:00"), {"boxes": 1}),
        ("recycling.box", local("2026-05-03T10:00"), {"boxes": 2}),
        ("recycling.box", local("2026-05-03T12:00"), {"boxes": 20}),
    ]
    scores = run(events)
    assert [s.energy_g for s in scores] == [37, 74, 259]  # 370 g a day in all
    assert scores[1].explanation == "37 * boxes = 74"
    assert scores[2].explanation == "37 * boxes = 740; cap day max_energy_g 370 -> 259"


def test_the_contract_bounds_of_the_data_are_declared_by_every_version() -> None:
    bounds = {(v.ref, name): bound for v in BOOK.versions() for name, bound in v.bounds.items()}
    assert bounds == {
        ("bill.utility@1", "amount_fen"): (0, None),
        ("office.paperless@1", "pages"): (1, None),
        ("payment.offline@1", "amount_fen"): (0, None),
        ("recycling.box@1", "boxes"): (1, None),
        ("recycling.box@2", "boxes"): (1, None),
        ("recycling.clothes@1", "weight_g"): (1, None),
        ("toll.etc@1", "amount_fen"): (0, None),
    }


@pytest.mark.parametrize(
    ("kind", "at", "data", "message"),
    [
        ("recycling.box", "2026-05-03T09:00", {"boxes": 0}, "recycling.box@1: field 'boxes' must be at least 1, got 0"),
        (
            "recycling.box",
            "2026-09-03T09:00",
            {"boxes": -5},
            "recycling.box@2: field 'boxes' must be at least 1, got -5",
        ),
        (
            "recycling.clothes",
            "2026-05-03T09:00",
            {"weight_g": 0},
            "recycling.clothes@1: field 'weight_g' must be at least 1, got 0",
        ),
        (
            "office.paperless",
            "2026-05-03T09:00",
            {"pages": 0},
            "office.paperless@1: field 'pages' must be at least 1, got 0",
        ),
        (
            "payment.offline",
            "2026-05-03T09:00",
            {"amount_fen": -1},
            "payment.offline@1: field 'amount_fen' must be at least 0, got -1",
        ),
        (
            "bill.utility",
            "2026-05-03T09:00",
            {"amount_fen": -500, "account_no": "E-1"},
            "bill.utility@1: field 'amount_fen' must be at least 0, got -500",
        ),
        (
            "toll.etc",
            "2026-05-03T09:00",
            {"amount_fen": -1},
            "toll.etc@1: field 'amount_fen' must be at least 0, got -1",
        ),
    ],
)
def test_data_outside_the_contract_bounds_is_invalid(kind: str, at: str, data: dict, message: str) -> None:
    with pytest.raises(InvalidEventData) as caught:
        BOOK.validate(kind, local(at), data)
    error = caught.value
    assert (error.code, error.details) == ("invalid_data", {"field": next(iter(data)), "reason": "out_of_bounds"})
    assert error.message == message


def test_the_lowest_valid_values_are_scored() -> None:
    at = local("2026-05-03T09:00")
    scores = run(
        [
            ("recycling.box", at, {"boxes": 1}),
            ("recycling.clothes", at, {"weight_g": 1}),
            ("office.paperless", at, {"pages": 1}),
            ("payment.offline", at, {"amount_fen": 0}),
            ("toll.etc", at, {"amount_fen": 0}),
        ]
    )
    assert [s.energy_g for s in scores] == [37, 3, 5, 0, 0]
    assert scores[0].rule_ref == "recycling.box@1" and scores[0].explanation == "37 * boxes = 37"


def test_a_payment_under_1_yuan_is_valid_data_and_earns_0() -> None:
    data = BOOK.validate("payment.offline", local("2026-05-03T09:00"), {"amount_fen": 50})
    (result,) = run([("payment.offline", local("2026-05-03T09:00"), data)])
    assert (result.energy_g, result.condition_met) == (0, False)
    assert result.explanation == "condition not met: amount_fen >= 100"


def test_the_charity_week_doubles_boxes_in_version_2() -> None:
    scores = run(
        [
            ("recycling.box", local("2026-08-31T23:59"), {"boxes": 1}),
            ("recycling.box", local("2026-09-01T00:00"), {"boxes": 1}),
            ("recycling.box", local("2026-09-05T00:00"), {"boxes": 2}),
            ("recycling.box", local("2026-09-11T23:59"), {"boxes": 1}),
            ("recycling.box", local("2026-09-12T00:00"), {"boxes": 1}),
        ]
    )
    assert [(s.rule_ref, s.energy_g, s.multiplier) for s in scores] == [
        ("recycling.box@1", 37, None),
        ("recycling.box@2", 37, None),
        ("recycling.box@2", 148, 2),
        ("recycling.box@2", 74, 2),
        ("recycling.box@2", 37, None),
    ]
    assert scores[2].explanation == "37 * boxes = 74; multiplier x2 (2026-09-05..2026-09-12) = 148"


def test_the_daily_box_cap_still_holds_in_the_charity_week() -> None:
    assert grams([("recycling.box", local("2026-09-06T10:00"), {"boxes": 6})]) == [370]


def test_transit_and_invoice_daily_counts() -> None:
    for kind, each in (("transit.metro", 52), ("transit.bus", 80), ("invoice.electronic", 5)):
        events = [(kind, local(f"2026-05-03T{7 + i:02d}:00"), {}) for i in range(6)]
        assert grams(events) == [each] * 5 + [0], kind


def test_tickets_and_appointments_monthly_counts() -> None:
    for kind, each, limit in (("ticket.show", 180, 10), ("ticket.train", 136, 10), ("hospital.appointment", 277, 5)):
        events = [(kind, local("2026-05-01T09:00") + timedelta(days=i), {}) for i in range(limit + 1)]
        events.append((kind, local("2026-06-01T09:00"), {}))
        assert grams(events) == [each] * limit + [0, each], kind


def test_the_other_behaviours_figures() -> None:
    at = local("2026-05-03T12:00")
    assert grams([("toll.etc", at, {"amount_fen": 1500})]) == [23]
    assert grams([("toll.etc", at, {"amount_fen": 0})]) == [0]
    assert grams([("food.no_cutlery", at, {})]) == [16]
    assert grams([("retail.no_bag", at, {})]) == [21]
    assert grams([("logistics.e_waybill", at, {})]) == [10]
    assert grams([("recycling.clothes", at, {"weight_g": 1_000})]) == [3_600]
    clothes = [("recycling.clothes", at, {"weight_g": 3}), ("recycling.clothes", at, {"weight_g": 1_000})]
    assert grams(clothes) == [10, 0]  # one hand-in a day
    assert grams([("office.paperless", at, {"pages": 3}), ("office.paperless", at, {"pages": 30})]) == [15, 85]


def test_users_do_not_share_caps() -> None:
    state = ScoringState()
    events = [("transit.metro", local(f"2026-05-03T{7 + i:02d}:00"), {}) for i in range(5)]
    assert grams(events, user="u-1", state=state) == [52] * 5
    assert grams(events, user="u-2", state=state) == [52] * 5
