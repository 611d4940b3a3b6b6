"""The energy ledger: accounts, balanced transactions, balances and the hash chain.

Invariants (proved by tests/property/test_ledger_stateful.py and tests/api/test_ledger_*):
postings are integer grams summing to zero per transaction; guarded (user, pool) balances
never go below zero; a balance equals the sum of its postings; nothing is updated or
deleted, a correction is a reversal; each shard's transactions form a hash chain.
"""

from greenenergy.ledger.accounts import (
    SINK_EXPIRED,
    SINK_TREES,
    AccountName,
    account_shard,
    is_guarded,
    mint_account,
    parse_account,
    pool_account,
    user_account,
)
from greenenergy.ledger.append import LedgerWrite, append
from greenenergy.ledger.balances import apply_draft, balances_from_postings, totals_by_account
from greenenergy.ledger.chain import GENESIS_HASH, ChainFinding, ChainRecord, verify_shard
from greenenergy.ledger.transactions import (
    PostedTransaction,
    Posting,
    TransactionDraft,
    reversal_of,
    transfer,
)

__all__ = [
    "GENESIS_HASH",
    "SINK_EXPIRED",
    "SINK_TREES",
    "AccountName",
    "ChainFinding",
    "ChainRecord",
    "LedgerWrite",
    "PostedTransaction",
    "Posting",
    "TransactionDraft",
    "account_shard",
    "append",
    "apply_draft",
    "balances_from_postings",
    "is_guarded",
    "mint_account",
    "parse_account",
    "pool_account",
    "reversal_of",
    "totals_by_account",
    "transfer",
    "user_account",
    "verify_shard",
]
