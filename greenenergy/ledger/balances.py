"""Balances derived from postings, and the guard that keeps user balances non-negative.

Storage keeps a cached balance row per (account, shard) updated in the same commit as the
postings; this module is the rule both storage and the reference model in tests follow.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping

from greenenergy.errors import InsufficientEnergy
from greenenergy.ledger.accounts import is_guarded
from greenenergy.ledger.transactions import TransactionDraft

BalanceKey = tuple[str, int]  # (account, storage shard)


def apply_draft(balances: MutableMapping[BalanceKey, int], draft: TransactionDraft) -> None:
    """Apply ``draft`` to ``balances`` in place, or raise and change nothing.

    Raises ``InsufficientEnergy`` naming the account when a guarded balance would go below 0.
    """
    deltas = draft.deltas()
    for key, delta in deltas.items():
        account = key[0]
        if delta < 0 and is_guarded(account) and balances.get(key, 0) + delta < 0:
            raise InsufficientEnergy(
                f"{account} holds {balances.get(key, 0)} g; {-delta} g are needed",
                account=account,
                balance_g=balances.get(key, 0),
                needed_g=-delta,
            )
    for key, delta in deltas.items():
        balances[key] = balances.get(key, 0) + delta


def totals_by_account(balances: Mapping[BalanceKey, int]) -> dict[str, int]:
    """Sum the per-shard rows of each account (system accounts are split per shard)."""
    out: dict[str, int] = {}
    for (account, _shard), grams in balances.items():
        out[account] = out.get(account, 0) + grams
    return out


def balances_from_postings(rows: Iterable[tuple[str, int, int]]) -> dict[BalanceKey, int]:
    """Recompute balances from (account, shard, energy_g) posting rows."""
    out: dict[BalanceKey, int] = {}
    for account, shard, grams in rows:
        out[(account, shard)] = out.get((account, shard), 0) + grams
    return out
