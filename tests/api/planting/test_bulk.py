"""POST /v1/partners/{id}/plantings:bulk: per-row results, valid rows kept, bad rows alone refused."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from greenenergy.clock import ManualClock
from greenenergy.db import planting_reports_repo
from greenenergy.planting import DuplicatePhoto
from greenenergy.planting.reports import UsedKeys
from greenenergy.services.planting import partner as planting_partner
from greenenergy.services.planting import redeem as planting_redeem
from greenenergy.services.runtime import Runtime
from tests.api.planting.conftest import SAXAUL_G, fund, photo
from tests.helpers import bearer


def redeem_many(runtime: Runtime, count: int, plot_id: str = "a-01") -> list[str]:
    ids = []
    for n in range(count):
        fund(runtime, f"u-{n}", SAXAUL_G)
        ids.append(planting_redeem.redeem(runtime, f"u-{n}", "saxaul", plot_id).tree_id)
    return ids


def test_csv_rows_are_confirmed_or_refused_one_by_one(client: TestClient, runtime: Runtime, clock: ManualClock) -> None:
    trees = redeem_many(runtime, 5)
    clock.advance(days=1)
    now = clock.now().isoformat()
    csv_text = (
        "\n".join(
            [
                "tree_id,planted_at,latitude,longitude,species_id,photo_sha256,tag",
                f"{trees[0]},{now},38.7010,105.2010,saxaul,{photo(0)},T-0",
                f"{trees[1]},{now},38.7020,105.2020,saxaul,{photo(0)},T-1",  # photo of row 1
                f"{trees[2]},{now},39.0000,105.2030,saxaul,{photo(2)},T-2",  # outside a-01
                f"{trees[3]},{now},38.7040,105.2040,saxaul,{photo(3)},",  # no tag: fine
                f"{trees[0]},{now},38.7050,105.2050,saxaul,{photo(5)},T-5",  # row 1's tree again
                f"{trees[4]},yesterday,38.7060,105.2060,saxaul,{photo(6)},T-6",
                f"{trees[4]},{now},38.7070,105.2070,saxaul,{photo(7)},t-0",  # row 1's tag, lower case
                f"{trees[4]},{now},38.7080,105.2080,saxaul,{photo(8)},T-8",
            ]
        )
        + "\n"
    )
    answer = client.post(
        "/v1/partners/north/plantings:bulk",
        content=csv_text.encode(),
        headers={**bearer(runtime, "partner", "north"), "content-type": "text/csv"},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [(r["row"], r["result"], r["code"]) for r in body["results"]] == [
        (1, "confirmed", None),
        (2, "rejected", "duplicate_photo"),
        (3, "rejected", "outside_plot"),
        (4, "confirmed", None),
        (5, "rejected", "already_planted"),
        (6, "rejected", "invalid_timestamp"),
        (7, "rejected", "duplicate_tag"),
        (8, "confirmed", None),
    ]
    assert (body["confirmed"], body["rejected"]) == (3, 5)
    assert all(r["certificate_no"] for r in body["results"] if r["result"] == "confirmed")
    planted = planting_partner.list_orders(runtime, "north", status="planted")
    assert sorted(o.tree_id for o in planted) == sorted([trees[0], trees[3], trees[4]])


def test_a_json_list_works_the_same_and_bad_rows_say_why(
    client: TestClient, runtime: Runtime, clock: ManualClock
) -> None:
    trees = redeem_many(runtime, 2)
    clock.advance(days=1)
    rows = [
        {
            "tree_id": trees[0],
            "planted_at": clock.now().isoformat(),
            "latitude": 38.701,
            "longitude": 105.201,
            "species_id": "saxaul",
            "photo_sha256": photo("a"),
        },
        {
            "tree_id": trees[1],
            "planted_at": clock.now().isoformat(),
            "latitude": 38.702,
            "longitude": 105.202,
            "species_id": "saxaul",
        },
        {
            "tree_id": trees[1],
            "planted_at": clock.now().isoformat(),
            "latitude": 38.702,
            "longitude": 105.202,
            "species_id": "saxaul",
            "photo_sha256": photo("b"),
            "colour": "green",
        },
        "not an object",
    ]
    answer = client.post("/v1/partners/north/plantings:bulk", json=rows, headers=bearer(runtime, "partner", "north"))
    assert answer.status_code == 200, answer.text
    assert [(r["result"], r["code"], r["tree_id"]) for r in answer.json()["results"]] == [
        ("confirmed", None, trees[0]),
        ("rejected", "missing_field", trees[1]),
        ("rejected", "invalid_row", trees[1]),
        ("rejected", "invalid_row", None),
    ]


def test_request_level_problems_refuse_the_whole_request(client: TestClient, runtime: Runtime) -> None:
    headers = {**bearer(runtime, "partner", "north"), "content-type": "text/csv"}
    cases = [
        (b"tree_id,planted_at\nx,y\n", "text/csv", 422, "invalid_csv"),
        (b"tree_id,planted_at,latitude,longitude,species_id,photo_sha256,colour\n", "text/csv", 422, "invalid_csv"),
        (b"\xff\xfe", "text/csv", 422, "invalid_csv"),
        (b'{"plantings": 3}', "application/json", 422, "invalid_json"),
        (b"[1, 2", "application/json", 422, "invalid_json"),
        (b"tree_id", "application/xml", 422, "unsupported_media_type"),
    ]
    for content, media, status, code in cases:
        answer = client.post(
            "/v1/partners/north/plantings:bulk", content=content, headers={**headers, "content-type": media}
        )
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), code
    too_many = "tree_id,planted_at,latitude,longitude,species_id,photo_sha256\n" + "x,y,1,2,saxaul,z\n" * 10_001
    answer = client.post("/v1/partners/north/plantings:bulk", content=too_many.encode(), headers=headers)
    assert (answer.status_code, answer.json()["error"]["code"]) == (413, "too_many_rows")
    other = client.post(
        "/v1/partners/north/plantings:bulk",
        content=b"[]",
        headers={**bearer(runtime, "partner", "south"), "content-type": "application/json"},
    )
    assert (other.status_code, other.json()["error"]["code"]) == (403, "not_yours")


def test_rows_beyond_one_chunk_commit_and_a_second_send_is_harmless(
    runtime: Runtime, clock: ManualClock, monkeypatch
) -> None:
    monkeypatch.setattr(planting_partner, "BULK_CHUNK_ROWS", 2)  # several chunks with few trees
    trees = redeem_many(runtime, 5)
    clock.advance(days=1)
    lines = ["tree_id,planted_at,latitude,longitude,species_id,photo_sha256"] + [
        f"{tree},{clock.now().isoformat()},38.70{n + 1},105.201,saxaul,{photo(n)}" for n, tree in enumerate(trees)
    ]
    body = ("\n".join(lines) + "\n").encode()
    first = planting_partner.confirm_bulk(runtime, "north", body, body_format="csv")
    assert (first.confirmed, first.rejected) == (5, 0)
    again = planting_partner.confirm_bulk(runtime, "north", body, body_format="csv")
    assert {r.code for r in again.results} == {"already_planted"}


def test_a_key_taken_by_a_concurrent_commit_refuses_only_that_row(
    runtime: Runtime, clock: ManualClock, monkeypatch
) -> None:
    """A commit that took a photo after this request read the used keys (PostgreSQL READ
    COMMITTED) is simulated by hiding the used keys from the first read: the unique
    constraint fires, and the chunk is redone row by row with the right code."""
    trees = redeem_many(runtime, 3)
    clock.advance(days=1)
    now = clock.now().isoformat()
    taken = planting_partner.report_from_fields(
        {
            "tree_id": trees[0],
            "planted_at": now,
            "latitude": "38.701",
            "longitude": "105.201",
            "species_id": "saxaul",
            "photo_sha256": photo("taken"),
        },
        "north",
    )
    planting_partner.confirm_planting(runtime, taken)
    real_used_keys = planting_reports_repo.used_keys
    reads = []

    def stale_then_real(connection, **keys):
        reads.append(keys)
        if len(reads) == 1:
            return UsedKeys()
        return real_used_keys(connection, **keys)

    monkeypatch.setattr(planting_reports_repo, "used_keys", stale_then_real)
    csv_text = (
        "\n".join(
            [
                "tree_id,planted_at,latitude,longitude,species_id,photo_sha256",
                f"{trees[1]},{now},38.7020,105.2020,saxaul,{photo('taken')}",
                f"{trees[2]},{now},38.7030,105.2030,saxaul,{photo('fresh')}",
            ]
        )
        + "\n"
    )
    answer = planting_partner.confirm_bulk(runtime, "north", csv_text.encode(), body_format="csv")
    assert [(r.result, r.code) for r in answer.results] == [
        ("rejected", "duplicate_photo"),
        ("confirmed", None),
    ]
    assert len(reads) == 2  # the fast pass, then the row-by-row pass
    reads.clear()
    single = planting_partner.report_from_fields(
        {
            "tree_id": trees[1],
            "planted_at": now,
            "latitude": "38.702",
            "longitude": "105.202",
            "species_id": "saxaul",
            "photo_sha256": photo("fresh"),
        },
        "north",
    )
    with pytest.raises(DuplicatePhoto):  # the single path maps the unique violation as well
        planting_partner.confirm_planting(runtime, single)
