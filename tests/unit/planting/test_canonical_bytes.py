"""Planting's canonical bytes are ``greenenergy.canonical`` (RFC 8785 JSON, ``format_instant``),
and every hash stored before the switch still verifies.

The records were first hashed over Python's compact sorted JSON with instants written by
``strftime``; ``legacy_bytes`` below is that encoder, copied here so the comparison does not
depend on the code under test. Planting records hold no floats and ASCII keys, so the two
agree byte for byte; the fixed vectors were computed by the code before the switch.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenenergy.canonical import jcs
from greenenergy.planting import (
    CertificateFacts,
    PlantingReport,
    SurvivalReport,
    certificate_hash,
    certificate_number,
    confirmation_hash,
    national_certificate_number,
    survival_hash,
)
from greenenergy.planting.canonical import canonical_bytes, sha256_hex
from greenenergy.planting.records import chain_bytes

CST = timezone(timedelta(hours=8))


def legacy_bytes(record: dict[str, object]) -> bytes:
    """The encoder of the first planting records (before greenenergy.canonical)."""

    def plain(value: object) -> object:
        if isinstance(value, datetime):
            return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if isinstance(value, date):
            return value.isoformat()
        return value

    text = json.dumps(
        {k: plain(v) for k, v in record.items()}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return text.encode("utf-8")


def test_hashes_computed_before_the_switch_are_unchanged() -> None:
    report = PlantingReport(
        tree_id="5f0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e",
        partner_id="alxa-see",
        species_id="saxaul",
        planted_at=datetime(2027, 4, 2, 9, 30, 15, 123456, tzinfo=CST),
        latitude=38.7051234,
        longitude=-0.00000001,
        photo_sha256="ab" * 32,
        tag="t-001",
    )
    assert (
        confirmation_hash(report, plot_id="alxa-tengger-01", planting_no=1)
        == "0b7a4751af12f86663ca0b2980a5a4c986a09ed9b6e6d950aaa2ef14b01ea98b"
    )
    plain = PlantingReport(
        tree_id="t2",
        partner_id="p",
        species_id="s",
        planted_at=datetime(2026, 1, 1, tzinfo=UTC),
        latitude=0,
        longitude=105,
        photo_sha256="cd" * 32,
    )
    assert (
        confirmation_hash(plain, plot_id="p-1", planting_no=2)
        == "2499afef3584c3ed3d973e00bf34549cb2f581807459b7a784860b3be41a31c1"
    )
    survival = SurvivalReport(
        tree_id="t3", partner_id="north", checked_at=datetime(2027, 9, 1, 8, 0, tzinfo=CST), alive=False,
        photo_sha256="ef" * 32,
    )  # fmt: skip
    assert survival_hash(survival) == "e5bcf91ab6f5205a86c2c111a093276ba82d206d1572154bb5ec542ccd90d06e"
    facts = CertificateFacts(
        certificate_no="GE-2027-0000-0000-0000-0000",
        holder_id="用户-1",
        tree_id="t1",
        species_id="saxaul",
        plot_id="alxa-tengger-01",
        partner_id="alxa-see",
        kind="planting",
        quantity=1,
        energy_g=17900,
        share_g=5967,
        redeemed_at=datetime(2027, 3, 1, 1, 2, 3, tzinfo=UTC),
        planted_at=datetime(2027, 4, 2, 1, 30, 15, 123456, tzinfo=UTC),
        issued_on=date(2027, 4, 2),
        planting_no=1,
        ledger_tx_hash="11" * 32,
        confirmation_hash="22" * 32,
    )
    assert certificate_hash(facts) == "cae3519abbda19ae5184f520881947302d9934669b91fbd717e95a8d7f296bf5"
    assert certificate_number("t1", "用户-1", date(2027, 4, 2), planting_no=2) == "GE-2027-XTGY-D3K6-R2SM-Y524"
    assert national_certificate_number("u-1", 2027, ["GE-2027-B", "GE-2027-A", "GE-2027-C"]) == (
        "GN-2027-ZP5J-C5DS-Q5FX-9NYA"
    )
    link = chain_bytes(
        record_id="c1", shard=7, seq=3, kind="planting", recorded_at=datetime(2027, 4, 2, 1, 30, 15, tzinfo=UTC),
        prev_hash="0" * 64, record_hash="33" * 32,
    )  # fmt: skip
    assert sha256_hex(link) == "25f56ce187275ad9fd2cdf88d18e9fc33b141b54a137303819ff2d7706c5af1c"


_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),
    st.text(),
    st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 1, 1), timezones=st.sampled_from([UTC, CST])),
    st.dates(),
)


@given(st.dictionaries(st.text(alphabet=st.characters(max_codepoint=127), max_size=12), _values, max_size=8))
def test_canonical_bytes_are_jcs_and_equal_the_legacy_encoding(record: dict[str, object]) -> None:
    encoded = canonical_bytes(record)
    assert encoded == legacy_bytes(record)
    assert encoded == jcs(json.loads(encoded))  # already canonical: JCS of its own parse is itself


def test_floats_are_refused() -> None:
    with pytest.raises(TypeError, match=r"38\.7"):
        canonical_bytes({"latitude": 38.7})
