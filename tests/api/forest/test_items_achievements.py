"""Items (grant, list, use, lapse) and achievements (awarded once, with their reward items)."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient

from greenenergy.clock import ManualClock
from greenenergy.db import forest_repo
from greenenergy.db.engine import read_tx
from greenenergy.forest import parse_achievements
from greenenergy.services.forest import achievements as forest_achievements
from greenenergy.services.forest import balls as forest_balls
from greenenergy.services.forest import items as forest_items
from greenenergy.services.ingest import IncomingEvent, ingest
from greenenergy.services.runtime import Runtime
from tests.api.forest.conftest import make_ripe_ball, run_at_once
from tests.helpers import bearer


def grant(client: TestClient, runtime: Runtime, user: str, kind: object):
    return client.post(f"/v1/admin/users/{user}/items", json={"kind": kind}, headers=bearer(runtime, "admin", "ops"))


def test_an_admin_grants_an_item_the_user_uses_once(runtime: Runtime, client: TestClient, clock: ManualClock) -> None:
    alice = bearer(runtime, "user", "alice")
    granted = grant(client, runtime, "alice", "protection_cover")
    assert granted.status_code == 201
    item = granted.json()
    assert (item["kind"], item["status"], item["granted_by"], item["used_at"]) == (
        "protection_cover",
        "unused",
        "admin:ops",
        None,
    )
    assert item["expires_at"] == "2026-11-27T02:00:00Z"  # unused items lapse after 7 days

    clock.advance(hours=1)
    used = client.post(f"/v1/users/alice/items/{item['item_id']}/use", headers=alice).json()
    assert (
        used["status"],
        used["used_at"],
        used["effect_starts_at"],
        used["effect_ends_at"],
        used["effect_active"],
    ) == ("used", "2026-11-20T03:00:00Z", "2026-11-20T03:00:00Z", "2026-11-21T03:00:00Z", True)
    again = client.post(f"/v1/users/alice/items/{item['item_id']}/use", headers=alice)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "item_used")
    clock.advance(hours=24)
    [listed] = client.get("/v1/users/alice/items", headers=alice).json()
    assert (listed["status"], listed["effect_active"]) == ("used", False)


def test_items_refuse_bad_requests_with_specific_codes(
    runtime: Runtime, client: TestClient, clock: ManualClock
) -> None:
    alice, bob = bearer(runtime, "user", "alice"), bearer(runtime, "user", "bob")
    unknown = grant(client, runtime, "alice", "magic_wand")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (422, "unknown_item")
    assert grant(client, runtime, "alice", 7).status_code == 422
    as_user = client.post("/v1/admin/users/alice/items", json={"kind": "protection_cover"}, headers=alice)
    assert (as_user.status_code, as_user.json()["error"]["code"]) == (403, "wrong_role")
    item = grant(client, runtime, "alice", "double_collect_card").json()
    cases = [
        (f"/v1/users/alice/items/{item['item_id']}/use", bob, 403, "not_yours"),
        (f"/v1/users/bob/items/{item['item_id']}/use", bob, 403, "not_your_item"),
        ("/v1/users/alice/items/ffff/use", alice, 404, "item_not_found"),
        ("/v1/users/alice/items/bad%20id/use", alice, 422, "invalid_request"),
    ]
    for path, headers, status, code in cases:
        answer = client.post(path, headers=headers)
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), path
    assert client.get("/v1/users/alice/items", headers=bob).status_code == 403
    clock.advance(days=7)
    lapsed = client.post(f"/v1/users/alice/items/{item['item_id']}/use", headers=alice)
    assert (lapsed.status_code, lapsed.json()["error"]["code"]) == (409, "item_expired")
    assert client.get("/v1/users/alice/items", headers=alice).json()[0]["status"] == "expired"


def test_first_collect_is_awarded_once(runtime: Runtime, client: TestClient, clock: ManualClock) -> None:
    alice = bearer(runtime, "user", "alice")
    before = {a["achievement_id"]: a for a in client.get("/v1/users/alice/achievements", headers=alice).json()}
    assert before["first_collect"]["awarded"] is False and before["first_collect"]["value"] == 0
    ball = make_ripe_ball(runtime, "alice", 10)
    client.post(f"/v1/users/alice/balls/{ball.ball_id}/collect", headers=alice)
    clock.advance(hours=1)
    second = make_ripe_ball(runtime, "alice", 10)
    client.post(f"/v1/users/alice/balls/{second.ball_id}/collect", headers=alice)
    after = {a["achievement_id"]: a for a in client.get("/v1/users/alice/achievements", headers=alice).json()}
    # Awarded at the first collect (the evaluation that ran then), not re-awarded at the second.
    assert (after["first_collect"]["awarded"], after["first_collect"]["awarded_at"]) == (True, "2026-11-20T02:00:00Z")
    assert after["first_collect"]["value"] == 2
    assert forest_achievements.evaluate(runtime, "alice") == []
    assert client.get("/v1/users/alice/achievements", headers=bearer(runtime, "user", "bob")).status_code == 403


def test_a_seven_day_streak_grants_a_double_collect_card_once(
    runtime: Runtime, client: TestClient, clock: ManualClock
) -> None:
    alice = bearer(runtime, "user", "alice")
    for day in range(7):
        ball = make_ripe_ball(runtime, "alice", 5)
        assert client.post(f"/v1/users/alice/balls/{ball.ball_id}/collect", headers=alice).status_code == 200
        if day < 6:
            clock.advance(days=1)
    awards = {a["achievement_id"]: a for a in client.get("/v1/users/alice/achievements", headers=alice).json()}
    assert awards["streak_7"]["awarded"] and awards["streak_7"]["value"] == 7
    assert not awards["streak_30"]["awarded"]
    items = client.get("/v1/users/alice/items", headers=alice).json()
    assert [(i["kind"], i["granted_by"]) for i in items] == [("double_collect_card", "achievement:streak_7")]


def test_concurrent_evaluations_award_and_reward_once(runtime: Runtime) -> None:
    runtime.cache[forest_achievements.CACHE_KEY] = parse_achievements("""
achievements:
  - id: earned_10
    name: {zh: 十克, en: Ten grams}
    metric: lifetime_energy_g
    threshold: 10
    reward_item: protection_cover
""")
    make_ripe_ball(runtime, "alice", 50)  # minted energy: no evaluation has run yet
    results = run_at_once(6, lambda _n: forest_achievements.evaluate(runtime, "alice"))
    assert sorted(len(r) for r in results) == [0, 0, 0, 0, 0, 1]  # type: ignore[arg-type]
    items = forest_items.list_items(runtime, "alice")
    assert [(i.kind, i.granted_by) for i in items] == [("protection_cover", "achievement:earned_10")]
    [view] = forest_achievements.list_achievements(runtime, "alice")
    assert (view.achievement_id, view.awarded, view.value) == ("earned_10", True, 50)


def test_boxes_recycled_through_ingestion_reach_the_hundred_boxes_achievement(
    runtime: Runtime,
    client: TestClient,
    clock: ManualClock,
) -> None:
    alice = bearer(runtime, "user", "alice")
    occurred = datetime.fromisoformat("2026-11-20T09:00:00+08:00")
    events = [
        IncomingEvent(f"box-{n}", "recycling.box", "alice", occurred + timedelta(minutes=n), {"boxes": 25})
        for n in range(4)
    ]
    summary = ingest(runtime, source_id="cainiao", events=events)
    assert summary.accepted == 4
    awards = {a["achievement_id"]: a for a in client.get("/v1/users/alice/achievements", headers=alice).json()}
    assert (awards["boxes_100"]["awarded"], awards["boxes_100"]["value"]) == (True, 100)


STREAKS_ONLY = """
achievements:
  - id: streak_7
    name: {zh: 连续收能量7天, en: 7-day collecting streak}
    metric: collect_streak_days
    threshold: 7
"""


def awarded_ids(runtime: Runtime, user_id: str) -> list[str]:
    """The awards stored, read without the full evaluation that every achievements read runs."""
    with read_tx(runtime.engine) as connection:
        return [row.achievement_id for row in forest_repo.award_rows(connection, user_id)]


def collect_once_a_day(runtime: Runtime, clock: ManualClock, user_id: str, days: int) -> None:
    for day in range(days):
        forest_balls.collect(runtime, user_id, make_ripe_ball(runtime, user_id, 5).ball_id)
        if day < days - 1:
            clock.advance(days=1)


def test_the_collect_that_completes_a_streak_awards_it_from_the_first_local_minute(
    runtime: Runtime, clock: ManualClock
) -> None:
    """The hook after a collect reads only the last 7 local days; the first of them counts
    from its local midnight (00:00 Asia/Shanghai is 16:00 UTC the day before)."""
    runtime.cache[forest_achievements.CACHE_KEY] = parse_achievements(STREAKS_ONLY)
    clock.set(datetime.fromisoformat("2026-11-20T00:00:00+08:00"))
    collect_once_a_day(runtime, clock, "alice", 6)
    assert awarded_ids(runtime, "alice") == []
    clock.set(datetime.fromisoformat("2026-11-26T23:59:00+08:00"))  # the seventh local day
    forest_balls.collect(runtime, "alice", make_ripe_ball(runtime, "alice", 5).ball_id)
    assert awarded_ids(runtime, "alice") == ["streak_7"]


def test_a_streak_the_hook_missed_is_awarded_by_the_next_full_evaluation(runtime: Runtime, clock: ManualClock) -> None:
    runtime.cache[forest_achievements.CACHE_KEY] = ()  # no catalog while the run happens
    collect_once_a_day(runtime, clock, "alice", 7)
    runtime.cache[forest_achievements.CACHE_KEY] = parse_achievements(STREAKS_ONLY)
    clock.advance(days=20)
    assert awarded_ids(runtime, "alice") == []  # nothing could award it while there was no catalog
    [view] = forest_achievements.list_achievements(runtime, "alice")
    assert (view.achievement_id, view.awarded, view.value) == ("streak_7", True, 7)
    assert awarded_ids(runtime, "alice") == ["streak_7"]


def test_the_best_streak_is_a_counter_so_a_later_collect_awards_a_missed_one(
    runtime: Runtime, clock: ManualClock
) -> None:
    runtime.cache[forest_achievements.CACHE_KEY] = ()
    collect_once_a_day(runtime, clock, "alice", 7)
    runtime.cache[forest_achievements.CACHE_KEY] = parse_achievements(STREAKS_ONLY)
    clock.advance(days=20)
    forest_balls.collect(runtime, "alice", make_ripe_ball(runtime, "alice", 5).ball_id)  # a new run of 1 day
    assert awarded_ids(runtime, "alice") == ["streak_7"]  # the best run (7 days) is kept, not re-read
