"""Ledger use cases: post transactions, reverse one, read balances and history.

Each function owns its database transaction. An idempotency-key race between two writers
on PostgreSQL surfaces as a unique-key violation on commit; ``in_write_tx`` runs the loser
again, and it then finds the winner's transaction, so both callers get the same answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from greenenergy.db import ledger_repo
from greenenergy.db.engine import in_write_tx, read_tx
from greenenergy.errors import Conflict, InvalidInput, NotFound
from greenenergy.ledger import PostedTransaction, TransactionDraft, reversal_of, user_account
from greenenergy.services.runtime import Runtime


def post(runtime: Runtime, drafts: Sequence[TransactionDraft]) -> list[PostedTransaction]:
    """Post ``drafts`` atomically (all or none) and return the stored transactions."""
    now = runtime.clock.now()
    return in_write_tx(runtime.engine, lambda tx: ledger_repo.post_transactions(tx, drafts, now=now))


def post_one(runtime: Runtime, draft: TransactionDraft) -> PostedTransaction:
    return post(runtime, [draft])[0]


def reverse(runtime: Runtime, transaction_id: str) -> PostedTransaction:
    """Post the reversal of ``transaction_id``; reversing twice returns the first reversal."""
    with read_tx(runtime.engine) as connection:
        original = ledger_repo.get_transaction(connection, transaction_id)
    if original is None:
        raise NotFound(f"no ledger transaction {transaction_id}", code="transaction_not_found")
    if original.kind == "reversal":
        raise Conflict(f"transaction {transaction_id} is a reversal and cannot be reversed", code="not_reversible")
    return post_one(runtime, reversal_of(original, idempotency_key=f"reversal:{transaction_id}"))


def balance(runtime: Runtime, account: str) -> int:
    with read_tx(runtime.engine) as connection:
        return ledger_repo.account_total(connection, account)


MAX_HISTORY_LIMIT = 500


@dataclass(frozen=True)
class HistoryItem:
    """One posting to one of the user's accounts, with its transaction."""

    transaction_id: str
    kind: str
    energy_g: int
    account: str
    created_at: datetime
    refs: dict[str, str]


def user_history(runtime: Runtime, user_id: str, *, limit: int = 50, after: str | None = None) -> list[HistoryItem]:
    """The user's ledger history, newest first: one item per posting to the user's accounts.

    ``limit`` counts transactions (a transaction touching both of the user's accounts, such
    as a collect, yields two items); ``after`` is a ``transaction_id`` from the previous
    page: the page continues with strictly older transactions. A cursor must be one of this
    user's transactions: any other id (unknown, or another user's) is the same 404, which
    also tells nothing about other users' transactions.
    """
    if not 1 <= limit <= MAX_HISTORY_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_HISTORY_LIMIT}", code="invalid_limit")
    accounts = [user_account(user_id, "pending"), user_account(user_id, "available")]
    with read_tx(runtime.engine) as connection:
        before = None
        if after is not None:
            cursor = ledger_repo.get_transaction(connection, after)
            if cursor is None or not any(p.account in accounts for p in cursor.postings):
                raise NotFound(
                    f"no transaction {after!r} in the history of user {user_id} to continue after",
                    code="transaction_not_found",
                )
            before = (cursor.created_at, after)
        pages = ledger_repo.history(connection, accounts, limit=limit, before=before)
    return [
        HistoryItem(tx.id, tx.kind, posting.energy_g, posting.account, tx.created_at, dict(tx.refs))
        for tx, postings in pages
        for _idx, posting in postings
    ]
