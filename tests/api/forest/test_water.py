"""Watering through the API: the allowed amounts, three a day per friend (local day), the
giver's balance, and concurrent waterings that cannot exceed the limit."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient

from greenenergy.clock import ManualClock
from greenenergy.errors import GreenEnergyError
from greenenergy.services import ledger as ledger_service
from greenenergy.services.audit.verify import verify
from greenenergy.services.forest import water as forest_water
from greenenergy.services.runtime import Runtime
from tests.api.forest.conftest import befriend, fund, run_at_once
from tests.helpers import bearer


def water(client: TestClient, runtime: Runtime, giver: str, body: dict):
    return client.post(f"/v1/users/{giver}/water", json=body, headers=bearer(runtime, "user", giver))


def test_watering_sends_a_ripe_ball_the_friend_collects(runtime: Runtime, client: TestClient) -> None:
    befriend(runtime, "alice", "bob")
    fund(runtime, "alice", 100)
    answer = water(client, runtime, "alice", {"friend_id": "bob", "energy_g": 33})
    assert answer.status_code == 200
    body = answer.json()
    assert (body["energy_g"], body["available_g"], body["waterings_today"]) == (33, 67, 1)

    [ball] = client.get("/v1/users/bob/balls", headers=bearer(runtime, "user", "bob")).json()
    assert (ball["ball_id"], ball["status"], ball["source"], ball["giver_id"], ball["energy_g"]) == (
        body["ball_id"],
        "ripe",
        "water",
        "alice",
        33,
    )
    assert ball["event_type"] == "forest.water"
    history = client.get("/v1/users/alice/transactions", headers=bearer(runtime, "user", "alice")).json()
    assert (history[0]["kind"], history[0]["energy_g"], history[0]["refs"]) == ("water", -33, {"ball": body["ball_id"]})
    assert ledger_service.balance(runtime, "user:bob:pending") == 33
    collected = client.post(f"/v1/users/bob/balls/{ball['ball_id']}/collect", headers=bearer(runtime, "user", "bob"))
    assert collected.json() == {"ball_id": ball["ball_id"], "collected_g": 33, "available_g": 33}


def test_watering_refuses_bad_requests_with_specific_codes(runtime: Runtime, client: TestClient) -> None:
    befriend(runtime, "alice", "bob")
    fund(runtime, "alice", 1000)
    cases = [
        ({"friend_id": "bob", "energy_g": 11}, 422, "invalid_amount"),
        ({"friend_id": "bob", "energy_g": 0}, 422, "invalid_amount"),
        ({"friend_id": "bob", "energy_g": -10}, 422, "invalid_amount"),
        ({"friend_id": "bob", "energy_g": 10.0}, 422, "invalid_request"),  # a float is not grams
        ({"friend_id": "bob", "energy_g": "10"}, 422, "invalid_request"),
        ({"friend_id": "bob", "energy_g": True}, 422, "invalid_request"),
        ({"friend_id": "bob"}, 422, "invalid_request"),
        ({"energy_g": 10}, 422, "invalid_request"),
        ({"friend_id": "bad id", "energy_g": 10}, 422, "invalid_request"),
        ({"friend_id": "alice", "energy_g": 10}, 422, "self_watering"),
        ({"friend_id": "carol", "energy_g": 10}, 403, "not_friends"),
    ]
    for body, status, code in cases:
        answer = water(client, runtime, "alice", body)
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), body
    other = client.post(
        "/v1/users/alice/water", json={"friend_id": "bob", "energy_g": 10}, headers=bearer(runtime, "user", "bob")
    )
    assert (other.status_code, other.json()["error"]["code"]) == (403, "not_yours")
    assert ledger_service.balance(runtime, "user:alice:available") == 1000  # nothing moved


def test_a_fourth_watering_of_the_local_day_is_refused_until_midnight(
    runtime: Runtime, client: TestClient, clock: ManualClock
) -> None:
    befriend(runtime, "alice", "bob", "carol")
    fund(runtime, "alice", 1000)
    clock.set(datetime.fromisoformat("2026-11-20T23:58:00+08:00"))
    for n in range(3):
        assert water(client, runtime, "alice", {"friend_id": "bob", "energy_g": 10}).json()["waterings_today"] == n + 1
    fourth = water(client, runtime, "alice", {"friend_id": "bob", "energy_g": 10})
    assert (fourth.status_code, fourth.json()["error"]["code"]) == (409, "watering_limit")
    # The limit is per friend: carol may still be watered today.
    assert water(client, runtime, "alice", {"friend_id": "carol", "energy_g": 66}).status_code == 200
    clock.set(datetime.fromisoformat("2026-11-20T23:59:59+08:00"))
    assert water(client, runtime, "alice", {"friend_id": "bob", "energy_g": 10}).status_code == 409
    clock.set(datetime.fromisoformat("2026-11-21T00:00:00+08:00"))  # 16:00 UTC: a new local day
    assert water(client, runtime, "alice", {"friend_id": "bob", "energy_g": 18}).json()["waterings_today"] == 1
    assert ledger_service.balance(runtime, "user:alice:available") == 1000 - 30 - 66 - 18


def test_watering_needs_available_energy(runtime: Runtime, client: TestClient) -> None:
    befriend(runtime, "alice", "bob")
    fund(runtime, "alice", 30)
    poor = water(client, runtime, "alice", {"friend_id": "bob", "energy_g": 33})
    assert (poor.status_code, poor.json()["error"]["code"]) == (409, "insufficient_energy")
    assert client.get("/v1/users/bob/balls", headers=bearer(runtime, "user", "bob")).json() == []
    assert water(client, runtime, "alice", {"friend_id": "bob", "energy_g": 18}).status_code == 200


def test_eight_concurrent_waterings_of_one_friend_make_three(runtime: Runtime) -> None:
    befriend(runtime, "alice", "bob")
    fund(runtime, "alice", 1000)
    results = run_at_once(8, lambda _n: forest_water.water(runtime, giver_id="alice", friend_id="bob", energy_g=10))
    done = [r for r in results if isinstance(r, forest_water.Watered)]
    refused = [r for r in results if isinstance(r, GreenEnergyError)]
    assert len(done) == 3 and sorted(r.waterings_today for r in done) == [1, 2, 3]
    assert len(refused) == 5 and {r.code for r in refused} == {"watering_limit"}
    assert ledger_service.balance(runtime, "user:alice:available") == 970
    assert ledger_service.balance(runtime, "user:bob:pending") == 30
    assert verify(runtime).ok
