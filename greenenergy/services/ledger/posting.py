"""Ledger use cases: post transactions, reverse one, read balances and history.

Each function owns its database transaction. An idempotency-key race between two writers
on PostgreSQL surfaces as a unique-key violation on commit; the loser retries once and
then finds the winner's transaction, so both callers get the same answer.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError

from greenenergy.db import ledger_repo
from greenenergy.db.engine import read_tx, write_tx
from greenenergy.errors import Conflict, InvalidInput, NotFound
from greenenergy.ledger import PostedTransaction, TransactionDraft, reversal_of, user_account
from greenenergy.services.runtime import Runtime

RETRIES_ON_KEY_RACE = 2


def post(runtime: Runtime, drafts: Sequence[TransactionDraft]) -> list[PostedTransaction]:
    """Post ``drafts`` atomically (all or none) and return the stored transactions."""
    for attempt in range(RETRIES_ON_KEY_RACE + 1):
        try:
            with write_tx(runtime.engine) as connection:
                return ledger_repo.post_transactions(connection, drafts, now=runtime.clock.now())
        except IntegrityError:
            keyed = any(d.idempotency_key for d in drafts)
            if not keyed or attempt == RETRIES_ON_KEY_RACE:
                raise
    raise AssertionError("unreachable")


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


def user_history(
    runtime: Runtime, user_id: str, *, limit: int = 50, after: str | None = None
) -> list[dict[str, object]]:
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
    items: list[dict[str, object]] = []
    for tx, postings in pages:
        for _idx, posting in postings:
            items.append(
                {
                    "transaction_id": tx.id,
                    "kind": tx.kind,
                    "energy_g": posting.energy_g,
                    "account": posting.account,
                    "created_at": tx.created_at,
                    "refs": dict(tx.refs),
                }
            )
    return items
