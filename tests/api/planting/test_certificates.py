"""Certificates: public, tied by hashes to the redeem transaction and the confirmation;
three of one year exchange once for a national certificate."""

from __future__ import annotations

from datetime import date, datetime

from fastapi.testclient import TestClient

from greenenergy.clock import ManualClock
from greenenergy.db import ledger_repo, planting_repo
from greenenergy.db.engine import read_tx
from greenenergy.planting import CertificateFacts, certificate_hash
from greenenergy.services.runtime import Runtime
from tests.api.planting.conftest import IN_A01, SAXAUL_G, fund, photo
from tests.helpers import bearer


def plant(client: TestClient, runtime: Runtime, clock: ManualClock, user: str, n: int) -> str:
    fund(runtime, user, SAXAUL_G)
    tree = client.post(
        f"/v1/users/{user}/trees",
        json={"species_id": "saxaul", "plot_id": "a-01"},
        headers=bearer(runtime, "user", user),
    ).json()
    clock.advance(hours=1)
    body = {
        "tree_id": tree["tree_id"],
        "planted_at": clock.now().isoformat(),
        "latitude": IN_A01[0] + n * 0.0001,
        "longitude": IN_A01[1],
        "species_id": "saxaul",
        "photo_sha256": photo(n),
        "tag": f"T{n}",
    }
    answer = client.post("/v1/partners/north/plantings", json=body, headers=bearer(runtime, "partner", "north"))
    assert answer.status_code == 201, answer.text
    return answer.json()["certificate_no"]


def test_a_certificate_is_public_and_its_hashes_lead_to_the_ledger_and_the_confirmation(
    client: TestClient, runtime: Runtime, clock: ManualClock
) -> None:
    number = plant(client, runtime, clock, "u-1", 1)
    answer = client.get(f"/v1/certificates/{number.lower()}")  # typed in lower case: still found
    assert answer.status_code == 200, answer.text
    cert = answer.json()
    assert (cert["certificate_no"], cert["holder_id"], cert["species_id"], cert["plot_id"], cert["partner_id"]) == (
        number,
        "u-1",
        "saxaul",
        "a-01",
        "north",
    )
    assert (cert["energy_g"], cert["share_g"], cert["kind"], cert["planting_no"]) == (SAXAUL_G, SAXAUL_G, "planting", 1)
    assert (cert["plot_name"], cert["partner_name"], cert["hash_verified"]) == ("A 1", "North", True)
    with read_tx(runtime.engine) as connection:
        redeem = ledger_repo.get_transaction(connection, cert["ledger_tx_id"])
        confirmation = planting_repo.confirmations_of_tree(connection, cert["tree_id"])[0]
    assert redeem is not None and redeem.kind == "redeem" and redeem.hash == cert["ledger_tx_hash"]
    assert confirmation.id == cert["confirmation_id"]
    assert confirmation.record_hash() == cert["confirmation_hash"]
    facts = CertificateFacts(
        **{
            k: cert[k]
            for k in CertificateFacts.__dataclass_fields__
            if k not in ("redeemed_at", "planted_at", "issued_on")
        },
        redeemed_at=datetime.fromisoformat(cert["redeemed_at"]),
        planted_at=datetime.fromisoformat(cert["planted_at"]),
        issued_on=date.fromisoformat(cert["issued_on"]),
    )
    assert certificate_hash(facts) == cert["certificate_hash"]


def test_unknown_or_malformed_numbers(client: TestClient, runtime: Runtime) -> None:
    missing = client.get("/v1/certificates/GE-2026-0000-0000-0000-0000")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "certificate_not_found")
    bad = client.get("/v1/certificates/hello")
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_certificate_number")


def test_three_certificates_of_a_year_exchange_once(client: TestClient, runtime: Runtime, clock: ManualClock) -> None:
    numbers = [plant(client, runtime, clock, "u-1", n) for n in range(4)]
    headers = bearer(runtime, "user", "u-1")
    national = client.post("/v1/users/u-1/national-certificates", json={"year": 2026}, headers=headers)
    assert national.status_code == 201, national.text
    assert national.json()["certificates"] == numbers[:3]  # the oldest three
    assert national.json()["national_no"].startswith("GN-2026-")
    again = client.post("/v1/users/u-1/national-certificates", json={"year": 2026}, headers=headers)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "not_enough_certificates")
    other_year = client.post("/v1/users/u-1/national-certificates", json={"year": 2025}, headers=headers)
    assert (other_year.status_code, other_year.json()["error"]["code"]) == (409, "not_enough_certificates")
    listed = client.get("/v1/users/u-1/national-certificates", headers=headers).json()
    assert [(n["national_no"], n["certificates"]) for n in listed] == [(national.json()["national_no"], numbers[:3])]
    mine = client.get("/v1/users/u-1/certificates", headers=headers).json()
    assert [(c["certificate_no"], c["national_no"]) for c in mine] == [
        *[(no, national.json()["national_no"]) for no in numbers[:3]],
        (numbers[3], None),
    ]
    bad = client.post("/v1/users/u-1/national-certificates", json={"year": "2026"}, headers=headers)
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_request")
    early = client.post("/v1/users/u-1/national-certificates", json={"year": 1999}, headers=headers)
    assert (early.status_code, early.json()["error"]["code"]) == (422, "invalid_year")
    assert (
        client.post(
            "/v1/users/u-1/national-certificates", json={"year": 2026}, headers=bearer(runtime, "user", "u-2")
        ).status_code
        == 403
    )
