"""The yearly statement over real ingestion, across a month and a year boundary (Asia/Shanghai)."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient

from greenenergy.clock import ManualClock
from greenenergy.services.forest import jobs as forest_jobs
from greenenergy.services.ingest import IncomingEvent, ingest
from greenenergy.services.runtime import Runtime
from tests.helpers import bearer


def local(text: str) -> datetime:
    return datetime.fromisoformat(text + "+08:00")


def send(runtime: Runtime, user: str, event_id: str, occurred: str, boxes: int) -> None:
    summary = ingest(
        runtime,
        source_id="cainiao",
        events=[IncomingEvent(event_id, "recycling.box", user, local(occurred), {"boxes": boxes})],
    )
    assert summary.accepted == 1


def test_statement_counts_energy_by_month_and_balls_by_when_they_were_collected(
    runtime: Runtime,
    client: TestClient,
    clock: ManualClock,
) -> None:
    alice = bearer(runtime, "user", "alice")
    clock.set(local("2026-11-30T23:40:00"))
    send(runtime, "alice", "nov", "2026-11-30T23:30:00", 2)  # 74 g in November
    send(runtime, "bob", "bob-1", "2026-11-30T23:00:00", 9)  # 333 g
    send(runtime, "carol", "carol-1", "2026-11-30T22:00:00", 1)  # 37 g
    clock.set(local("2026-12-01T00:15:00"))
    send(runtime, "alice", "dec", "2026-12-01T00:10:00", 1)  # 37 g in December, same 07:00 ripening
    clock.set(local("2026-12-01T08:00:00"))
    collected = client.post("/v1/users/alice/balls/collect-all", headers=alice).json()
    assert collected["collected_g"] == 111

    clock.set(local("2026-12-31T23:40:00"))
    send(runtime, "alice", "eve", "2026-12-31T23:30:00", 3)  # 111 g, occurred in 2026
    clock.set(local("2027-01-01T08:00:00"))  # its ball ripened at 07:00 on the 1st of 2027
    assert client.post("/v1/users/alice/balls/collect-all", headers=alice).json()["collected_g"] == 111

    y2026 = client.get("/v1/users/alice/statement?year=2026", headers=alice).json()
    assert (y2026["events"], y2026["energy_g"], y2026["carbon_g"]) == (3, 222, 222)
    assert y2026["energy_by_type_g"] == {"recycling.box": 222}
    assert {m: g for m, g in y2026["energy_by_month_g"].items() if g} == {"11": 74, "12": 148}
    assert (y2026["balls"]["collected_count"], y2026["balls"]["collected_g"]) == (1, 111)
    assert y2026["best_streak_days"] == 1
    assert y2026["percentile"] == 33  # bob has more, carol less: better than 1 of 3 users
    assert (y2026["trees_total"], y2026["certificates"]) == (0, [])

    y2027 = client.get("/v1/users/alice/statement?year=2027", headers=alice).json()
    assert (y2027["events"], y2027["energy_g"], y2027["balls"]["collected_g"]) == (0, 0, 111)
    assert y2027["percentile"] == 0


def test_statement_counts_expired_and_stolen_balls(runtime: Runtime, client: TestClient, clock: ManualClock) -> None:
    alice = bearer(runtime, "user", "alice")
    clock.set(local("2026-11-20T10:00:00"))
    send(runtime, "alice", "e1", "2026-11-20T09:00:00", 4)  # 148 g, ripens 11-21 07:00
    clock.set(local("2026-11-24T07:00:00"))  # expired at 07:00 on the 24th; not swept yet
    before = client.get("/v1/users/alice/statement?year=2026", headers=alice).json()["balls"]
    assert (before["expired_count"], before["expired_g"]) == (1, 148)
    forest_jobs.expire_balls(runtime)
    after = client.get("/v1/users/alice/statement?year=2026", headers=alice).json()["balls"]
    assert after == before


def test_statement_refuses_bad_years_and_other_users(runtime: Runtime, client: TestClient) -> None:
    alice = bearer(runtime, "user", "alice")
    for query in ("", "?year=1999", "?year=3000", "?year=twenty", "?year=2026.5"):
        answer = client.get(f"/v1/users/alice/statement{query}", headers=alice)
        assert (answer.status_code, answer.json()["error"]["code"]) == (422, "invalid_request"), query
    other = client.get("/v1/users/alice/statement?year=2026", headers=bearer(runtime, "user", "bob"))
    assert (other.status_code, other.json()["error"]["code"]) == (403, "not_yours")
    empty = client.get("/v1/users/alice/statement?year=2026", headers=bearer(runtime, "auditor", "a")).json()
    assert (empty["energy_g"], empty["percentile"], empty["balls"]["collected_count"]) == (0, 0, 0)
