"""The per-shard hash chain: canonical bytes are stable, and every kind of edit is caught."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from greenenergy.canonical import legacy_json
from greenenergy.ledger import GENESIS_HASH, ChainRecord, verify_shard

T0 = datetime(2026, 11, 20, 1, 15, tzinfo=UTC)


def chain(n: int, shard: int = 7) -> list[ChainRecord]:
    records, prev = [], GENESIS_HASH
    for seq in range(1, n + 1):
        record = ChainRecord(
            id=f"tx{seq}",
            shard=shard,
            seq=seq,
            kind="mint",
            created_at=T0,
            idempotency_key=None,
            reverses=None,
            refs={"event": f"e{seq}"},
            postings=(("mint:r", shard, -seq), ("user:u:pending", 99, seq)),
            prev_hash=prev,
        )
        record = dataclasses.replace(record, hash=record.computed_hash())
        records.append(record)
        prev = record.hash
    return records


def head(records: list[ChainRecord]) -> tuple[int, str]:
    return (records[-1].seq, records[-1].hash) if records else (0, GENESIS_HASH)


def test_canonical_bytes_are_the_documented_json() -> None:
    record = chain(1)[0]
    expected = (
        '{"created_at":"2026-11-20T01:15:00.000000Z","id":"tx1","idempotency_key":null,"kind":"mint",'
        '"postings":[{"account":"mint:r","energy_g":-1,"shard":7},{"account":"user:u:pending","energy_g":1,'
        '"shard":99}],"prev_hash":"' + GENESIS_HASH + '","refs":{"event":"e1"},"reverses":null,"seq":1,"shard":7}'
    )
    assert record.canonical_bytes() == expected.encode()
    assert record.hash == hashlib.sha256(expected.encode()).hexdigest()


def test_intact_chain_has_no_findings() -> None:
    records = chain(5)
    assert list(verify_shard(7, records, head(records))) == []


def test_changed_amount_is_named() -> None:
    records = chain(5)
    records[2] = dataclasses.replace(records[2], postings=(("mint:r", 7, -300), ("user:u:pending", 99, 300)))
    findings = list(verify_shard(7, records, head(chain(5))))
    assert [(f.code, f.record_id) for f in findings] == [("hash_mismatch", "tx3")]


def test_removed_middle_record_is_a_sequence_gap_at_the_next_one() -> None:
    records = chain(5)
    del records[1]
    findings = list(verify_shard(7, records, head(chain(5))))
    assert [(f.code, f.record_id) for f in findings] == [("sequence_gap", "tx3")]


def test_removed_tail_is_caught_by_the_head() -> None:
    full = chain(5)
    findings = list(verify_shard(7, full[:4], head(full)))
    assert [f.code for f in findings] == ["head_mismatch"]


def test_inserted_record_with_recomputed_hash_breaks_the_next_link() -> None:
    records = chain(3)
    forged = dataclasses.replace(records[1], id="forged", refs={"event": "fake"})
    forged = dataclasses.replace(forged, hash=forged.computed_hash())
    renumbered = [records[0], forged] + [dataclasses.replace(r, seq=r.seq + 1) for r in records[1:]]
    findings = list(verify_shard(7, renumbered, head(records)))
    assert findings[0].code == "broken_link"
    assert findings[0].record_id == "tx2"


def test_empty_shard_with_genesis_head_is_intact() -> None:
    assert list(verify_shard(0, [], None)) == []
    assert list(verify_shard(0, [], (0, GENESIS_HASH))) == []


@given(
    texts=st.lists(st.text(min_size=0, max_size=12), min_size=3, max_size=3),
    refs=st.dictionaries(
        st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs",)), max_size=8),
        st.text(max_size=12),
        max_size=4,
    ),
    grams=st.integers(min_value=-(10**15), max_value=10**15),
    key=st.none() | st.text(max_size=10),
)
def test_jcs_bytes_equal_the_compact_sorted_json_of_the_first_transactions(texts, refs, grams, key) -> None:
    record = ChainRecord(
        id=texts[0],
        shard=3,
        seq=9,
        kind=texts[1],
        created_at=T0,
        idempotency_key=key,
        reverses=None,
        refs=refs,
        postings=((texts[2], 3, grams), ("user:ü:pending", 4, -grams)),
        prev_hash=GENESIS_HASH,
    )
    generic = legacy_json(
        {
            "created_at": "2026-11-20T01:15:00.000000Z",
            "id": texts[0],
            "idempotency_key": key,
            "kind": texts[1],
            "postings": [
                {"account": texts[2], "energy_g": grams, "shard": 3},
                {"account": "user:ü:pending", "energy_g": -grams, "shard": 4},
            ],
            "prev_hash": GENESIS_HASH,
            "refs": refs,
            "reverses": None,
            "seq": 9,
            "shard": 3,
        }
    )
    assert record.canonical_bytes() == generic
