"""The per-shard hash chain over ledger transactions.

Each stored transaction carries ``prev_hash`` (the hash of the previous transaction *of its
shard*, or ``GENESIS_HASH`` for the first) and ``hash`` = SHA-256 of its canonical bytes,
which include ``prev_hash``. Changing, removing or inserting a row therefore breaks the
link of that row or of the one after it; the per-shard head (last seq and hash) catches a
removed tail.

Canonical bytes of a transaction (documented so anyone can recompute a hash): the RFC 8785
(JCS) bytes (``greenenergy.canonical.jcs``) of::

    {"created_at": "YYYY-MM-DDTHH:MM:SS.ffffffZ", "id": str, "idempotency_key": str|null,
     "kind": str, "postings": [{"account": str, "energy_g": int, "shard": int}, ...],
     "prev_hash": hex, "refs": {str: str}, "reverses": str|null, "seq": int, "shard": int}

Postings keep their stored order. (These records hold no floats, so their JCS bytes are
also the compact sorted JSON the first transactions were hashed over: one format.)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from greenenergy.canonical import format_instant, jcs, sha256_hex

GENESIS_HASH = "0" * 64


def refs_json(refs: Mapping[str, str]) -> str:
    """Canonical JSON text of a transaction's refs (what is stored and what is hashed)."""
    return jcs(dict(refs)).decode("utf-8")


def transaction_fields(
    *,
    transaction_id: str,
    shard: int,
    seq: int,
    kind: str,
    created_text: str,
    idempotency_key: str | None,
    reverses: str | None,
    refs: Mapping[str, str],
    postings: Iterable[tuple[str, int, int]],
    prev_hash: str,
) -> dict[str, Any]:
    """The hashed object of one transaction (module docstring); ``created_text`` is
    ``format_instant(created_at)`` and ``postings`` are ``(account, storage shard, energy_g)``."""
    return {
        "created_at": created_text,
        "id": transaction_id,
        "idempotency_key": idempotency_key,
        "kind": kind,
        "postings": [{"account": a, "energy_g": int(g), "shard": int(s)} for a, s, g in postings],
        "prev_hash": prev_hash,
        "refs": dict(refs),
        "reverses": reverses,
        "seq": int(seq),
        "shard": int(shard),
    }


@dataclass(frozen=True, slots=True)
class ChainRecord:
    """Everything the hash of one transaction covers, plus the hash stored with it."""

    id: str
    shard: int
    seq: int
    kind: str
    created_at: datetime
    idempotency_key: str | None
    reverses: str | None
    refs: Mapping[str, str]
    postings: tuple[tuple[str, int, int], ...]  # (account, storage shard, energy_g)
    prev_hash: str
    hash: str = ""

    def canonical_bytes(self) -> bytes:
        return jcs(
            transaction_fields(
                transaction_id=self.id,
                shard=self.shard,
                seq=self.seq,
                kind=self.kind,
                created_text=format_instant(self.created_at),
                idempotency_key=self.idempotency_key,
                reverses=self.reverses,
                refs=self.refs,
                postings=self.postings,
                prev_hash=self.prev_hash,
            )
        )

    def computed_hash(self) -> str:
        return sha256_hex(self.canonical_bytes())


class Chained(Protocol):
    """Any record kept in a per-shard hash chain (transactions, events, confirmations)."""

    @property
    def id(self) -> str: ...
    @property
    def shard(self) -> int: ...
    @property
    def seq(self) -> int: ...
    @property
    def prev_hash(self) -> str: ...
    @property
    def hash(self) -> str: ...
    def computed_hash(self) -> str: ...


@dataclass(frozen=True, slots=True)
class ChainFinding:
    """One break in a shard's chain; ``record_id`` names the first bad record."""

    code: str
    shard: int
    seq: int | None
    record_id: str | None
    message: str


def verify_shard(
    shard: int,
    records: Iterable[Chained],
    head: tuple[int, str] | None,
    *,
    noun: str = "transaction",
) -> Iterator[ChainFinding]:
    """Check one shard's records, given in ``seq`` order, against its stored head.

    Yields findings in chain order; the first is the first bad record. Stops at the first
    break of the link, since everything after it is unverifiable against the head.
    """
    expected_seq = 1
    prev_hash = GENESIS_HASH
    head_seq, head_hash = head if head is not None else (0, GENESIS_HASH)
    beyond_head: Chained | None = None
    for record in records:
        if record.shard != shard:
            yield ChainFinding(
                "wrong_shard",
                shard,
                record.seq,
                record.id,
                f"{noun} {record.id} stored in shard {shard} claims shard {record.shard}",
            )
            return
        if record.seq != expected_seq:
            what = "missing" if record.seq > expected_seq else "repeated"
            yield ChainFinding(
                "sequence_gap",
                shard,
                record.seq,
                record.id,
                f"shard {shard}: expected seq {expected_seq} but found {record.seq} "
                f"({noun} {record.id}); a record is {what} before it",
            )
            return
        if record.prev_hash != prev_hash:
            yield ChainFinding(
                "broken_link",
                shard,
                record.seq,
                record.id,
                f"{noun} {record.id} (shard {shard}, seq {record.seq}) does not link to the previous {noun}'s hash",
            )
            return
        if record.computed_hash() != record.hash:
            yield ChainFinding(
                "hash_mismatch",
                shard,
                record.seq,
                record.id,
                f"{noun} {record.id} (shard {shard}, seq {record.seq}) was altered: "
                f"its content no longer matches its hash",
            )
            return
        if record.seq == head_seq + 1:
            beyond_head = record
        prev_hash = record.hash
        expected_seq += 1
    last_seq = expected_seq - 1
    if beyond_head is not None:
        yield ChainFinding(
            "beyond_head",
            shard,
            beyond_head.seq,
            beyond_head.id,
            f"{noun} {beyond_head.id} (shard {shard}, seq {beyond_head.seq}) is not covered "
            f"by the shard head (seq {head_seq}): it was inserted after the fact",
        )
    elif (head_seq, head_hash) != (last_seq, prev_hash):
        yield ChainFinding(
            "head_mismatch",
            shard,
            head_seq,
            None,
            f"{noun}s, shard {shard}: head says seq {head_seq} but the chain ends at seq {last_seq}; "
            f"records after seq {last_seq} were removed or the head was altered",
        )
