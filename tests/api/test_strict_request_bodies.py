"""Request bodies take JSON values of the declared type: no lax coercion.

A string is not a number (``"38.6"``), a bool is not a number or an integer (``true``), a
float is not an integer of grams (``10.0``), a number is not a bool or a text, and a number
is not a time (lax pydantic reads it as a Unix timestamp). Each is 422 ``invalid_request``
naming the field, before any service runs.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from greenenergy.services.runtime import Runtime
from tests.helpers import bearer

TIME = "2026-11-20T10:00:00+08:00"
POOL = "0" * 32
PLANTING = {
    "tree_id": "t-1",
    "planted_at": TIME,
    "latitude": 38.705,
    "longitude": 105.205,
    "species_id": "saxaul",
    "photo_sha256": "a" * 64,
}
SURVIVAL = {"tree_id": "t-1", "checked_at": TIME, "alive": True, "photo_sha256": "a" * 64}

CASES = [  # (role, subject, path, valid body, field, lax value)
    ("partner", "north", "/v1/partners/north/plantings", PLANTING, "latitude", "38.6"),
    ("partner", "north", "/v1/partners/north/plantings", PLANTING, "latitude", True),
    ("partner", "north", "/v1/partners/north/plantings", PLANTING, "longitude", "105.2"),
    ("partner", "north", "/v1/partners/north/plantings", PLANTING, "longitude", False),
    ("partner", "north", "/v1/partners/north/plantings", PLANTING, "planted_at", 1763604000),
    ("partner", "north", "/v1/partners/north/plantings", PLANTING, "planted_at", "1763604000"),
    ("partner", "north", "/v1/partners/north/plantings", PLANTING, "tree_id", 7),
    ("partner", "north", "/v1/partners/north/survival", SURVIVAL, "alive", "true"),
    ("partner", "north", "/v1/partners/north/survival", SURVIVAL, "alive", 1),
    ("partner", "north", "/v1/partners/north/survival", SURVIVAL, "checked_at", 1763604000.5),
    ("user", "u-1", "/v1/users/u-1/trees", {"species_id": "saxaul"}, "quantity", "2"),
    ("user", "u-1", "/v1/users/u-1/trees", {"species_id": "saxaul"}, "quantity", True),
    ("user", "u-1", "/v1/users/u-1/trees", {"species_id": "saxaul"}, "quantity", 2.0),
    ("user", "u-1", "/v1/users/u-1/trees", {"species_id": "saxaul"}, "species_id", 3),
    ("user", "u-1", "/v1/users/u-1/national-certificates", {"year": 2026}, "year", "2026"),
    ("user", "u-1", "/v1/users/u-1/national-certificates", {"year": 2026}, "year", 2026.0),
    ("user", "u-1", "/v1/users/u-1/coplant-pools", {"species_id": "saxaul"}, "daily_cap_g", "100"),
    ("user", "u-1", "/v1/users/u-1/coplant-pools", {"species_id": "saxaul"}, "max_members", True),
    ("user", "u-1", f"/v1/users/u-1/coplant-pools/{POOL}/contributions", {"energy_g": 10}, "energy_g", 10.0),
    ("user", "u-1", f"/v1/users/u-1/coplant-pools/{POOL}/contributions", {"energy_g": 10}, "energy_g", "10"),
    ("user", "u-1", "/v1/users/u-1/water", {"friend_id": "u-2", "energy_g": 10}, "energy_g", 10.0),
    ("user", "u-1", "/v1/users/u-1/water", {"friend_id": "u-2", "energy_g": 10}, "energy_g", "10"),
    ("user", "u-1", "/v1/users/u-1/water", {"friend_id": "u-2", "energy_g": 10}, "energy_g", True),
    ("user", "u-1", "/v1/users/u-1/water", {"friend_id": "u-2", "energy_g": 10}, "friend_id", 2),
    ("user", "u-1", "/v1/users/u-1/friends", {"friend_id": "u-2"}, "friend_id", 2),
    ("admin", "root", "/v1/admin/users/u-1/items", {"kind": "protection_cover"}, "kind", 1),
]


@pytest.mark.parametrize(
    ("role", "subject", "path", "body", "field", "value"),
    CASES,
    ids=[f"{c[2].rsplit('/', 1)[1]}.{c[4]}={c[5]!r}" for c in CASES],
)
def test_a_lax_value_is_422_naming_the_field(
    client: TestClient, runtime: Runtime, role: str, subject: str, path: str, body: dict, field: str, value: object
) -> None:
    answer = client.post(path, json={**body, field: value}, headers=bearer(runtime, role, subject))
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["message"].startswith(f"{field}: ")
    assert [p["field"] for p in error["details"]["problems"]] == [field]
