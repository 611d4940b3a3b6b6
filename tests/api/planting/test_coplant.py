"""Co-planting pools: contributions capped per member per day, refunds on leaving, and the
contribution that completes the pool redeems the tree for every member's share."""

from __future__ import annotations

from fastapi.testclient import TestClient

from greenenergy.clock import ManualClock
from greenenergy.ledger import pool_account
from greenenergy.services import ledger
from greenenergy.services.runtime import Runtime
from tests.api.planting.conftest import IN_A01, SAXAUL_G, available, fund, photo
from tests.helpers import bearer

CAP_G = -(-SAXAUL_G // 3)  # the core's default daily cap: a third of the price, rounded up


def post(client: TestClient, runtime: Runtime, user: str, path: str, body: dict | None = None):
    return client.post(f"/v1/users/{user}/coplant-pools{path}", json=body or {}, headers=bearer(runtime, "user", user))


def test_a_pool_fills_over_days_and_redeems_with_each_members_share(
    client: TestClient, runtime: Runtime, clock: ManualClock
) -> None:
    for user in ("u-a", "u-b"):
        fund(runtime, user, 20_000)
    created = post(client, runtime, "u-a", "", {"species_id": "saxaul", "plot_id": "a-01"})
    assert created.status_code == 201, created.text
    pool_id = created.json()["pool_id"]
    assert (created.json()["daily_cap_g"], created.json()["price_g"]) == (CAP_G, SAXAUL_G)
    assert post(client, runtime, "u-b", f"/{pool_id}/join").json()["members"] == [
        {"user_id": "u-a", "contributed_g": 0},
        {"user_id": "u-b", "contributed_g": 0},
    ]

    first = post(client, runtime, "u-a", f"/{pool_id}/contributions", {"energy_g": 10_000}).json()
    assert first["accepted_g"] == CAP_G and first["tree"] is None  # cut to the daily cap
    capped = post(client, runtime, "u-a", f"/{pool_id}/contributions", {"energy_g": 1})
    assert (capped.status_code, capped.json()["error"]["code"]) == (409, "daily_cap_reached")
    post(client, runtime, "u-b", f"/{pool_id}/contributions", {"energy_g": 5_000})
    clock.advance(days=1)
    post(client, runtime, "u-a", f"/{pool_id}/contributions", {"energy_g": 5_000})
    assert ledger.balance(runtime, pool_account(pool_id)) == CAP_G + 10_000
    last = post(client, runtime, "u-b", f"/{pool_id}/contributions", {"energy_g": 9_000}).json()
    share_b = SAXAUL_G - (CAP_G + 5_000)  # what u-a did not put in
    assert last["accepted_g"] == share_b - 5_000  # cut to what the pool still lacked
    assert last["pool"]["status"] == "redeemed" and last["tree"]["energy_g"] == SAXAUL_G
    assert ledger.balance(runtime, pool_account(pool_id)) == 0
    assert ledger.balance(runtime, "sink:trees") == SAXAUL_G
    assert (available(runtime, "u-a"), available(runtime, "u-b")) == (20_000 - CAP_G - 5_000, 20_000 - share_b)

    tree_id = last["tree"]["tree_id"]
    for user, share in (("u-a", CAP_G + 5_000), ("u-b", share_b)):
        trees = client.get(f"/v1/users/{user}/trees", headers=bearer(runtime, "user", user)).json()
        assert [(t["tree_id"], t["share_g"], t["pool_id"]) for t in trees] == [(tree_id, share, pool_id)]
    closed = post(client, runtime, "u-a", f"/{pool_id}/leave")
    assert (closed.status_code, closed.json()["error"]["code"]) == (409, "pool_closed")

    clock.advance(days=1)
    planted = client.post(
        "/v1/partners/north/plantings",
        headers=bearer(runtime, "partner", "north"),
        json={
            "tree_id": tree_id,
            "planted_at": clock.now().isoformat(),
            "latitude": IN_A01[0],
            "longitude": IN_A01[1],
            "species_id": "saxaul",
            "photo_sha256": photo("pool"),
        },
    )
    assert planted.status_code == 201, planted.text
    assert len(planted.json()["certificate_nos"]) == 2
    certificates = {
        c["holder_id"]: c
        for c in (client.get(f"/v1/certificates/{no}").json() for no in planted.json()["certificate_nos"])
    }
    assert {user: c["share_g"] for user, c in certificates.items()} == {"u-a": CAP_G + 5_000, "u-b": share_b}


def test_leaving_before_the_redemption_refunds_everything(client: TestClient, runtime: Runtime) -> None:
    for user in ("u-a", "u-b"):
        fund(runtime, user, 5_000)
    pool_id = post(client, runtime, "u-a", "", {"species_id": "saxaul"}).json()["pool_id"]
    post(client, runtime, "u-b", f"/{pool_id}/join")
    post(client, runtime, "u-b", f"/{pool_id}/contributions", {"energy_g": 3_000})
    left = post(client, runtime, "u-b", f"/{pool_id}/leave").json()
    assert left["refunded_g"] == 3_000 and [m["user_id"] for m in left["pool"]["members"]] == ["u-a"]
    assert available(runtime, "u-b") == 5_000
    assert ledger.balance(runtime, pool_account(pool_id)) == 0
    kinds = [item.kind for item in ledger.user_history(runtime, "u-b")]
    assert kinds[:2] == ["coplant_refund", "coplant_contribute"]
    gone = post(client, runtime, "u-b", f"/{pool_id}/contributions", {"energy_g": 1})
    assert (gone.status_code, gone.json()["error"]["code"]) == (403, "not_pool_member")


def test_pool_refusals(client: TestClient, runtime: Runtime) -> None:
    fund(runtime, "u-a", 100)
    pool_id = post(client, runtime, "u-a", "", {"species_id": "saxaul"}).json()["pool_id"]
    cases = [
        ("u-a", f"/{pool_id}/join", None, 409, "already_pool_member"),
        ("u-a", f"/{pool_id}/contributions", {"energy_g": 0}, 422, "invalid_energy"),
        ("u-a", f"/{pool_id}/contributions", {"energy_g": 500}, 409, "insufficient_energy"),
        ("u-a", f"/{pool_id}/contributions", {"energy_g": 1.5}, 422, "invalid_request"),
        ("u-a", f"/{'0' * 32}/join", None, 404, "pool_not_found"),
        ("u-a", "", {"species_id": "share"}, 422, "not_a_tree"),
        ("u-a", "", {"species_id": "fir", "plot_id": "a-02"}, 409, "species_not_in_plot"),
        ("u-a", "", {"species_id": "oak"}, 404, "species_not_found"),
    ]
    for user, path, body, status, code in cases:
        answer = post(client, runtime, user, path, body)
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), code
    assert available(runtime, "u-a") == 100
    other = client.post(f"/v1/users/u-a/coplant-pools/{pool_id}/join", json={}, headers=bearer(runtime, "user", "u-b"))
    assert (other.status_code, other.json()["error"]["code"]) == (403, "not_yours")
    seen = client.get(f"/v1/coplant-pools/{pool_id}", headers=bearer(runtime, "user", "u-b"))
    assert seen.status_code == 200 and seen.json()["founder_id"] == "u-a"
    listed = client.get("/v1/users/u-a/coplant-pools", headers=bearer(runtime, "user", "u-a")).json()
    assert [p["pool_id"] for p in listed] == [pool_id]


def test_group_size_and_a_full_plot_at_completion(client: TestClient, runtime: Runtime, clock: ManualClock) -> None:
    small = post(client, runtime, "u-a", "", {"species_id": "saxaul", "max_members": 2}).json()["pool_id"]
    post(client, runtime, "u-b", f"/{small}/join")
    third = post(client, runtime, "u-c", f"/{small}/join")
    assert (third.status_code, third.json()["error"]["code"]) == (409, "pool_members_full")
    for body, code in (
        ({"species_id": "saxaul", "max_members": 1}, "invalid_group"),
        ({"species_id": "saxaul", "daily_cap_g": 0}, "invalid_energy"),
    ):
        answer = post(client, runtime, "u-a", "", body)
        assert (answer.status_code, answer.json()["error"]["code"]) == (422, code)

    # a-01 holds one fir: a pool for it completes only if the place is still free then.
    fund(runtime, "u-a", 330_759)
    fund(runtime, "u-solo", 330_759)
    pool_id = post(client, runtime, "u-a", "", {"species_id": "fir", "plot_id": "a-01", "daily_cap_g": 330_759}).json()[
        "pool_id"
    ]
    assert post(client, runtime, "u-solo", "", {"species_id": "fir"}).status_code == 201  # a pool takes no place
    taken = client.post("/v1/users/u-solo/trees", json={"species_id": "fir"}, headers=bearer(runtime, "user", "u-solo"))
    assert taken.status_code == 201
    full = post(client, runtime, "u-a", f"/{pool_id}/contributions", {"energy_g": 330_759})
    assert (full.status_code, full.json()["error"]["code"]) == (409, "plot_full")
    assert available(runtime, "u-a") == 330_759  # the whole contribution was rolled back
    assert ledger.balance(runtime, pool_account(pool_id)) == 0
