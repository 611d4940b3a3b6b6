"""The yearly statement: local-year aggregation, ball outcomes, trees, percentile."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from greenenergy.forest import (
    Ball,
    BallSummary,
    CertificateRow,
    EventRow,
    Theft,
    TreeRow,
    build_statement,
    collect,
    expire,
    percentile,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def ball(ball_id: str, visible: str, energy_g: int = 100, stolen_g: int = 0, user_id: str = "me") -> Ball:
    seen = at(visible)
    return Ball(
        ball_id=ball_id,
        user_id=user_id,
        event_type="transit.bus",
        energy_g=energy_g,
        ripens_at=seen,
        visible_at=seen,
        expires_at=seen + timedelta(hours=72),
        stolen_g=stolen_g,
    )


def statement(**rows):
    base = {
        "user_id": "me",
        "year": 2026,
        "tz": SHANGHAI,
        "now": at("2027-01-10T00:00:00+08:00"),
        "events": [],
        "balls": [],
        "thefts": [],
        "trees": [],
        "certificates": [],
        "collect_dates": [],
        "yearly_totals_g": [0],
    }
    base.update(rows)
    return build_statement(**base)


def test_energy_by_behaviour_and_by_local_month():
    events = [
        EventRow("transit.bus", 80, at("2025-12-31T16:30:00+00:00")),  # 00:30 on 1 Jan 2026 local
        EventRow("transit.bus", 80, at("2026-01-31T17:00:00+00:00")),  # 01:00 on 1 Feb local
        EventRow("recycling.box", 74, at("2026-02-10T09:00:00+08:00")),
        EventRow("recycling.box", 37, at("2026-12-31T16:00:00+00:00")),  # 1 Jan 2027 local: not this year
        EventRow("recycling.box", 37, at("2025-12-31T15:59:59+00:00")),  # 31 Dec 2025 local
    ]
    result = statement(events=events)
    assert result.events == 3
    assert result.energy_g == result.carbon_g == 234
    assert result.energy_by_type_g == result.carbon_by_type_g == {"recycling.box": 74, "transit.bus": 160}
    assert result.energy_by_month_g[1] == 80 and result.energy_by_month_g[2] == 154
    assert sorted(result.energy_by_month_g) == list(range(1, 13))
    assert sum(result.energy_by_month_g.values()) == 234


def test_ball_outcomes_collected_stolen_and_expired_by_me_and_from_me():
    collected = collect(ball("b-1", "2026-03-01T07:00:00+08:00", stolen_g=20), at("2026-03-01T08:00:00+08:00")).ball
    swept = expire(ball("b-2", "2026-04-01T07:00:00+08:00", stolen_g=10), at("2026-04-04T07:00:00+08:00")).ball
    unswept = ball("b-3", "2026-12-30T07:00:00+08:00", energy_g=50)  # expires 2 Jan 2027
    still_ripe = ball("b-4", "2026-12-31T07:00:00+08:00")  # ripe at "now" below
    thefts = [
        Theft("b-1", "me", "fox", 20, at("2026-03-01T07:30:00+08:00")),
        Theft("b-2", "me", "fox", 10, at("2026-04-01T07:30:00+08:00")),
        Theft("b-9", "me", "fox", 0, at("2026-04-01T07:30:00+08:00")),  # stopped by a cover
        Theft("b-7", "pal", "me", 12, at("2026-05-01T07:30:00+08:00")),
        Theft("b-8", "pal", "me", 9, at("2025-05-01T07:30:00+08:00")),  # another year
        Theft("b-6", "pal", "fox", 9, at("2026-05-01T07:30:00+08:00")),  # not mine at all
    ]
    result = statement(
        balls=[collected, swept, unswept, still_ripe], thefts=thefts, now=at("2026-12-31T12:00:00+08:00")
    )
    assert result.balls == BallSummary(
        collected_count=1,
        collected_g=80,
        expired_count=1,
        expired_g=90,
        stolen_from_me_count=2,
        stolen_from_me_g=30,
        stolen_by_me_count=1,
        stolen_by_me_g=12,
    )
    later = statement(balls=[unswept], now=at("2027-01-02T07:00:00+08:00"))
    assert (later.balls.expired_count, later.balls.expired_g) == (0, 0)  # it expired in 2027
    assert statement(balls=[unswept], year=2027, now=at("2027-01-02T07:00:00+08:00")).balls.expired_g == 50


def test_trees_certificates_and_best_streak_of_the_year():
    trees = [
        TreeRow("t-1", "saxaul", "planted", at("2026-03-12T10:00:00+08:00")),
        TreeRow("t-2", "saxaul", "awaiting_planting", at("2026-11-02T10:00:00+08:00")),
        TreeRow("t-3", "red_willow", "planted", at("2026-06-02T10:00:00+08:00")),
        TreeRow("t-0", "saxaul", "alive", at("2025-06-02T10:00:00+08:00")),
    ]
    certificates = [
        CertificateRow("GE-2026-000002", "t-3", at("2026-07-01T10:00:00+08:00")),
        CertificateRow("GE-2026-000001", "t-1", at("2026-04-01T10:00:00+08:00")),
        CertificateRow("GE-2025-000009", "t-0", at("2025-07-01T10:00:00+08:00")),
    ]
    collect_dates = [
        date(2025, 12, 29),
        date(2025, 12, 30),
        date(2025, 12, 31),
        date(2026, 1, 1),
        date(2026, 1, 2),
        date(2026, 5, 1),
        date(2026, 5, 2),
        date(2026, 5, 3),
    ]
    result = statement(trees=trees, certificates=certificates, collect_dates=collect_dates)
    assert result.trees_total == 3
    assert result.trees_by_species == {"red_willow": 1, "saxaul": 2}
    assert result.trees_by_status == {"awaiting_planting": 1, "planted": 2}
    assert result.certificates == ("GE-2026-000001", "GE-2026-000002")
    # The run over New Year counts only its two 2026 days; the May run of three is the best.
    assert result.best_streak_days == 3
    assert statement(collect_dates=collect_dates[:5]).best_streak_days == 2


def test_percentile_is_the_floored_share_of_users_strictly_lower():
    totals = [0, 10, 10, 20, 50]
    assert percentile(10, totals) == 20  # only the 0 is lower: 1 of 5
    assert percentile(50, totals) == 80
    assert percentile(0, totals) == 0
    assert percentile(20, [0, 0, 20]) == 66  # 2 of 3, floored
    assert percentile(5, []) == 0


def test_the_statement_percentile_uses_the_years_energy():
    events = [EventRow("transit.bus", 80, at("2026-05-01T09:00:00+08:00"))]
    assert statement(events=events, yearly_totals_g=[0, 0, 80, 100]).percentile == 50
