"""Coordinates are JSON numbers in a planting and in a bulk JSON list; CSV cells stay text."""

from __future__ import annotations

from fastapi.testclient import TestClient

from greenenergy.clock import ManualClock
from greenenergy.services.planting import redeem as planting_redeem
from greenenergy.services.runtime import Runtime
from tests.api.planting.conftest import SAXAUL_G, fund, photo
from tests.helpers import bearer


def redeem(runtime: Runtime, user: str) -> str:
    fund(runtime, user, SAXAUL_G)
    return planting_redeem.redeem(runtime, user, "saxaul", "a-01").tree_id


def row(tree_id: str, clock: ManualClock, n: int, **changes: object) -> dict:
    return {
        "tree_id": tree_id,
        "planted_at": clock.now().isoformat(),
        "latitude": 38.701 + n * 0.001,
        "longitude": 105.201,
        "species_id": "saxaul",
        "photo_sha256": photo(n),
        **changes,
    }


def test_a_json_integer_is_a_valid_number_of_degrees(client: TestClient, runtime: Runtime, clock: ManualClock) -> None:
    """An integer is a JSON number: a plot that contains 38 degrees north takes it (this one does not)."""
    tree = redeem(runtime, "u-1")
    clock.advance(days=1)
    answer = client.post(
        "/v1/partners/north/plantings",
        json=row(tree, clock, 0, latitude=38, longitude=105),
        headers=bearer(runtime, "partner", "north"),
    )
    assert (answer.status_code, answer.json()["error"]["code"]) == (422, "outside_plot")


def test_bulk_json_rows_need_number_coordinates_and_csv_cells_are_parsed(
    client: TestClient, runtime: Runtime, clock: ManualClock
) -> None:
    trees = [redeem(runtime, f"u-{n}") for n in range(4)]
    clock.advance(days=1)
    headers = bearer(runtime, "partner", "north")
    rows = [
        row(trees[0], clock, 0, latitude="38.701"),
        row(trees[1], clock, 1, longitude=True),
        row(trees[2], clock, 2),
    ]
    answer = client.post("/v1/partners/north/plantings:bulk", json=rows, headers=headers)
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [(r["result"], r["code"]) for r in results] == [
        ("rejected", "invalid_coordinates"),
        ("rejected", "invalid_coordinates"),
        ("confirmed", None),
    ]
    assert "latitude must be a JSON number" in results[0]["message"]
    assert "longitude must be a JSON number" in results[1]["message"]
    csv_text = (
        "tree_id,planted_at,latitude,longitude,species_id,photo_sha256\n"
        f"{trees[3]},{clock.now().isoformat()}, 38.709 ,105.209,saxaul,{photo(3)}\n"
    )
    answer = client.post(
        "/v1/partners/north/plantings:bulk", content=csv_text.encode(), headers={**headers, "content-type": "text/csv"}
    )
    assert [(r["result"], r["code"]) for r in answer.json()["results"]] == [("confirmed", None)]
