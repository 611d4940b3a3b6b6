"""Friendship through the API: mutual asks, idempotent repeats, unfriending both sides, bad input."""

from __future__ import annotations

from fastapi.testclient import TestClient

from greenenergy.services.forest import friends as forest_friends
from greenenergy.services.runtime import Runtime
from tests.api.forest.conftest import befriend, make_ripe_ball, run_at_once
from tests.helpers import bearer


def ask(client: TestClient, runtime: Runtime, user: str, friend: object):
    return client.post(f"/v1/users/{user}/friends", json={"friend_id": friend}, headers=bearer(runtime, "user", user))


def test_a_friendship_needs_both_sides_to_ask(runtime: Runtime, client: TestClient) -> None:
    assert ask(client, runtime, "alice", "bob").json() == {
        "user_id": "alice",
        "friend_id": "bob",
        "status": "requested",
    }
    # Asking again changes nothing and answers the same (a retried request never fails).
    again = ask(client, runtime, "alice", "bob")
    assert (again.status_code, again.json()["status"]) == (200, "requested")
    alice_view = client.get("/v1/users/alice/friends", headers=bearer(runtime, "user", "alice")).json()
    bob_view = client.get("/v1/users/bob/friends", headers=bearer(runtime, "user", "bob")).json()
    assert [(f["friend_id"], f["status"], f["week_energy_g"]) for f in alice_view] == [("bob", "requested", None)]
    assert [(f["friend_id"], f["status"]) for f in bob_view] == [("alice", "incoming")]

    assert ask(client, runtime, "bob", "alice").json() == {"user_id": "bob", "friend_id": "alice", "status": "friends"}
    assert ask(client, runtime, "alice", "bob").json()["status"] == "friends"
    for user, other in (("alice", "bob"), ("bob", "alice")):
        listed = client.get(f"/v1/users/{user}/friends", headers=bearer(runtime, "user", user)).json()
        assert [(f["friend_id"], f["status"], f["week_energy_g"]) for f in listed] == [(other, "friends", 0)]


def test_unfriending_removes_the_friendship_for_both(runtime: Runtime, client: TestClient) -> None:
    befriend(runtime, "alice", "bob", "carol")
    ask(client, runtime, "dave", "alice")  # incoming for alice
    answer = client.delete("/v1/users/bob/friends/alice", headers=bearer(runtime, "user", "bob"))
    assert answer.json() == {"user_id": "bob", "friend_id": "alice", "status": "removed", "was": "friends"}
    alice_view = client.get("/v1/users/alice/friends", headers=bearer(runtime, "user", "alice")).json()
    assert [(f["friend_id"], f["status"]) for f in alice_view] == [("carol", "friends"), ("dave", "incoming")]
    assert client.get("/v1/users/bob/friends", headers=bearer(runtime, "user", "bob")).json() == []
    # Declining an incoming ask is the same call.
    declined = client.delete("/v1/users/alice/friends/dave", headers=bearer(runtime, "user", "alice")).json()
    assert declined["was"] == "incoming"
    gone = client.delete("/v1/users/alice/friends/bob", headers=bearer(runtime, "user", "alice"))
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "friendship_not_found")
    # After unfriending, stealing is refused.
    ball = make_ripe_ball(runtime, "alice", 100)
    steal = client.post(f"/v1/users/alice/balls/{ball.ball_id}/steal", headers=bearer(runtime, "user", "bob"))
    assert (steal.status_code, steal.json()["error"]["code"]) == (403, "not_friends")


def test_friend_list_shows_this_weeks_energy_highest_first(runtime: Runtime, client: TestClient) -> None:
    befriend(runtime, "alice", "bob", "carol", "dan")
    for user, grams in (("bob", 30), ("carol", 70)):
        ball = make_ripe_ball(runtime, user, grams)
        client.post(f"/v1/users/{user}/balls/{ball.ball_id}/collect", headers=bearer(runtime, "user", user))
    listed = client.get("/v1/users/alice/friends", headers=bearer(runtime, "user", "alice")).json()
    assert [(f["friend_id"], f["week_energy_g"]) for f in listed] == [("carol", 70), ("bob", 30), ("dan", 0)]


def test_friend_requests_refuse_bad_input(runtime: Runtime, client: TestClient) -> None:
    alice = bearer(runtime, "user", "alice")
    cases = [
        ("/v1/users/alice/friends", {"friend_id": "alice"}, alice, 422, "self_friend"),
        ("/v1/users/alice/friends", {"friend_id": "no spaces allowed"}, alice, 422, "invalid_request"),
        ("/v1/users/alice/friends", {"friend_id": 42}, alice, 422, "invalid_request"),
        ("/v1/users/alice/friends", {}, alice, 422, "invalid_request"),
        ("/v1/users/alice/friends", {"friend_id": "bob", "extra": 1}, alice, 422, "invalid_request"),
        ("/v1/users/alice/friends", {"friend_id": "bob"}, bearer(runtime, "user", "mallory"), 403, "not_yours"),
        ("/v1/users/alice/friends", {"friend_id": "bob"}, bearer(runtime, "auditor", "a"), 403, "wrong_role"),
    ]
    for path, body, headers, status, code in cases:
        answer = client.post(path, json=body, headers=headers)
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), body
    not_json = client.post("/v1/users/alice/friends", content=b"bob", headers=alice)
    assert not_json.status_code == 422
    other = client.delete("/v1/users/alice/friends/bob", headers=bearer(runtime, "user", "bob"))
    assert (other.status_code, other.json()["error"]["code"]) == (403, "not_yours")
    assert client.get("/v1/users/alice/friends", headers=bearer(runtime, "user", "bob")).status_code == 403
    assert client.get("/v1/users/alice/friends", headers=alice).json() == []


def test_two_users_asking_each_other_at_the_same_moment_become_friends(runtime: Runtime) -> None:
    pairs = [(f"a{n}", f"b{n}") for n in range(8)]
    asks = [pair for a, b in pairs for pair in ((a, b), (b, a))]
    results = run_at_once(len(asks), lambda n: forest_friends.request(runtime, *asks[n]))
    assert all(isinstance(r, forest_friends.Friendship) for r in results), results
    for a, b in pairs:
        # Exactly one of the two answers saw the other's ask; both sides are friends now.
        assert sorted(r.status for r in results if {r.user_id, r.friend_id} == {a, b}) == ["friends", "requested"]
        assert forest_friends.are_friends(runtime, a, b) and forest_friends.are_friends(runtime, b, a)
