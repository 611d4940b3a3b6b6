"""Appending transactions to the ledger, decided on values: the pure half of every posting.

A use case that moves energy decides its ``TransactionDraft``s, then ``append`` turns them
into what storage writes, given what storage read under lock: the heads of the chains the
drafts append to (``{shard: (seq, hash)}``) and the current balances of the guarded accounts
they touch (``{(account, shard): grams}``, a missing key holds 0).

``append`` chains each draft to its shard (seq, ``prev_hash``, ``hash``), lists the posting
rows, and replays the guarded balances draft after draft, refusing -- with nothing appended
-- any sequence in which a user or pool balance would go below zero, even for a moment
(``InsufficientEnergy``, naming the account). ``needs`` says which heads and balances a set
of drafts reads, so a shell can load exactly those.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from greenenergy.canonical import format_instant, jcs, sha256_hex
from greenenergy.errors import InsufficientEnergy
from greenenergy.ledger.accounts import is_guarded
from greenenergy.ledger.chain import transaction_fields
from greenenergy.ledger.transactions import PostedTransaction, TransactionDraft

BalanceKey = tuple[str, int]  # (account, storage shard)


@dataclass(frozen=True, slots=True)
class LedgerWrite:
    """Everything ``append`` decided: what storage inserts and updates, in one commit."""

    transactions: list[PostedTransaction]
    postings: list[tuple[str, int, str, int, int]]  # (transaction id, idx, account, shard, energy_g)
    balances: dict[BalanceKey, int]  # new absolute values of the guarded balances touched
    heads: dict[int, tuple[int, str]]  # new (seq, hash) of each shard appended to

    @property
    def ids(self) -> list[str]:
        return [tx.id for tx in self.transactions]


EMPTY = LedgerWrite([], [], {}, {})


def needs(drafts: Iterable[TransactionDraft]) -> tuple[list[int], list[BalanceKey]]:
    """The shards whose heads and the guarded balances that appending ``drafts`` reads."""
    shards: set[int] = set()
    keys: set[BalanceKey] = set()
    for draft in drafts:
        shards.add(draft.shard)
        keys.update(key for key in draft.deltas() if is_guarded(key[0]))
    return sorted(shards), sorted(keys)


def append(
    drafts: Sequence[TransactionDraft],
    *,
    heads: Mapping[int, tuple[int, str]],
    balances: Mapping[BalanceKey, int],
    now: datetime,
    ids: Sequence[str],
) -> LedgerWrite:
    """Chain ``drafts`` (in order) onto ``heads``; see the module docstring."""
    if not drafts:
        return EMPTY
    if len(ids) != len(drafts):
        raise ValueError(f"{len(drafts)} drafts need as many transaction ids, got {len(ids)}")
    running = dict(balances)
    touched: set[BalanceKey] = set()
    for draft in drafts:
        for key, delta in draft.deltas().items():
            if not is_guarded(key[0]):
                continue
            held = running.get(key, 0)
            if held + delta < 0:
                raise InsufficientEnergy(
                    f"{key[0]} holds {held} g; {-delta} g are needed",
                    accounts=[key[0]],
                    balance_g=held,
                    needed_g=-delta,
                )
            running[key] = held + delta
            touched.add(key)
    created_text = format_instant(now)
    new_heads = dict(heads)
    transactions: list[PostedTransaction] = []
    postings: list[tuple[str, int, str, int, int]] = []
    for draft, transaction_id in zip(drafts, ids, strict=True):
        seq, prev_hash = new_heads[draft.shard]
        seq += 1
        rows = tuple(
            (p.account, shard, p.energy_g) for p, shard in zip(draft.postings, draft.posting_shards, strict=True)
        )
        digest = sha256_hex(
            jcs(
                transaction_fields(
                    transaction_id=transaction_id,
                    shard=draft.shard,
                    seq=seq,
                    kind=draft.kind,
                    created_text=created_text,
                    idempotency_key=draft.idempotency_key,
                    reverses=draft.reverses,
                    refs=draft.refs,
                    postings=rows,
                    prev_hash=prev_hash,
                )
            )
        )
        new_heads[draft.shard] = (seq, digest)
        transactions.append(
            PostedTransaction(
                id=transaction_id,
                shard=draft.shard,
                seq=seq,
                kind=draft.kind,
                created_at=now,
                postings=draft.postings,
                refs=draft.refs,
                idempotency_key=draft.idempotency_key,
                reverses=draft.reverses,
                prev_hash=prev_hash,
                hash=digest,
            )
        )
        postings.extend(
            (transaction_id, idx, account, shard, grams) for idx, (account, shard, grams) in enumerate(rows)
        )
    return LedgerWrite(
        transactions=transactions,
        postings=postings,
        balances={key: running[key] for key in sorted(touched)},
        heads={shard: new_heads[shard] for shard in sorted({d.shard for d in drafts})},
    )
