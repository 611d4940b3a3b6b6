"""Certificate numbers, certificate hashes and the national certificate exchange."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from greenenergy.errors import Conflict
from greenenergy.planting import (
    CertificateFacts,
    InvalidCertificateNumber,
    NotEnoughCertificates,
    certificate_hash,
    certificate_number,
    exchange_national,
    national_certificate_number,
    normalize_certificate_number,
)

FORMAT = re.compile(r"^GE-\d{4}-([0-9A-HJKMNP-TV-Z]{4}-){3}[0-9A-HJKMNP-TV-Z]{4}$")


def test_number_format_and_determinism():
    number = certificate_number("t-1", "u-1", date(2026, 4, 9))
    assert FORMAT.match(number), number
    assert number.startswith("GE-2026-")
    assert certificate_number("t-1", "u-1", date(2026, 4, 9)) == number


def test_numbers_differ_by_tree_holder_and_planting():
    numbers = {
        certificate_number(f"t-{i}", holder, date(2026, 4, 9), planting_no=n)
        for i in range(2000)
        for holder in ("u-1", "u-2")
        for n in (1, 2)
    }
    assert len(numbers) == 8000


def test_number_is_the_documented_hash():
    payload = json.dumps(
        {"holder_id": "u-1", "planting_no": 1, "tree_id": "t-1"}, sort_keys=True, separators=(",", ":")
    )
    bits = int.from_bytes(hashlib.sha256(payload.encode()).digest()[:10], "big")
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    code = "".join(alphabet[(bits >> (5 * (15 - i))) & 31] for i in range(16))
    expected = "GE-2026-" + "-".join(code[i : i + 4] for i in range(0, 16, 4))
    assert certificate_number("t-1", "u-1", date(2026, 1, 1)) == expected


def test_typed_numbers_are_forgiven_case_dashes_and_look_alikes():
    number = certificate_number("t-1", "u-1", date(2026, 4, 9))
    typed = number.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    assert normalize_certificate_number(typed) == number
    for bad in ("GE-2026-ABCD", "XX-2026-" + number[8:], number + "Z", "GE-2026-UUUU-UUUU-UUUU-UUUU"):
        with pytest.raises(InvalidCertificateNumber):
            normalize_certificate_number(bad)


def facts(number: str, issued_on: date, **change) -> CertificateFacts:
    base = CertificateFacts(
        certificate_no=number,
        holder_id="u-1",
        tree_id="t-" + number,
        species_id="saxaul",
        plot_id="a-01",
        partner_id="north",
        kind="planting",
        quantity=1,
        energy_g=17900,
        share_g=17900,
        redeemed_at=datetime(2026, 4, 1, tzinfo=UTC),
        planted_at=datetime(2026, 4, 9, tzinfo=UTC),
        issued_on=issued_on,
        planting_no=1,
        ledger_tx_hash="a" * 64,
        confirmation_hash="b" * 64,
    )
    return replace(base, **change)


def test_certificate_hash_covers_every_fact():
    one = facts("GE-1", date(2026, 4, 9))
    assert certificate_hash(one) == certificate_hash(replace(one))
    for change in (
        {"ledger_tx_hash": "c" * 64},
        {"confirmation_hash": "c" * 64},
        {"share_g": 9000},
        {"planted_at": datetime(2026, 4, 9, 0, 0, 1, tzinfo=UTC)},
        {"plot_id": "a-02"},
    ):
        assert certificate_hash(replace(one, **change)) != certificate_hash(one), change


def test_certificate_hash_is_sha256_of_the_canonical_record():
    one = facts("GE-1", date(2026, 4, 9))
    record = {
        "certificate_no": "GE-1",
        "holder_id": "u-1",
        "tree_id": "t-GE-1",
        "species_id": "saxaul",
        "plot_id": "a-01",
        "partner_id": "north",
        "kind": "planting",
        "quantity": 1,
        "energy_g": 17900,
        "share_g": 17900,
        "redeemed_at": "2026-04-01T00:00:00.000000Z",
        "planted_at": "2026-04-09T00:00:00.000000Z",
        "issued_on": "2026-04-09",
        "planting_no": 1,
        "ledger_tx_hash": "a" * 64,
        "confirmation_hash": "b" * 64,
    }
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert certificate_hash(one) == hashlib.sha256(text.encode()).hexdigest()


def test_exchange_takes_the_three_oldest_unused_of_the_year():
    certificates = [
        facts("GE-D", date(2026, 9, 1)),
        facts("GE-A", date(2026, 2, 1)),
        facts("GE-C", date(2026, 6, 1)),
        facts("GE-B", date(2026, 3, 1)),
        facts("GE-OLD", date(2025, 12, 31)),
    ]
    assert exchange_national(certificates, 2026, set()) == ["GE-A", "GE-B", "GE-C"]
    assert exchange_national(certificates, 2026, {"GE-A"}) == ["GE-B", "GE-C", "GE-D"]


def test_exchange_cannot_reuse_or_count_shares_replantings_or_conservation():
    certificates = [
        facts("GE-A", date(2026, 2, 1)),
        facts("GE-B", date(2026, 3, 1)),
        facts("GE-C", date(2026, 4, 1)),
        facts("GE-SHARE", date(2026, 4, 2), share_g=8950),
        facts("GE-REPLANT", date(2026, 4, 3), planting_no=2),
        facts("GE-M2", date(2026, 4, 4), kind="conservation", species_id="share", energy_g=1193, share_g=1193),
    ]
    with pytest.raises(NotEnoughCertificates) as raised:
        exchange_national(certificates, 2026, {"GE-A"})
    assert raised.value.code == "not_enough_certificates" and isinstance(raised.value, Conflict)
    assert raised.value.details["available"] == 2


def test_exchange_is_per_holder():
    with pytest.raises(ValueError):
        exchange_national(
            [facts("GE-A", date(2026, 2, 1)), facts("GE-B", date(2026, 2, 1), holder_id="u-2")], 2026, set()
        )


def test_national_number_depends_on_the_certificates_not_their_order():
    one = national_certificate_number("u-1", 2026, ["GE-A", "GE-B", "GE-C"])
    assert one == national_certificate_number("u-1", 2026, ["GE-C", "GE-A", "GE-B"])
    assert one != national_certificate_number("u-1", 2026, ["GE-A", "GE-B", "GE-D"])
    assert one.startswith("GN-2026-")
    assert normalize_certificate_number(one) == one
