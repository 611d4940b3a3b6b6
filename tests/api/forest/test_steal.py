"""Stealing through the API: friends only, the limits of a ball, covers and cards, and
thirty friends stealing from one ball at once (SQLite and PostgreSQL)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from greenenergy.clock import ManualClock
from greenenergy.errors import GreenEnergyError
from greenenergy.forest import MAX_THIEVES_PER_BALL, steal_pct
from greenenergy.services import ledger as ledger_service
from greenenergy.services.audit.verify import verify
from greenenergy.services.forest import balls as forest_balls
from greenenergy.services.forest import items as forest_items
from greenenergy.services.forest import steal as forest_steal
from greenenergy.services.runtime import Runtime
from tests.api.forest.conftest import befriend, make_ball, make_ripe_ball, run_at_once
from tests.helpers import bearer


def steal(client: TestClient, runtime: Runtime, thief: str, victim: str, ball_id: str):
    return client.post(f"/v1/users/{victim}/balls/{ball_id}/steal", headers=bearer(runtime, "user", thief))


def test_a_friend_steals_the_documented_share_and_the_victim_sees_it(runtime: Runtime, client: TestClient) -> None:
    befriend(runtime, "alice", "bob")
    ball = make_ripe_ball(runtime, "alice", 1000)
    expected = 1000 * steal_pct(ball.ball_id, "bob", 1) // 100
    answer = steal(client, runtime, "bob", "alice", ball.ball_id)
    assert answer.status_code == 200
    body = answer.json()
    assert (body["stolen_g"], body["reason"], body["remaining_g"], body["available_g"]) == (
        expected,
        "stolen",
        1000 - expected,
        expected,
    )

    listed = client.get("/v1/users/alice/balls", headers=bearer(runtime, "user", "alice")).json()[0]
    assert listed["stolen_g"] == expected
    assert [(t["thief_id"], t["stolen_g"], t["reason"]) for t in listed["thefts"]] == [("bob", expected, "stolen")]
    history = client.get("/v1/users/bob/transactions", headers=bearer(runtime, "user", "bob")).json()
    assert history[0]["kind"] == "steal" and history[0]["refs"]["ball"] == ball.ball_id
    assert history[0]["refs"]["theft"] == body["theft_id"]
    assert ledger_service.balance(runtime, "user:alice:pending") == 1000 - expected
    collected = client.post(f"/v1/users/alice/balls/{ball.ball_id}/collect", headers=bearer(runtime, "user", "alice"))
    assert collected.json()["collected_g"] == 1000 - expected


def test_steal_refuses_bad_requests_with_specific_codes(
    runtime: Runtime, client: TestClient, clock: ManualClock
) -> None:
    befriend(runtime, "alice", "bob")
    ripe = make_ripe_ball(runtime, "alice", 100)
    waiting = make_ball(runtime, "alice", 100)
    bobs = make_ripe_ball(runtime, "bob", 100)
    collected = make_ripe_ball(runtime, "alice", 100)
    forest_balls.collect(runtime, "alice", collected.ball_id)
    cases = [
        ("carol", "alice", ripe.ball_id, 403, "not_friends"),
        ("alice", "alice", ripe.ball_id, 422, "own_ball"),
        ("bob", "alice", waiting.ball_id, 409, "not_ripe"),
        ("bob", "alice", collected.ball_id, 409, "already_collected"),
        ("bob", "alice", "b-unknown", 404, "ball_not_found"),
        ("bob", "alice", bobs.ball_id, 404, "ball_not_found"),  # not alice's ball
        ("bob", "alice", "bad id", 422, "invalid_request"),
        ("bob", "bad user", ripe.ball_id, 422, "invalid_request"),
    ]
    for thief, victim, ball_id, status, code in cases:
        answer = steal(client, runtime, thief, victim, ball_id)
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), (thief, ball_id)
    for role in ("auditor", "admin", "source"):
        answer = client.post(f"/v1/users/alice/balls/{ripe.ball_id}/steal", headers=bearer(runtime, role, "bob"))
        assert (answer.status_code, answer.json()["error"]["code"]) == (403, "wrong_role")

    assert steal(client, runtime, "bob", "alice", ripe.ball_id).status_code == 200
    twice = steal(client, runtime, "bob", "alice", ripe.ball_id)
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "already_stolen")
    clock.advance(hours=21 + 72)  # the waiting ball ripened at 07:00 tomorrow and has now expired
    fresh = steal(client, runtime, "bob", "alice", make_ripe_ball(runtime, "alice", 9).ball_id)
    assert fresh.status_code == 200
    late = steal(client, runtime, "bob", "alice", waiting.ball_id)
    assert (late.status_code, late.json()["error"]["code"]) == (409, "expired")


def test_six_thieves_at_most_and_together_at_most_half(runtime: Runtime, client: TestClient) -> None:
    thieves = [f"t{n}" for n in range(8)]
    befriend(runtime, "victim", *thieves)
    small = make_ripe_ball(runtime, "victim", 40)  # half is 20 g; each takes 2..6 g
    big = make_ripe_ball(runtime, "victim", 10_000)
    for ball in (small, big):
        outcomes = [steal(client, runtime, t, "victim", ball.ball_id) for t in thieves]
        took = [o.json()["stolen_g"] for o in outcomes if o.status_code == 200]
        codes = [o.json()["error"]["code"] for o in outcomes if o.status_code != 200]
        assert len(took) <= MAX_THIEVES_PER_BALL and sum(took) <= ball.energy_g // 2
        assert set(codes) <= {"too_many_thieves", "nothing_left"} and len(took) + len(codes) == len(thieves)
        listed = {
            b["ball_id"]: b
            for b in client.get("/v1/users/victim/balls", headers=bearer(runtime, "user", "victim")).json()
        }
        assert sorted(t["stolen_g"] for t in listed[ball.ball_id]["thefts"]) == sorted(took)
        assert listed[ball.ball_id]["stolen_g"] == sum(took)
        # Either six thieves took their share, or the thieves reached half of the ball.
        assert len(took) == MAX_THIEVES_PER_BALL or sum(took) == ball.energy_g // 2
        if sum(took) < ball.energy_g // 2:
            assert set(codes) == {"too_many_thieves"}


def test_a_cover_turns_steals_into_zero_and_a_card_allows_a_second(
    runtime: Runtime, client: TestClient, clock: ManualClock
) -> None:
    befriend(runtime, "alice", "bob")
    ball = make_ripe_ball(runtime, "alice", 1000)
    cover = forest_items.grant(runtime, user_id="alice", kind="protection_cover", granted_by="admin:test")
    forest_items.use(runtime, user_id="alice", item_id=cover.item_id)
    for _ in range(2):
        blocked = steal(client, runtime, "bob", "alice", ball.ball_id).json()
        assert (blocked["stolen_g"], blocked["reason"]) == (0, "protected")
    listed = client.get("/v1/users/alice/balls", headers=bearer(runtime, "user", "alice")).json()[0]
    assert (listed["stolen_g"], [(t["thief_id"], t["reason"]) for t in listed["thefts"]]) == (0, [("bob", "protected")])

    clock.advance(hours=24)  # the cover is over; the blocked attempts did not use up bob's turn
    card = forest_items.grant(runtime, user_id="bob", kind="double_collect_card", granted_by="admin:test")
    forest_items.use(runtime, user_id="bob", item_id=card.item_id)
    first = steal(client, runtime, "bob", "alice", ball.ball_id).json()
    second = steal(client, runtime, "bob", "alice", ball.ball_id).json()
    assert first["reason"] == second["reason"] == "stolen"
    assert first["stolen_g"] == 1000 * steal_pct(ball.ball_id, "bob", 1) // 100
    assert second["stolen_g"] == 1000 * steal_pct(ball.ball_id, "bob", 2) // 100
    third = steal(client, runtime, "bob", "alice", ball.ball_id)
    assert third.json()["error"]["code"] == "already_stolen"
    clock.advance(minutes=5)
    assert client.get("/v1/users/bob/items", headers=bearer(runtime, "user", "bob")).json()[0]["effect_active"] is False


def test_thirty_friends_stealing_from_one_ball_at_once_respect_the_limits(runtime: Runtime) -> None:
    thieves = [f"thief-{n:02d}" for n in range(30)]
    befriend(runtime, "victim", *thieves)
    ball = make_ripe_ball(runtime, "victim", 100)  # half = 50 g; each steal takes 5..15 g

    results = run_at_once(
        30, lambda n: forest_steal.steal(runtime, thief_id=thieves[n], victim_id="victim", ball_id=ball.ball_id)
    )
    won = [r for r in results if isinstance(r, forest_steal.Stolen)]
    refused = [r for r in results if isinstance(r, GreenEnergyError)]
    assert len(won) + len(refused) == 30, [r for r in results if isinstance(r, tuple)]
    assert {r.code for r in refused} <= {"too_many_thieves", "nothing_left"}
    assert 1 <= len(won) <= MAX_THIEVES_PER_BALL
    assert len({r.thief_id for r in won}) == len(won)
    stolen_g = sum(r.stolen_g for r in won)
    assert 0 < stolen_g <= 50

    [listed] = forest_balls.list_balls(runtime, "victim")
    assert listed.stolen_g == stolen_g and listed.remaining_g == 100 - stolen_g
    assert sorted((t.thief_id, t.stolen_g) for t in listed.thefts) == sorted((r.thief_id, r.stolen_g) for r in won)
    assert ledger_service.balance(runtime, "user:victim:pending") == 100 - stolen_g
    for r in won:
        assert ledger_service.balance(runtime, f"user:{r.thief_id}:available") == r.stolen_g
    report = verify(runtime)
    assert report.ok, report.findings


def test_one_thief_sending_the_same_steal_ten_times_at_once_steals_once(runtime: Runtime) -> None:
    befriend(runtime, "victim", "eager")
    ball = make_ripe_ball(runtime, "victim", 500)
    results = run_at_once(
        10, lambda _n: forest_steal.steal(runtime, thief_id="eager", victim_id="victim", ball_id=ball.ball_id)
    )
    won = [r for r in results if isinstance(r, forest_steal.Stolen)]
    assert len(won) == 1
    assert {r.code for r in results if isinstance(r, GreenEnergyError)} == {"already_stolen"}
    assert ledger_service.balance(runtime, "user:eager:available") == won[0].stolen_g


def test_collecting_while_friends_steal_never_takes_a_gram_twice(runtime: Runtime) -> None:
    thieves = [f"t{n}" for n in range(7)]
    befriend(runtime, "victim", *thieves)
    ball = make_ripe_ball(runtime, "victim", 300)

    def act(n: int) -> object:
        if n == 7:
            return forest_balls.collect(runtime, "victim", ball.ball_id)
        return forest_steal.steal(runtime, thief_id=thieves[n], victim_id="victim", ball_id=ball.ball_id)

    results = run_at_once(8, act)
    assert not [r for r in results if isinstance(r, tuple)]
    collected = [r for r in results if isinstance(r, forest_balls.Collected)]
    stolen = sum(r.stolen_g for r in results if isinstance(r, forest_steal.Stolen))
    assert len(collected) == 1 and collected[0].collected_g + stolen == 300
    assert ledger_service.balance(runtime, "user:victim:pending") == 0
    assert verify(runtime).ok
