"""Canonical records of the hash chains other than the ledger's: accepted events.

An accepted event is stored with ``shard``, ``seq`` (its place in the shard's ``events``
chain), ``prev_hash`` and ``hash`` = SHA-256 of its canonical bytes: the UTF-8 of compact
sorted-key JSON of::

    {"data": {...}, "energy_g": int, "event_id": str, "event_type": str,
     "explanation": str, "ball_id": str|null, "ingested_at": "...Z", "occurred_at": "...Z",
     "prev_hash": hex, "rule_ref": "id@version", "seq": int, "shard": int,
     "source_id": str, "transaction_id": str|null, "user_id": str}

so the award (grams, rule version, explanation) is as tamper-evident as the event itself.
Times are ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (greenenergy.ledger.chain.format_instant).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from json.encoder import encode_basestring  # type: ignore[attr-defined]

from greenenergy.ledger.chain import canonical_json, format_instant, sha256_hex


def _optional(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


@dataclass(frozen=True, slots=True)
class EventRecord:
    source_id: str
    event_id: str
    user_id: str
    event_type: str
    occurred_at: datetime
    ingested_at: datetime
    data: Mapping[str, Any]
    energy_g: int
    rule_ref: str
    explanation: str
    transaction_id: str | None
    ball_id: str | None
    shard: int
    seq: int
    prev_hash: str
    hash: str = ""

    @property
    def id(self) -> str:
        return f"{self.source_id}/{self.event_id}"

    def canonical_fields(self) -> dict[str, Any]:
        return {
            "ball_id": self.ball_id,
            "data": dict(self.data),
            "energy_g": self.energy_g,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "explanation": self.explanation,
            "ingested_at": format_instant(self.ingested_at),
            "occurred_at": format_instant(self.occurred_at),
            "prev_hash": self.prev_hash,
            "rule_ref": self.rule_ref,
            "seq": self.seq,
            "shard": self.shard,
            "source_id": self.source_id,
            "transaction_id": self.transaction_id,
            "user_id": self.user_id,
        }

    def canonical_bytes(self) -> bytes:
        # Assembled in sorted key order: the same bytes as canonical_json(canonical_fields())
        # (tests/unit/test_event_records.py checks it), cheaper on the ingestion hot path.
        text = (
            '{"ball_id":' + _optional(self.ball_id) + ',"data":' + canonical_json(dict(self.data)).decode("utf-8")
            + ',"energy_g":' + str(int(self.energy_g)) + ',"event_id":' + encode_basestring(self.event_id)
            + ',"event_type":' + encode_basestring(self.event_type)
            + ',"explanation":' + encode_basestring(self.explanation)
            + ',"ingested_at":"' + format_instant(self.ingested_at) + '","occurred_at":"'
            + format_instant(self.occurred_at) + '","prev_hash":' + encode_basestring(self.prev_hash)
            + ',"rule_ref":' + encode_basestring(self.rule_ref) + ',"seq":' + str(int(self.seq))
            + ',"shard":' + str(int(self.shard)) + ',"source_id":' + encode_basestring(self.source_id)
            + ',"transaction_id":' + _optional(self.transaction_id) + ',"user_id":' + encode_basestring(self.user_id)
            + "}"
        )
        return text.encode("utf-8")

    def computed_hash(self) -> str:
        return sha256_hex(self.canonical_bytes())
