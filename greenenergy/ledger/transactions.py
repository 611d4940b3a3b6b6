"""Ledger transactions: immutable records of energy moving between accounts.

A transaction has a ``kind`` (mint, collect, steal, water, expire, redeem, reversal, ...),
references to what caused it (event, ball, tree), optional idempotency key, and postings in
integer grams that sum to zero. Nothing updates or deletes a transaction: a correction is a
``reversal`` that names the transaction it reverses and negates its postings.

``TransactionDraft`` is what a service asks for; storage turns it into a chained record
(``shard``, ``seq``, ``prev_hash``, ``hash``; see ``chain``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from greenenergy.errors import UnbalancedTransaction
from greenenergy.ledger.accounts import account_shard
from greenenergy.units import SHARD_COUNT

MAX_POSTING_G = 10**15  # far above any real amount; keeps every sum inside a signed 64-bit integer
MAX_REF_LENGTH = 200


@dataclass(frozen=True, slots=True)
class Posting:
    account: str
    energy_g: int


@dataclass(frozen=True, slots=True)
class TransactionDraft:
    kind: str
    shard: int
    postings: tuple[Posting, ...]
    refs: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    idempotency_key: str | None = None
    reverses: str | None = None

    posting_shards: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        validate_draft(self)
        # The storage shard of each posting, computed once (account names are parsed here).
        object.__setattr__(self, "posting_shards", tuple(account_shard(p.account, self.shard) for p in self.postings))

    def deltas(self) -> dict[tuple[str, int], int]:
        """Net grams per (account, storage shard)."""
        out: dict[tuple[str, int], int] = {}
        for posting, shard in zip(self.postings, self.posting_shards, strict=True):
            key = (posting.account, shard)
            out[key] = out.get(key, 0) + posting.energy_g
        return out


@dataclass(frozen=True, slots=True)
class PostedTransaction:
    """A stored transaction as read back from the ledger."""

    id: str
    shard: int
    seq: int
    kind: str
    created_at: datetime
    postings: tuple[Posting, ...]
    refs: Mapping[str, str]
    idempotency_key: str | None
    reverses: str | None
    prev_hash: str
    hash: str


def validate_draft(draft: TransactionDraft) -> None:
    """Refuse a draft that could break an invariant; these are programming errors."""
    if not draft.kind or not draft.kind.replace("_", "").isalnum():
        raise UnbalancedTransaction(f"transaction kind must be a snake_case word, got {draft.kind!r}")
    if isinstance(draft.shard, bool) or not isinstance(draft.shard, int) or not 0 <= draft.shard < SHARD_COUNT:
        raise UnbalancedTransaction(f"shard must be an int in 0..{SHARD_COUNT - 1}, got {draft.shard!r}")
    if not draft.postings:
        raise UnbalancedTransaction("a transaction needs at least two postings")
    total = 0
    for posting in draft.postings:
        grams = posting.energy_g
        if isinstance(grams, bool) or not isinstance(grams, int):
            raise UnbalancedTransaction(f"posting to {posting.account} is not integer grams: {grams!r}")
        if grams == 0 or abs(grams) > MAX_POSTING_G:
            raise UnbalancedTransaction(f"posting to {posting.account} must be non-zero and at most {MAX_POSTING_G} g")
        total += grams
    if total != 0:
        raise UnbalancedTransaction(f"postings sum to {total} g, not 0")
    for key, value in draft.refs.items():
        if not isinstance(key, str) or not isinstance(value, str) or len(value) > MAX_REF_LENGTH:
            raise UnbalancedTransaction(f"reference {key!r} must be a string of at most {MAX_REF_LENGTH} characters")


def transfer(
    kind: str,
    *,
    debit: str,
    credit: str,
    energy_g: int,
    shard: int,
    refs: Mapping[str, str] | None = None,
    idempotency_key: str | None = None,
) -> TransactionDraft:
    """Move ``energy_g`` from ``debit`` to ``credit`` (two postings)."""
    return TransactionDraft(
        kind=kind,
        shard=shard,
        postings=(Posting(debit, -energy_g), Posting(credit, energy_g)),
        refs=MappingProxyType(dict(refs or {})),
        idempotency_key=idempotency_key,
    )


def reversal_of(original: PostedTransaction, *, idempotency_key: str | None = None) -> TransactionDraft:
    """The draft that undoes ``original``: same accounts, negated amounts, same shard."""
    if original.kind == "reversal":
        raise UnbalancedTransaction(f"transaction {original.id} is itself a reversal; post a new transaction instead")
    return TransactionDraft(
        kind="reversal",
        shard=original.shard,
        postings=tuple(Posting(p.account, -p.energy_g) for p in original.postings),
        refs=MappingProxyType({"reverses": original.id}),
        idempotency_key=idempotency_key,
        reverses=original.id,
    )
