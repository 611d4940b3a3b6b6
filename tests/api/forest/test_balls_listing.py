"""GET /v1/users/{user_id}/balls: the balls in play by default, other statuses with
``?status=`` (repeatable), a page at a time with ``limit`` and ``after``."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from greenenergy.clock import ManualClock
from greenenergy.forest import Ball
from greenenergy.services.forest import balls as forest_balls
from greenenergy.services.runtime import Runtime
from tests.api.forest.conftest import befriend, make_ball, make_ripe_ball
from tests.helpers import bearer

EVERY = "status=waiting&status=ripe&status=collected&status=expired"


def key(ball: dict) -> tuple[datetime, str]:
    """The listing's order: by the time a ball became visible, then by id."""
    return datetime.fromisoformat(ball["visible_at"]), ball["ball_id"]


def listing(client: TestClient, headers: dict[str, str], query: str = "", user: str = "alice") -> list[dict]:
    response = client.get(f"/v1/users/{user}/balls{'?' + query if query else ''}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def some_balls(runtime: Runtime, client: TestClient, clock: ManualClock) -> dict[str, Ball]:
    """Alice's balls: three ripe ones becoming visible at different times, two waiting (one
    shared ripening, so their visible times tie and the id decides), one collected, one
    expired, and one of bob's."""
    balls = {"expired": make_ripe_ball(runtime, "alice", 5)}
    clock.advance(hours=73)  # the first ball expired, unswept: its status is derived
    for n in range(3):
        balls[f"ripe{n}"] = make_ripe_ball(runtime, "alice", 10 + n)
        clock.advance(minutes=7)
    balls["collected"] = make_ripe_ball(runtime, "alice", 30)
    collect = client.post(
        f"/v1/users/alice/balls/{balls['collected'].ball_id}/collect", headers=bearer(runtime, "user", "alice")
    )
    assert collect.status_code == 200, collect.text
    balls["waiting0"] = make_ball(runtime, "alice", 40)
    balls["waiting1"] = make_ball(runtime, "alice", 41)
    balls["bobs"] = make_ripe_ball(runtime, "bob", 50)
    return balls


@pytest.fixture
def alice(runtime: Runtime) -> dict[str, str]:
    return bearer(runtime, "user", "alice")


def test_the_default_is_the_balls_in_play_and_status_picks_others(
    runtime: Runtime, client: TestClient, clock: ManualClock, alice: dict[str, str]
) -> None:
    balls = some_balls(runtime, client, clock)
    ids = {name: ball.ball_id for name, ball in balls.items()}
    in_play = listing(client, alice)
    assert [b["ball_id"] for b in in_play] == [ids["ripe0"], ids["ripe1"], ids["ripe2"], *sorted(
        [ids["waiting0"], ids["waiting1"]]
    )]  # fmt: skip
    assert [b["status"] for b in in_play] == ["ripe"] * 3 + ["waiting"] * 2
    assert in_play == sorted(in_play, key=key)
    assert listing(client, alice, "status=waiting&status=ripe") == in_play  # the default, spelled out
    assert {b["ball_id"] for b in listing(client, alice, "status=ripe")} == {ids["ripe0"], ids["ripe1"], ids["ripe2"]}
    assert [b["ball_id"] for b in listing(client, alice, "status=collected")] == [ids["collected"]]
    expired = listing(client, alice, "status=expired")
    assert [(b["ball_id"], b["status"], b["remaining_g"]) for b in expired] == [(ids["expired"], "expired", 5)]
    every = listing(client, alice, EVERY)
    assert {b["ball_id"] for b in every} == {v for k, v in ids.items() if k != "bobs"}
    assert every == sorted(every, key=key)
    assert listing(client, alice, "status=collected&status=collected") == listing(client, alice, "status=collected")


@pytest.mark.parametrize("status", ["gone", "RIPE", "", "in_play"])
def test_an_unknown_status_is_422_naming_the_statuses_there_are(
    runtime: Runtime, client: TestClient, alice: dict[str, str], status: str
) -> None:
    make_ripe_ball(runtime, "alice", 10)
    response = client.get(f"/v1/users/alice/balls?status=ripe&status={status}", headers=alice)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["message"].startswith("query.status.1: ")
    for name in ("waiting", "ripe", "collected", "expired"):
        assert f"'{name}'" in error["message"]


def test_pages_follow_each_other_strictly_after_the_given_ball(
    runtime: Runtime, client: TestClient, clock: ManualClock, alice: dict[str, str]
) -> None:
    some_balls(runtime, client, clock)
    for query in ("", EVERY, "status=ripe&status=collected"):
        whole = listing(client, alice, query)
        for limit in (1, 2, 3, len(whole), len(whole) + 1):
            pages, after = [], None
            while True:
                cursor = f"&after={after}" if after else ""
                page = listing(client, alice, f"{query}&limit={limit}{cursor}".lstrip("&"))
                assert len(page) <= limit
                if after is not None and page:
                    assert key(page[0]) > key(next(b for b in whole if b["ball_id"] == after))
                pages.append(page)
                if len(page) < limit:
                    break
                after = page[-1]["ball_id"]
            assert [b for page in pages for b in page] == whole, (query, limit)
            assert len(pages) == len(whole) // limit + 1
        last = whole[-1]["ball_id"]
        assert listing(client, alice, f"{query}&after={last}".lstrip("&")) == []


def test_paging_goes_on_after_a_ball_that_left_the_listing_between_pages(
    runtime: Runtime, client: TestClient, clock: ManualClock, alice: dict[str, str]
) -> None:
    """A client collecting as it pages: the ball that ended the previous page is collected
    before the next page is asked for; the next page starts after where it was."""
    some_balls(runtime, client, clock)
    first = listing(client, alice, "limit=2")
    assert [b["status"] for b in first] == ["ripe", "ripe"]
    assert client.post(f"/v1/users/alice/balls/{first[-1]['ball_id']}/collect", headers=alice).status_code == 200
    rest = listing(client, alice, f"limit=100&after={first[-1]['ball_id']}")
    now_in_play = listing(client, alice)
    assert [b["ball_id"] for b in rest] == [b["ball_id"] for b in now_in_play[1:]]
    assert first[-1]["ball_id"] not in {b["ball_id"] for b in now_in_play}


def test_an_unknown_after_is_404_ball_not_found(
    runtime: Runtime, client: TestClient, clock: ManualClock, alice: dict[str, str]
) -> None:
    balls = some_balls(runtime, client, clock)
    for after in ("b-nosuchball", balls["bobs"].ball_id):  # no ball, and another user's ball
        response = client.get(f"/v1/users/alice/balls?after={after}", headers=alice)
        assert response.status_code == 404, response.text
        error = response.json()["error"]
        assert error["code"] == "ball_not_found"
        assert after in error["message"]
    malformed = client.get("/v1/users/alice/balls?after=not%20an%20id", headers=alice)
    assert malformed.status_code == 422
    assert malformed.json()["error"]["message"].startswith("query.after: ")


@pytest.mark.parametrize("limit", ["0", "-1", str(forest_balls.MAX_PAGE + 1), "ten", "2.5"])
def test_limit_out_of_bounds_is_422(runtime: Runtime, client: TestClient, alice: dict[str, str], limit: str) -> None:
    make_ripe_ball(runtime, "alice", 10)
    response = client.get(f"/v1/users/alice/balls?limit={limit}", headers=alice)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["message"].startswith("query.limit: ")


def test_limit_bounds_themselves_are_accepted(runtime: Runtime, client: TestClient, alice: dict[str, str]) -> None:
    made = [make_ripe_ball(runtime, "alice", 10 + n) for n in range(3)]
    assert len(listing(client, alice, "limit=1")) == 1
    assert len(listing(client, alice, f"limit={forest_balls.MAX_PAGE}")) == len(made)
    assert len(listing(client, alice)) == 3  # the default page (100) holds them all


def test_a_friend_pages_through_the_balls_in_play_too(
    runtime: Runtime, client: TestClient, clock: ManualClock, alice: dict[str, str]
) -> None:
    balls = some_balls(runtime, client, clock)
    befriend(runtime, "alice", "bob")
    bob = bearer(runtime, "user", "bob")
    first = listing(client, bob, "limit=3")
    rest = listing(client, bob, f"after={first[-1]['ball_id']}")
    assert first + rest == listing(client, alice)
    assert balls["collected"].ball_id not in {b["ball_id"] for b in first + rest}
    stranger = client.get("/v1/users/alice/balls?limit=3", headers=bearer(runtime, "user", "carol"))
    assert stranger.status_code == 403


def test_the_default_page_is_bounded(runtime: Runtime, client: TestClient, alice: dict[str, str]) -> None:
    """More balls than a default page: the first page holds 100, the second the rest."""
    now = runtime.clock.now()
    for n in range(105):
        make_ball(runtime, "alice", 1, occurred_at=now - timedelta(days=1), ingested_at=now - timedelta(seconds=n))
    first = listing(client, alice)
    assert len(first) == 100
    rest = listing(client, alice, f"after={first[-1]['ball_id']}")
    assert len(rest) == 5
    assert len({b["ball_id"] for b in first + rest}) == 105
