"""Energy, ball listing, collect and collect-all through the API, with the clock moved
across 07:00 (Asia/Shanghai), the 72-hour edge and a month boundary."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient

from greenenergy.clock import ManualClock
from greenenergy.services import ledger as ledger_service
from greenenergy.services.audit.verify import verify
from greenenergy.services.forest import jobs as forest_jobs
from greenenergy.services.forest import steal as forest_steal
from greenenergy.services.runtime import Runtime
from tests.api.forest.conftest import befriend, make_ball, make_ripe_ball
from tests.helpers import bearer

LOCAL = "+08:00"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text + LOCAL)


def test_energy_shows_balances_and_lifetime_of_own_minted_energy(runtime: Runtime, client: TestClient) -> None:
    befriend(runtime, "alice", "bob")
    alices = make_ripe_ball(runtime, "alice", 200)
    make_ripe_ball(runtime, "bob", 300)
    forest_steal.steal(runtime, thief_id="bob", victim_id="alice", ball_id=alices.ball_id)
    client.post(f"/v1/users/alice/balls/{alices.ball_id}/collect", headers=bearer(runtime, "user", "alice"))

    body = client.get("/v1/users/alice/energy", headers=bearer(runtime, "user", "alice")).json()
    stolen = 200 - body["available_g"]
    assert 0 < stolen <= 100
    assert body == {"user_id": "alice", "available_g": 200 - stolen, "pending_g": 0, "lifetime_g": 200, "trees": 0}
    bob = client.get("/v1/users/bob/energy", headers=bearer(runtime, "auditor", "audit-1")).json()
    # The stolen grams are bob's available energy, but not his lifetime (he did not earn them).
    assert bob == {"user_id": "bob", "available_g": stolen, "pending_g": 300, "lifetime_g": 300, "trees": 0}


def test_a_ball_ripens_at_seven_local_not_a_second_before(
    runtime: Runtime, client: TestClient, clock: ManualClock
) -> None:
    alice = bearer(runtime, "user", "alice")
    clock.set(at("2026-11-20T06:30:00"))
    early = make_ball(runtime, "alice", 40, occurred_at=at("2026-11-20T06:59:00"))  # ripens 07:00 today
    late = make_ball(runtime, "alice", 60, occurred_at=clock.now())  # 06:30 -> also 07:00 today
    clock.set(at("2026-11-20T07:00:00"))
    after_seven = make_ball(runtime, "alice", 80, occurred_at=at("2026-11-20T07:00:00"))  # -> 07:00 tomorrow

    clock.set(at("2026-11-20T06:59:59"))
    answer = client.post(f"/v1/users/alice/balls/{early.ball_id}/collect", headers=alice)
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "not_ripe"
    statuses = {b["ball_id"]: b["status"] for b in client.get("/v1/users/alice/balls", headers=alice).json()}
    assert statuses == {early.ball_id: "waiting", late.ball_id: "waiting", after_seven.ball_id: "waiting"}

    clock.set(at("2026-11-20T07:00:00"))
    assert client.post(f"/v1/users/alice/balls/{early.ball_id}/collect", headers=alice).json() == {
        "ball_id": early.ball_id,
        "collected_g": 40,
        "available_g": 40,
    }
    every = client.post("/v1/users/alice/balls/collect-all", headers=alice).json()
    assert every == {"collected_g": 60, "available_g": 100, "balls": 1, "ball_ids": [late.ball_id]}

    clock.set(at("2026-11-21T06:59:59"))
    assert client.post("/v1/users/alice/balls/collect-all", headers=alice).json()["balls"] == 0
    clock.set(at("2026-11-21T07:00:00"))
    assert client.post("/v1/users/alice/balls/collect-all", headers=alice).json()["ball_ids"] == [after_seven.ball_id]


def test_a_ball_expires_exactly_72_hours_after_it_became_visible(
    runtime: Runtime, client: TestClient, clock: ManualClock
) -> None:
    alice = bearer(runtime, "user", "alice")
    clock.set(at("2026-11-20T09:00:00"))
    # Ingested late (09:00) for a behaviour that ripened at 07:00: visible from 09:00.
    ball = make_ball(runtime, "alice", 90, occurred_at=at("2026-11-19T20:00:00"), ingested_at=clock.now())
    listed = client.get("/v1/users/alice/balls", headers=alice).json()[0]
    assert listed["ripens_at"] == "2026-11-19T23:00:00Z" and listed["visible_at"] == "2026-11-20T01:00:00Z"
    assert listed["expires_at"] == "2026-11-23T01:00:00Z" and listed["status"] == "ripe"

    clock.set(at("2026-11-23T08:59:59"))
    assert forest_jobs.expire_balls(runtime).balls == 0
    assert client.get("/v1/users/alice/balls", headers=alice).json()[0]["status"] == "ripe"

    clock.set(at("2026-11-23T09:00:00"))
    # Expired by the clock before any job ran: the read says so and collecting is refused.
    assert client.get("/v1/users/alice/balls", headers=alice).json() == []  # no longer in play
    expired = client.get("/v1/users/alice/balls?status=expired", headers=alice).json()
    assert [(b["ball_id"], b["status"]) for b in expired] == [(ball.ball_id, "expired")]
    answer = client.post(f"/v1/users/alice/balls/{ball.ball_id}/collect", headers=alice)
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "expired"
    assert client.get("/v1/users/alice/energy", headers=alice).json()["pending_g"] == 0  # pending: balls in play

    assert forest_jobs.expire_balls(runtime) == forest_jobs.ExpiryCounts(balls=1, expired_g=90)
    assert forest_jobs.expire_balls(runtime) == forest_jobs.ExpiryCounts(balls=0, expired_g=0)
    energy = client.get("/v1/users/alice/energy", headers=alice).json()
    assert (energy["pending_g"], energy["available_g"]) == (0, 0)
    assert ledger_service.balance(runtime, "sink:expired") == 90
    listed = client.get("/v1/users/alice/balls?status=expired", headers=alice).json()[0]
    assert (listed["status"], listed["expired_g"], listed["remaining_g"]) == ("expired", 90, 0)
    history = client.get("/v1/users/alice/transactions", headers=alice).json()
    assert history[0]["kind"] == "expire" and history[0]["refs"] == {"ball": ball.ball_id}


def test_balls_across_a_month_boundary_ripen_on_the_first(
    runtime: Runtime, client: TestClient, clock: ManualClock
) -> None:
    alice = bearer(runtime, "user", "alice")
    clock.set(at("2026-11-30T23:30:00"))
    ball = make_ball(runtime, "alice", 55, occurred_at=clock.now())
    listed = client.get("/v1/users/alice/balls", headers=alice).json()[0]
    assert listed["ripens_at"] == "2026-11-30T23:00:00Z"  # 2026-12-01 07:00 local
    clock.set(at("2026-12-01T06:59:00"))
    assert client.post(f"/v1/users/alice/balls/{ball.ball_id}/collect", headers=alice).status_code == 409
    clock.set(at("2026-12-04T06:59:59"))  # 72 h after 12-01 07:00, minus a second
    assert client.post(f"/v1/users/alice/balls/{ball.ball_id}/collect", headers=alice).json()["collected_g"] == 55


def test_listing_keeps_open_balls_and_a_week_of_history(
    runtime: Runtime, client: TestClient, clock: ManualClock
) -> None:
    alice = bearer(runtime, "user", "alice")
    old = make_ripe_ball(runtime, "alice", 10)
    client.post(f"/v1/users/alice/balls/{old.ball_id}/collect", headers=alice)
    clock.advance(days=6)
    recent = make_ripe_ball(runtime, "alice", 20)
    client.post(f"/v1/users/alice/balls/{recent.ball_id}/collect", headers=alice)
    waiting = make_ball(runtime, "alice", 30)
    every = "?status=waiting&status=ripe&status=collected&status=expired"
    listed = {b["ball_id"]: b["status"] for b in client.get(f"/v1/users/alice/balls{every}", headers=alice).json()}
    assert listed == {old.ball_id: "collected", recent.ball_id: "collected", waiting.ball_id: "waiting"}
    in_play = client.get("/v1/users/alice/balls", headers=alice).json()
    assert [b["ball_id"] for b in in_play] == [waiting.ball_id]  # the default: the balls in play
    clock.advance(days=1, seconds=1)  # the first collect is now more than 7 days old
    listed = {b["ball_id"] for b in client.get(f"/v1/users/alice/balls{every}", headers=alice).json()}
    assert listed == {recent.ball_id, waiting.ball_id}


def test_collect_all_posts_one_collect_per_ball_in_one_commit(runtime: Runtime, client: TestClient) -> None:
    alice = bearer(runtime, "user", "alice")
    ripe = [make_ripe_ball(runtime, "alice", g) for g in (11, 22, 33)]
    make_ball(runtime, "alice", 44)  # waiting: left alone
    answer = client.post("/v1/users/alice/balls/collect-all", headers=alice).json()
    assert (answer["collected_g"], answer["available_g"], answer["balls"]) == (66, 66, 3)
    assert sorted(answer["ball_ids"]) == sorted(b.ball_id for b in ripe)
    collects = [
        t
        for t in client.get("/v1/users/alice/transactions", headers=alice).json()
        if t["kind"] == "collect" and t["account"] == "user:alice:available"
    ]
    assert sorted((t["refs"]["ball"], t["energy_g"]) for t in collects) == sorted((b.ball_id, b.energy_g) for b in ripe)
    again = client.post("/v1/users/alice/balls/collect-all", headers=alice).json()
    assert again == {"collected_g": 0, "available_g": 66, "balls": 0, "ball_ids": []}
    assert verify(runtime).ok


def test_collect_refuses_bad_requests_with_specific_codes(runtime: Runtime, client: TestClient) -> None:
    alice, bob = bearer(runtime, "user", "alice"), bearer(runtime, "user", "bob")
    mine = make_ripe_ball(runtime, "alice", 50)
    bobs = make_ripe_ball(runtime, "bob", 50)
    waiting = make_ball(runtime, "alice", 5)
    cases = [
        (f"/v1/users/alice/balls/{mine.ball_id}/collect", bob, 403, "not_yours"),  # another user's token
        (f"/v1/users/alice/balls/{mine.ball_id}/collect", bearer(runtime, "admin", "ops"), 403, "wrong_role"),
        (f"/v1/users/alice/balls/{bobs.ball_id}/collect", alice, 403, "not_your_ball"),
        ("/v1/users/alice/balls/b-0000/collect", alice, 404, "ball_not_found"),
        ("/v1/users/alice/balls/not%20an%20id/collect", alice, 422, "invalid_request"),
        (f"/v1/users/bad%20user/balls/{mine.ball_id}/collect", alice, 422, "invalid_request"),
        (f"/v1/users/alice/balls/{waiting.ball_id}/collect", alice, 409, "not_ripe"),
        ("/v1/users/alice/balls/collect-all", bob, 403, "not_yours"),
    ]
    for path, headers, status, code in cases:
        answer = client.post(path, headers=headers)
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), path
    assert client.post(f"/v1/users/alice/balls/{mine.ball_id}/collect").status_code == 401
    assert client.post(f"/v1/users/alice/balls/{mine.ball_id}/collect", headers=alice).status_code == 200
    twice = client.post(f"/v1/users/alice/balls/{mine.ball_id}/collect", headers=alice)
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "already_collected")
    assert client.get("/v1/users/alice/energy", headers=alice).json()["available_g"] == 50


def test_reading_balls_needs_the_owner_a_friend_or_a_reader(runtime: Runtime, client: TestClient) -> None:
    make_ripe_ball(runtime, "alice", 50)
    assert client.get("/v1/users/alice/balls", headers=bearer(runtime, "user", "bob")).status_code == 403
    befriend(runtime, "alice", "bob")
    assert len(client.get("/v1/users/alice/balls", headers=bearer(runtime, "user", "bob")).json()) == 1
    assert len(client.get("/v1/users/alice/balls", headers=bearer(runtime, "auditor", "a")).json()) == 1
    forbidden = client.get("/v1/users/alice/energy", headers=bearer(runtime, "user", "bob"))
    assert (forbidden.status_code, forbidden.json()["error"]["code"]) == (403, "not_yours")
    source = client.get("/v1/users/alice/balls", headers=bearer(runtime, "source", "cainiao"))
    assert source.status_code == 403


def test_read_endpoints_refuse_malformed_user_ids_and_missing_tokens(runtime: Runtime, client: TestClient) -> None:
    auditor = bearer(runtime, "auditor", "a")
    for path in ("energy", "balls", "friends", "items", "achievements", "leaderboard", "statement?year=2026"):
        bad = client.get(f"/v1/users/not%20valid/{path}", headers=auditor)
        assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_request"), path
        anonymous = client.get(f"/v1/users/alice/{path}")
        assert (anonymous.status_code, anonymous.json()["error"]["code"]) == (401, "missing_token"), path
    # Users are implicit: a user nobody has heard of simply has nothing yet.
    assert client.get("/v1/users/newcomer/energy", headers=auditor).json() == {
        "user_id": "newcomer",
        "available_g": 0,
        "pending_g": 0,
        "lifetime_g": 0,
        "trees": 0,
    }
