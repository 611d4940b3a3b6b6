"""Accepted events as hashed records: both formats, documented byte for byte."""

from __future__ import annotations

from datetime import UTC, datetime

from greenenergy.ingestion import EventRecord

T0 = datetime(2026, 11, 20, 1, 15, tzinfo=UTC)
COMMON = {
    "source_id": "cainiao",
    "event_id": "cn-1",
    "user_id": "u-42",
    "event_type": "recycling.box",
    "occurred_at": T0,
    "ingested_at": T0,
    "energy_g": 74,
    "rule_ref": "recycling.box@1",
    "explanation": "37 * boxes = 74",
    "ball_id": "b-1",
    "shard": 7,
    "seq": 3,
    "prev_hash": "0" * 64,
}


def test_the_documented_form_of_format_1() -> None:
    record = EventRecord(**COMMON, data={"boxes": 2, "w": 0.5e-6}, transaction_id="t1", format=1)
    assert record.canonical_bytes().decode() == (
        '{"ball_id":"b-1","data":{"boxes":2,"w":5e-07},"energy_g":74,"event_id":"cn-1","event_type":"recycling.box",'
        '"explanation":"37 * boxes = 74","ingested_at":"2026-11-20T01:15:00.000000Z",'
        '"occurred_at":"2026-11-20T01:15:00.000000Z","prev_hash":"' + "0" * 64 + '","rule_ref":"recycling.box@1",'
        '"seq":3,"shard":7,"source_id":"cainiao","transaction_id":"t1","user_id":"u-42"}'
    )


def test_the_documented_form_of_format_2() -> None:
    record = EventRecord(**COMMON, data={"boxes": 2, "w": 0.5e-6}, lane=5)
    assert record.canonical_bytes().decode() == (
        '{"ball_id":"b-1","data":{"boxes":2,"w":5e-7},"energy_g":74,"event_id":"cn-1","event_type":"recycling.box",'
        '"explanation":"37 * boxes = 74","format":2,"ingested_at":"2026-11-20T01:15:00.000000Z","lane":5,'
        '"occurred_at":"2026-11-20T01:15:00.000000Z","prev_hash":"' + "0" * 64 + '","rule_ref":"recycling.box@1",'
        '"seq":3,"shard":7,"source_id":"cainiao","user_id":"u-42"}'
    )


def test_a_changed_field_changes_the_hash_in_both_formats() -> None:
    for extra in ({"format": 1, "transaction_id": "t1"}, {"format": 2, "lane": 1}):
        record = EventRecord(**COMMON, data={"boxes": 2}, **extra)
        altered = EventRecord(**{**COMMON, "energy_g": 75}, data={"boxes": 2}, **extra)
        assert record.computed_hash() != altered.computed_hash()
