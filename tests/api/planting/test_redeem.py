"""POST /v1/users/{id}/trees: one commit reserves the place, debits the energy and creates
the tree and its order; every refusal leaves energy and places as they were."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from greenenergy.services import ledger
from greenenergy.services.runtime import Runtime
from tests.api.planting.conftest import SAXAUL_G, available, fund
from tests.helpers import bearer


def plot(client: TestClient, plot_id: str) -> dict:
    return next(p for p in client.get("/v1/plots").json() if p["plot_id"] == plot_id)


def test_redeem_debits_the_price_reserves_a_place_and_creates_tree_and_order(
    client: TestClient, runtime: Runtime
) -> None:
    fund(runtime, "u-1", 20_000)
    answer = client.post(
        "/v1/users/u-1/trees", json={"species_id": "saxaul", "plot_id": "a-01"}, headers=bearer(runtime, "user", "u-1")
    )
    assert answer.status_code == 201, answer.text
    tree = answer.json()
    assert {k: tree[k] for k in ("species_id", "plot_id", "partner_id", "energy_g", "status", "quantity")} == {
        "species_id": "saxaul",
        "plot_id": "a-01",
        "partner_id": "north",
        "energy_g": SAXAUL_G,
        "status": "awaiting_planting",
        "quantity": 1,
    }
    assert datetime.fromisoformat(tree["redeemed_at"]) == datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    # Redeemed outside a-01's spring season: due 90 days after the next season opens (local midnight).
    assert datetime.fromisoformat(tree["deadline"]) == datetime(2027, 3, 14, 16, 0, tzinfo=UTC) + timedelta(days=90)
    assert available(runtime, "u-1") == 20_000 - SAXAUL_G
    assert ledger.balance(runtime, "sink:trees") == SAXAUL_G
    history = ledger.user_history(runtime, "u-1")
    assert history[0].kind == "redeem" and history[0].refs["tree_id"] == tree["tree_id"]
    assert history[0].transaction_id == tree["transaction_id"]
    a01 = plot(client, "a-01")
    assert (a01["reserved"], a01["planted"], a01["capacity"]) == (1, 0, 11)
    mine = client.get("/v1/users/u-1/trees", headers=bearer(runtime, "user", "u-1")).json()
    assert [(t["tree_id"], t["status"], t["order_id"], t["certificate_no"]) for t in mine] == [
        (tree["tree_id"], "awaiting_planting", tree["order_id"], None)
    ]
    assert [(h["event"], h["status"]) for h in mine[0]["history"]] == [("redeemed", "awaiting_planting")]


def test_without_a_plot_the_freest_plot_offering_the_species_is_chosen(client: TestClient, runtime: Runtime) -> None:
    fund(runtime, "u-1", 3 * SAXAUL_G)
    headers = bearer(runtime, "user", "u-1")
    plots = [
        client.post("/v1/users/u-1/trees", json={"species_id": "saxaul"}, headers=headers).json()["plot_id"]
        for _ in range(3)
    ]
    assert plots == ["a-01", "a-01", "a-01"]  # a-01 has 10 places, a-02 only 3


def test_insufficient_energy_is_409_and_takes_no_place(client: TestClient, runtime: Runtime) -> None:
    fund(runtime, "u-1", SAXAUL_G - 1)
    answer = client.post(
        "/v1/users/u-1/trees", json={"species_id": "saxaul", "plot_id": "a-02"}, headers=bearer(runtime, "user", "u-1")
    )
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "insufficient_energy"
    assert available(runtime, "u-1") == SAXAUL_G - 1
    assert plot(client, "a-02")["reserved"] == 0
    assert client.get("/v1/users/u-1/trees", headers=bearer(runtime, "user", "u-1")).json() == []


def test_plot_full_and_species_not_in_plot_are_409_and_debit_nothing(client: TestClient, runtime: Runtime) -> None:
    fund(runtime, "u-1", 2 * 330_759)
    headers = bearer(runtime, "user", "u-1")
    assert (
        client.post("/v1/users/u-1/trees", json={"species_id": "fir", "plot_id": "a-01"}, headers=headers).status_code
        == 201
    )
    full = client.post("/v1/users/u-1/trees", json={"species_id": "fir", "plot_id": "a-01"}, headers=headers)
    assert (full.status_code, full.json()["error"]["code"]) == (409, "plot_full")
    anywhere = client.post("/v1/users/u-1/trees", json={"species_id": "fir"}, headers=headers)
    assert (anywhere.status_code, anywhere.json()["error"]["code"]) == (409, "plot_full")
    wrong = client.post("/v1/users/u-1/trees", json={"species_id": "fir", "plot_id": "a-02"}, headers=headers)
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (409, "species_not_in_plot")
    assert available(runtime, "u-1") == 330_759


def test_unknown_species_or_plot_is_404(client: TestClient, runtime: Runtime) -> None:
    headers = bearer(runtime, "user", "u-1")
    species = client.post("/v1/users/u-1/trees", json={"species_id": "oak"}, headers=headers)
    assert (species.status_code, species.json()["error"]["code"]) == (404, "species_not_found")
    plot_ = client.post("/v1/users/u-1/trees", json={"species_id": "saxaul", "plot_id": "zz-99"}, headers=headers)
    assert (plot_.status_code, plot_.json()["error"]["code"]) == (404, "plot_not_found")


def test_bad_input_is_422_with_a_code(client: TestClient, runtime: Runtime) -> None:
    headers = bearer(runtime, "user", "u-1")
    fund(runtime, "u-1", 5 * SAXAUL_G)
    cases = [
        ({}, "invalid_request"),
        ({"species_id": 7}, "invalid_request"),
        ({"species_id": "saxaul", "colour": "green"}, "invalid_request"),
        ({"species_id": "saxaul", "quantity": "2"}, "invalid_request"),
        ({"species_id": "saxaul", "quantity": 2}, "invalid_quantity"),
        ({"species_id": "share", "quantity": 0}, "invalid_quantity"),
    ]
    for body, code in cases:
        answer = client.post("/v1/users/u-1/trees", json=body, headers=headers)
        assert (answer.status_code, answer.json()["error"]["code"]) == (422, code), body
    assert available(runtime, "u-1") == 5 * SAXAUL_G


def test_conservation_shares_are_redeemed_by_the_square_metre(client: TestClient, runtime: Runtime) -> None:
    fund(runtime, "u-1", 5_500)
    answer = client.post(
        "/v1/users/u-1/trees", json={"species_id": "share", "quantity": 5}, headers=bearer(runtime, "user", "u-1")
    )
    assert answer.status_code == 201
    assert (answer.json()["quantity"], answer.json()["energy_g"], answer.json()["plot_id"]) == (5, 5_000, "c-01")
    assert available(runtime, "u-1") == 500
    assert plot(client, "c-01")["reserved"] == 5


def test_only_the_user_redeems_for_themself(client: TestClient, runtime: Runtime) -> None:
    fund(runtime, "u-1", SAXAUL_G)
    body = {"species_id": "saxaul"}
    other = client.post("/v1/users/u-1/trees", json=body, headers=bearer(runtime, "user", "u-2"))
    assert (other.status_code, other.json()["error"]["code"]) == (403, "not_yours")
    auditor = client.post("/v1/users/u-1/trees", json=body, headers=bearer(runtime, "auditor", "a-1"))
    assert (auditor.status_code, auditor.json()["error"]["code"]) == (403, "wrong_role")
    assert client.post("/v1/users/u-1/trees", json=body).status_code == 401
    assert client.get("/v1/users/u-1/trees", headers=bearer(runtime, "user", "u-2")).status_code == 403
    assert client.get("/v1/users/u-1/trees", headers=bearer(runtime, "auditor", "a-1")).status_code == 200
    assert available(runtime, "u-1") == SAXAUL_G


def test_catalog_is_public_with_geometry_and_counts(client: TestClient) -> None:
    species = client.get("/v1/species").json()
    assert [s["species_id"] for s in species] == ["share", "saxaul", "fir"]  # cheapest first
    assert species[1]["energy_g"] == SAXAUL_G and species[1]["plots"] == ["a-01", "a-02"]
    a01 = plot(client, "a-01")
    assert a01["geometry"]["type"] == "Polygon"
    assert a01["geometry"]["coordinates"][0][0] == [105.20, 38.70]
    assert a01["species"] == ["saxaul", "fir"]
    assert [(s["species_id"], s["capacity"], s["free"]) for s in a01["by_species"]] == [
        ("saxaul", 10, 10),
        ("fir", 1, 1),
    ]
