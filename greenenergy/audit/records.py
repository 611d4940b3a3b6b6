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

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any

from greenenergy.ledger.chain import format_instant, sha256_hex

# One encoder built once: json.dumps with these options builds a new encoder on every call.
_DATA_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _optional(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def data_json(data: Mapping[str, Any]) -> str:
    """Canonical JSON text of an event's validated data: what is stored and what is hashed.

    Exactly ``json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``.
    Validated data is a flat object of str / int / bool / finite float values; those are
    written here directly (what the json module would write, without its per-call set-up),
    anything else goes through the json module itself.
    """
    if not data:
        return "{}"
    parts = []
    for name in sorted(data):
        value = data[name]
        kind = type(value)
        if kind is int:
            text = int.__repr__(value)
        elif kind is str:
            text = encode_basestring(value)
        elif kind is bool:
            text = "true" if value else "false"
        elif kind is float and value == value and value not in (_INF, -_INF):
            text = float.__repr__(value)
        else:
            return _DATA_ENCODER.encode(dict(data))
        if type(name) is not str:
            return _DATA_ENCODER.encode(dict(data))
        parts.append(encode_basestring(name) + ":" + text)
    return "{" + ",".join(parts) + "}"


_INF = float("inf")


def event_canonical_bytes(
    *,
    source_id: str,
    event_id: str,
    user_id: str,
    event_type: str,
    occurred_text: str,
    ingested_text: str,
    data_text: str,
    energy_g: int,
    rule_ref: str,
    explanation: str,
    transaction_id: str | None,
    ball_id: str | None,
    shard: int,
    seq: int,
    prev_hash: str,
) -> bytes:
    """The canonical bytes of one accepted event (module docstring), from its parts.

    Assembled in sorted key order: the same bytes as ``canonical_json(canonical_fields())``
    (tests/unit/test_event_records.py checks it). Times come as ``format_instant`` text and
    the data as ``data_json`` text, so the ingestion hot path formats each once.
    """
    return (
        '{"ball_id":'
        + _optional(ball_id)
        + ',"data":'
        + data_text
        + ',"energy_g":'
        + str(int(energy_g))
        + ',"event_id":'
        + encode_basestring(event_id)
        + ',"event_type":'
        + encode_basestring(event_type)
        + ',"explanation":'
        + encode_basestring(explanation)
        + ',"ingested_at":"'
        + ingested_text
        + '","occurred_at":"'
        + occurred_text
        + '","prev_hash":'
        + encode_basestring(prev_hash)
        + ',"rule_ref":'
        + encode_basestring(rule_ref)
        + ',"seq":'
        + str(int(seq))
        + ',"shard":'
        + str(int(shard))
        + ',"source_id":'
        + encode_basestring(source_id)
        + ',"transaction_id":'
        + _optional(transaction_id)
        + ',"user_id":'
        + encode_basestring(user_id)
        + "}"
    ).encode("utf-8")


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
        return event_canonical_bytes(
            source_id=self.source_id,
            event_id=self.event_id,
            user_id=self.user_id,
            event_type=self.event_type,
            occurred_text=format_instant(self.occurred_at),
            ingested_text=format_instant(self.ingested_at),
            data_text=data_json(self.data),
            energy_g=self.energy_g,
            rule_ref=self.rule_ref,
            explanation=self.explanation,
            transaction_id=self.transaction_id,
            ball_id=self.ball_id,
            shard=self.shard,
            seq=self.seq,
            prev_hash=self.prev_hash,
        )

    def computed_hash(self) -> str:
        return sha256_hex(self.canonical_bytes())
