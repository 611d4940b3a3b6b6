"""Canonical bytes of an accepted event: the documented JSON, byte for byte."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from greenenergy.audit.records import EventRecord, data_json
from greenenergy.ledger.chain import canonical_json, format_instant

T0 = datetime(2026, 11, 20, 1, 15, tzinfo=UTC)
JSON_SCALARS = st.none() | st.booleans() | st.integers(-(10**12), 10**12) | st.text(max_size=8)


@given(
    texts=st.lists(st.text(max_size=10), min_size=5, max_size=5),
    data=st.dictionaries(st.text(max_size=6), JSON_SCALARS, max_size=4),
    maybe=st.lists(st.none() | st.text(max_size=6), min_size=2, max_size=2),
    grams=st.integers(0, 10**9),
)
def test_hand_assembled_bytes_equal_generic_canonical_json(texts, data, maybe, grams) -> None:
    record = EventRecord(
        source_id=texts[0],
        event_id=texts[1],
        user_id=texts[2],
        event_type=texts[3],
        occurred_at=T0,
        ingested_at=T0,
        data=data,
        energy_g=grams,
        rule_ref="r@1",
        explanation=texts[4],
        transaction_id=maybe[0],
        ball_id=maybe[1],
        shard=7,
        seq=3,
        prev_hash="0" * 64,
    )
    assert record.canonical_bytes() == canonical_json(record.canonical_fields())


def test_the_documented_form() -> None:
    record = EventRecord(
        source_id="cainiao",
        event_id="cn-1",
        user_id="u-42",
        event_type="recycling.box",
        occurred_at=T0,
        ingested_at=T0,
        data={"boxes": 2},
        energy_g=74,
        rule_ref="recycling.box@1",
        explanation="37 * boxes = 74",
        transaction_id="t1",
        ball_id="b-1",
        shard=7,
        seq=3,
        prev_hash="0" * 64,
    )
    assert record.canonical_bytes().decode() == (
        '{"ball_id":"b-1","data":{"boxes":2},"energy_g":74,"event_id":"cn-1","event_type":"recycling.box",'
        '"explanation":"37 * boxes = 74","ingested_at":"2026-11-20T01:15:00.000000Z",'
        '"occurred_at":"2026-11-20T01:15:00.000000Z","prev_hash":"' + "0" * 64 + '","rule_ref":"recycling.box@1",'
        '"seq":3,"shard":7,"source_id":"cainiao","transaction_id":"t1","user_id":"u-42"}'
    )


DATA_VALUES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.lists(st.integers(), max_size=2)
    | st.dictionaries(st.text(max_size=2), st.integers(), max_size=2)
)


@given(data=st.dictionaries(st.text(max_size=6), DATA_VALUES, max_size=5))
def test_data_json_is_the_json_modules_canonical_form(data) -> None:
    # The hand-written fast path for flat scalars must write what json.dumps writes, and
    # anything else (NaN, infinities, nested values, None) must fall back to json itself.
    assert data_json(data) == json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@given(moment=st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 30), timezones=st.timezones()))
def test_format_instant_is_utc_with_microseconds_and_z(moment: datetime) -> None:
    assert format_instant(moment) == moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
