"""Accepted events as hashed records: what is stored, what is hashed, how to recompute it.

An accepted event is stored with ``shard`` (its user's), ``lane`` and ``seq`` (its place in
the ``events`` chain of that shard and lane), ``prev_hash`` (the hash of the previous event
of the same chain, ``GENESIS_HASH`` for the first) and ``hash``. Changing, removing or
inserting a row breaks a link or the chain's head.

**Format 2** (every event stored since the ledger stopped minting at ingestion): ``hash`` =
SHA-256 of the RFC 8785 (JCS) bytes of::

    {"ball_id": str|null, "data": {...}, "energy_g": int, "event_id": str, "event_type": str,
     "explanation": str, "format": 2, "ingested_at": "...Z", "lane": int, "occurred_at": "...Z",
     "prev_hash": hex, "rule_ref": "id@version", "seq": int, "shard": int, "source_id": str,
     "user_id": str}

(times as ``greenenergy.canonical.format_instant``). The award -- grams, rule version,
explanation and the ball that holds the grams until they are collected, stolen or expire --
is as tamper-evident as the event itself.

**Format 1** (events stored before): the same object without ``format`` and ``lane`` and with
``transaction_id`` (the mint transaction of that time), hashed over Python's compact sorted
JSON (``greenenergy.canonical.legacy_json``); they still verify.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from greenenergy.canonical import format_instant, jcs, jcs_plain, legacy_json, sha256_hex

FORMAT = 2


def data_text(data: Mapping[str, Any]) -> str:
    """The stored (and hashed) JSON text of an event's validated data: its JCS form."""
    for value in data.values():
        if type(value) is float:
            return jcs(dict(data)).decode("utf-8")
    return jcs_plain(data).decode("utf-8")  # declared ASCII names, bounded ints: see new_event_hash


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
    ball_id: str | None
    shard: int
    seq: int
    prev_hash: str
    lane: int = 0
    format: int = FORMAT
    transaction_id: str | None = None  # format 1 only: the mint transaction of that time
    hash: str = ""

    @property
    def id(self) -> str:
        return f"{self.source_id}/{self.event_id}"

    def canonical_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
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
            "user_id": self.user_id,
        }
        if self.format == 1:
            fields["transaction_id"] = self.transaction_id
        else:
            fields["format"] = self.format
            fields["lane"] = self.lane
        return fields

    def canonical_bytes(self) -> bytes:
        fields = self.canonical_fields()
        return legacy_json(fields) if self.format == 1 else jcs(fields)

    def computed_hash(self) -> str:
        return sha256_hex(self.canonical_bytes())


def new_event_hash(fields: dict[str, Any]) -> str:
    """The hash of a new (format 2) event from its canonical ``fields`` (what
    ``EventRecord.canonical_fields`` returns) on the ingestion hot path: the data of a
    validated event holds declared ASCII field names and integers within the rule language's
    bounds, so unless it holds a float (rare: then ``jcs`` itself) it needs no check before
    ``canonical.jcs_plain`` (tests compare the result with RFC 8785)."""
    for value in fields["data"].values():
        if type(value) is float:
            return sha256_hex(jcs(fields))
    return sha256_hex(jcs_plain(fields))
