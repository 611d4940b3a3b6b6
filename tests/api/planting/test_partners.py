"""Partners: orders, planting confirmations (every rejection code), survival and replanting."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError

from greenenergy.clock import ManualClock
from greenenergy.db.engine import write_tx
from greenenergy.db.planting_repo import CONFIRMATIONS
from greenenergy.services import ledger
from greenenergy.services.runtime import Runtime
from tests.api.planting.conftest import IN_A01, IN_A02, SAXAUL_G, fund, photo
from tests.helpers import bearer


def redeem(client: TestClient, runtime: Runtime, user: str, plot_id: str = "a-01", species_id: str = "saxaul") -> dict:
    fund(runtime, user, SAXAUL_G)
    answer = client.post(
        f"/v1/users/{user}/trees",
        json={"species_id": species_id, "plot_id": plot_id},
        headers=bearer(runtime, "user", user),
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def planting(tree_id: str, clock: ManualClock, n: int = 0, **changes: object) -> dict:
    body = {
        "tree_id": tree_id,
        "planted_at": clock.now().isoformat(),
        "latitude": IN_A01[0] + n * 0.0001,
        "longitude": IN_A01[1],
        "species_id": "saxaul",
        "photo_sha256": photo(f"planting {n}"),
        "tag": f"NORTH-{n:05d}",
    }
    body.update(changes)
    return body


def confirm(client: TestClient, runtime: Runtime, body: dict, partner: str = "north"):
    return client.post(f"/v1/partners/{partner}/plantings", json=body, headers=bearer(runtime, "partner", partner))


def test_a_confirmation_plants_the_tree_issues_a_certificate_and_closes_the_order(
    client: TestClient, runtime: Runtime, clock: ManualClock
) -> None:
    tree = redeem(client, runtime, "u-1")
    clock.advance(days=2)
    answer = confirm(client, runtime, planting(tree["tree_id"], clock))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["status"] == "planted" and body["certificate_no"].startswith("GE-2026-")
    assert body["certificate_nos"] == [body["certificate_no"]]
    mine = client.get("/v1/users/u-1/trees", headers=bearer(runtime, "user", "u-1")).json()[0]
    assert (mine["status"], mine["certificate_no"], mine["order_id"]) == ("planted", body["certificate_no"], None)
    assert [(h["event"], h["status"]) for h in mine["history"]] == [
        ("redeemed", "awaiting_planting"),
        ("planted", "planted"),
    ]
    headers = bearer(runtime, "partner", "north")
    assert client.get("/v1/partners/north/orders", headers=headers).json() == []
    planted = client.get("/v1/partners/north/orders?status=planted", headers=headers).json()
    assert [(o["tree_id"], o["status"], o["kind"]) for o in planted] == [(tree["tree_id"], "planted", "planting")]
    plots = {p["plot_id"]: p for p in client.get("/v1/plots").json()}
    assert (plots["a-01"]["planted"], plots["a-01"]["reserved"]) == (1, 0)
    assert ledger.balance(runtime, "sink:trees") == SAXAUL_G  # planting moves no energy


def test_every_rejection_code_of_a_confirmation(client: TestClient, runtime: Runtime, clock: ManualClock) -> None:
    first = redeem(client, runtime, "u-1")["tree_id"]
    tree = redeem(client, runtime, "u-2")["tree_id"]
    redeemed_at = clock.now()
    clock.advance(days=3)
    assert confirm(client, runtime, planting(first, clock, 1)).status_code == 201
    used = planting(first, clock, 1)
    cases = [
        (planting(tree, clock, 2, latitude=38.80), 422, "outside_plot"),
        (planting(tree, clock, 2, species_id="fir"), 422, "species_mismatch"),
        (planting(tree, clock, 2, photo_sha256=used["photo_sha256"]), 422, "duplicate_photo"),
        (planting(tree, clock, 2, tag=used["tag"].lower()), 422, "duplicate_tag"),  # tags compare upper-cased
        (planting(tree, clock, 2, latitude=used["latitude"]), 422, "duplicate_location"),
        (
            planting(tree, clock, 2, planted_at=(redeemed_at - timedelta(hours=1)).isoformat()),
            422,
            "planted_before_redeemed",
        ),
        (planting(tree, clock, 2, planted_at=(clock.now() + timedelta(hours=1)).isoformat()), 422, "in_future"),
        (planting(tree, clock, 2, photo_sha256="ABC"), 422, "invalid_photo_hash"),
        (planting(tree, clock, 2, latitude=91.0), 422, "invalid_coordinates"),
        (planting(tree, clock, 2, tag="no spaces allowed"), 422, "invalid_tag"),
        (planting(tree, clock, 2, planted_at="2026-11-23T10:00:00"), 422, "invalid_timestamp"),
        (planting(tree, clock, 2, latitude="north"), 422, "invalid_request"),
        ({"tree_id": tree}, 422, "invalid_request"),
        (planting("0" * 32, clock, 2), 404, "tree_not_found"),
        (planting(first, clock, 3), 409, "already_planted"),
    ]
    for body, status, code in cases:
        answer = confirm(client, runtime, body)
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), (code, answer.text)
    # Nothing of the refused attempts was stored: the tree still awaits its planting.
    assert confirm(client, runtime, planting(tree, clock, 2)).status_code == 201


def test_partners_see_and_confirm_only_their_own_trees(
    client: TestClient, runtime: Runtime, clock: ManualClock
) -> None:
    tree = redeem(client, runtime, "u-1")["tree_id"]
    clock.advance(days=1)
    other = client.post(
        "/v1/partners/south/plantings", json=planting(tree, clock), headers=bearer(runtime, "partner", "south")
    )
    assert (other.status_code, other.json()["error"]["code"]) == (403, "not_your_tree")
    posing = client.post(
        "/v1/partners/north/plantings", json=planting(tree, clock), headers=bearer(runtime, "partner", "south")
    )
    assert (posing.status_code, posing.json()["error"]["code"]) == (403, "not_yours")
    assert client.get("/v1/partners/north/orders", headers=bearer(runtime, "partner", "south")).status_code == 403
    assert client.get("/v1/partners/north/orders", headers=bearer(runtime, "auditor", "a-1")).status_code == 200
    assert client.get("/v1/partners/south/orders", headers=bearer(runtime, "partner", "south")).json() == []
    unknown = client.get("/v1/partners/east/orders", headers=bearer(runtime, "partner", "east"))
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "partner_not_found")


def test_orders_are_listed_oldest_first_with_status_filters_and_pages(
    client: TestClient, runtime: Runtime, clock: ManualClock
) -> None:
    trees = []
    for n in range(3):
        trees.append(redeem(client, runtime, f"u-{n}", plot_id="a-02")["tree_id"])
        clock.advance(days=11)
    headers = bearer(runtime, "partner", "north")
    # a-02 is in season all year with a 30-day deadline: the first order is now overdue.
    pending = client.get("/v1/partners/north/orders?status=pending", headers=headers).json()
    overdue = client.get("/v1/partners/north/orders?status=overdue", headers=headers).json()
    assert [o["tree_id"] for o in pending] == trees[1:]
    assert [(o["tree_id"], o["status"]) for o in overdue] == [(trees[0], "overdue")]
    page = client.get("/v1/partners/north/orders?limit=2", headers=headers).json()
    rest = client.get(f"/v1/partners/north/orders?limit=2&after={page[-1]['order_id']}", headers=headers).json()
    assert [o["tree_id"] for o in page + rest] == trees
    bad = client.get("/v1/partners/north/orders?status=lost", headers=headers)
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_request")
    lost = client.get(f"/v1/partners/north/orders?after={'0' * 32}", headers=headers)
    assert (lost.status_code, lost.json()["error"]["code"]) == (404, "order_not_found")


def test_survival_alive_keeps_the_tree_and_dead_orders_a_free_replanting(
    client: TestClient, runtime: Runtime, clock: ManualClock
) -> None:
    tree = redeem(client, runtime, "u-1", plot_id="a-02")
    headers = bearer(runtime, "partner", "north")
    clock.advance(days=1)
    body = planting(tree["tree_id"], clock, latitude=IN_A02[0], longitude=IN_A02[1])
    first_certificate = confirm(client, runtime, body).json()["certificate_no"]
    clock.advance(days=100)
    check = {
        "tree_id": tree["tree_id"],
        "checked_at": clock.now().isoformat(),
        "alive": True,
        "photo_sha256": photo("autumn 1"),
    }
    alive = client.post("/v1/partners/north/survival", json=check, headers=headers)
    assert (alive.status_code, alive.json()["status"], alive.json()["replanting_order_id"]) == (201, "alive", None)
    clock.advance(days=100)
    dead = client.post(
        "/v1/partners/north/survival",
        json={**check, "checked_at": clock.now().isoformat(), "alive": False, "photo_sha256": photo("autumn 2")},
        headers=headers,
    ).json()
    assert dead["status"] == "dead" and dead["replanting_order_id"]
    orders = client.get("/v1/partners/north/orders", headers=headers).json()
    assert [(o["order_id"], o["kind"], o["planting_no"]) for o in orders] == [
        (dead["replanting_order_id"], "replanting", 2)
    ]
    # The replacement: same plot, new photo and tag, same point on another date is allowed.
    clock.advance(days=5)
    again = confirm(
        client,
        runtime,
        {**body, "planted_at": clock.now().isoformat(), "photo_sha256": photo("new"), "tag": "NORTH-REPLANT-1"},
    )
    assert again.status_code == 201, again.text
    assert again.json()["status"] == "replanted" and again.json()["certificate_no"] != first_certificate
    mine = client.get("/v1/users/u-1/trees", headers=bearer(runtime, "user", "u-1")).json()[0]
    assert [(h["event"], h["status"]) for h in mine["history"]] == [
        ("redeemed", "awaiting_planting"),
        ("planted", "planted"),
        ("survival_alive", "alive"),
        ("survival_dead", "dead"),
        ("replanted", "replanted"),
    ]
    assert mine["certificate_nos"] == [first_certificate, again.json()["certificate_no"]]
    assert ledger.balance(runtime, "sink:trees") == SAXAUL_G  # energy spent once
    plots = {p["plot_id"]: p for p in client.get("/v1/plots").json()}
    assert (plots["a-02"]["planted"], plots["a-02"]["reserved"]) == (1, 0)


def test_survival_rejections(client: TestClient, runtime: Runtime, clock: ManualClock) -> None:
    tree = redeem(client, runtime, "u-1")["tree_id"]
    headers = bearer(runtime, "partner", "north")
    check = {"tree_id": tree, "checked_at": clock.now().isoformat(), "alive": True, "photo_sha256": photo("s")}
    unplanted = client.post("/v1/partners/north/survival", json=check, headers=headers)
    assert (unplanted.status_code, unplanted.json()["error"]["code"]) == (409, "invalid_transition")
    clock.advance(days=1)
    planted_at = clock.now()
    assert confirm(client, runtime, planting(tree, clock, 1)).status_code == 201
    check["checked_at"] = clock.now().isoformat()
    cases = [
        ({**check, "checked_at": (planted_at - timedelta(hours=1)).isoformat()}, 422, "checked_before_planted"),
        ({**check, "photo_sha256": photo("planting 1")}, 422, "duplicate_photo"),  # the planting photo
        ({**check, "checked_at": (clock.now() + timedelta(days=1)).isoformat()}, 422, "in_future"),
        ({**check, "alive": "yes"}, 422, "invalid_request"),
        ({**check, "tree_id": "missing"}, 404, "tree_not_found"),
    ]
    for body, status, code in cases:
        answer = client.post("/v1/partners/north/survival", json=body, headers=headers)
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), code
    other = client.post("/v1/partners/south/survival", json=check, headers=bearer(runtime, "partner", "south"))
    assert (other.status_code, other.json()["error"]["code"]) == (403, "not_your_tree")


def test_the_database_itself_refuses_a_reused_photo_tag_or_location(
    client: TestClient, runtime: Runtime, clock: ManualClock
) -> None:
    tree = redeem(client, runtime, "u-1")["tree_id"]
    clock.advance(days=1)
    assert confirm(client, runtime, planting(tree, clock, 1)).status_code == 201
    with write_tx(runtime.engine) as connection:
        stored = dict(connection.execute(CONFIRMATIONS.select()).mappings().one())
    for column in ("photo_sha256", "tag", "location_key"):
        copy = {
            **stored,
            "id": "f" * 32,
            "seq": stored["seq"] + 1,
            "order_id": None,
            "photo_sha256": photo("other"),
            "tag": "OTHER",
            "location_key": "0,0,2000-01-01",
        }
        copy[column] = stored[column]
        with pytest.raises(IntegrityError), write_tx(runtime.engine) as connection:
            connection.execute(CONFIRMATIONS.insert(), [copy])
