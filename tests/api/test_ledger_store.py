"""The stored ledger on SQLite and PostgreSQL: chain, balances, idempotency, reversals."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text

from greenenergy.db import ledger_repo
from greenenergy.db.engine import read_tx, write_tx
from greenenergy.db.tables import LedgerTransaction
from greenenergy.errors import InsufficientEnergy
from greenenergy.ledger import GENESIS_HASH, Posting, TransactionDraft, transfer, user_account
from greenenergy.services import ledger
from greenenergy.services.audit.verify import verify
from greenenergy.services.runtime import Runtime
from greenenergy.units import shard_of


def mint(user: str, grams: int, key: str | None = None) -> TransactionDraft:
    return transfer(
        "mint",
        debit="mint:test",
        credit=user_account(user, "available"),
        energy_g=grams,
        shard=shard_of(user),
        refs={"event": f"e-{user}-{grams}"},
        idempotency_key=key,
    )


def test_posted_transactions_chain_per_shard(runtime: Runtime) -> None:
    first, second = ledger.post(runtime, [mint("u-1", 10), mint("u-1", 20)])
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    other = ledger.post_one(runtime, mint("u-2", 5))
    if shard_of("u-2") != shard_of("u-1"):
        assert other.seq == 1  # another shard's chain starts on its own
    assert verify(runtime).ok


def test_balances_are_cached_in_the_same_commit_and_match_postings(runtime: Runtime) -> None:
    ledger.post(runtime, [mint("u-1", 10), mint("u-1", 32)])
    ledger.post_one(
        runtime,
        transfer(
            "redeem", debit=user_account("u-1", "available"), credit="sink:trees", energy_g=12, shard=shard_of("u-1")
        ),
    )
    assert ledger.balance(runtime, user_account("u-1", "available")) == 30
    assert ledger.balance(runtime, "mint:test") == -42
    assert ledger.balance(runtime, "sink:trees") == 12
    assert verify(runtime).ok


def test_system_accounts_are_split_per_shard_and_summed_on_read(runtime: Runtime) -> None:
    users = ["u-1", "u-2", "u-3", "u-4", "u-5"]
    assert len({shard_of(u) for u in users}) > 1
    ledger.post(runtime, [mint(u, 3) for u in users])
    with read_tx(runtime.engine) as connection:
        shards = (
            connection.execute(text("SELECT DISTINCT shard FROM ledger_postings WHERE account = 'mint:test'"))
            .scalars()
            .all()
        )
    assert sorted(shards) == sorted({shard_of(u) for u in users})
    assert ledger.balance(runtime, "mint:test") == -15


def test_overdraft_is_refused_naming_the_account_and_nothing_changes(runtime: Runtime) -> None:
    ledger.post_one(runtime, mint("u-1", 10))
    spend = transfer(
        "redeem", debit=user_account("u-1", "available"), credit="sink:trees", energy_g=11, shard=shard_of("u-1")
    )
    with pytest.raises(InsufficientEnergy, match="user:u-1:available"):
        ledger.post_one(runtime, spend)
    assert ledger.balance(runtime, user_account("u-1", "available")) == 10
    with read_tx(runtime.engine) as connection:
        count = connection.execute(select(LedgerTransaction.__table__.c.id)).all()
    assert len(count) == 1


def test_a_batch_is_all_or_nothing_even_for_a_transient_overdraft(runtime: Runtime) -> None:
    # Spend first, earn second: the net is fine, but the first transaction alone overdraws.
    account = user_account("u-1", "available")
    spend = transfer("redeem", debit=account, credit="sink:trees", energy_g=5, shard=shard_of("u-1"))
    with pytest.raises(InsufficientEnergy):
        ledger.post(runtime, [spend, mint("u-1", 5)])
    assert ledger.balance(runtime, account) == 0
    assert verify(runtime).transactions == 0


def test_same_idempotency_key_returns_the_first_transaction(runtime: Runtime) -> None:
    first = ledger.post_one(runtime, mint("u-1", 10, key="k-1"))
    again = ledger.post_one(runtime, mint("u-1", 10, key="k-1"))
    assert again.id == first.id
    within = ledger.post(runtime, [mint("u-1", 7, key="k-2"), mint("u-1", 7, key="k-2")])
    assert within[0].id == within[1].id
    assert ledger.balance(runtime, user_account("u-1", "available")) == 17


def test_reversal_names_the_original_and_restores_balances(runtime: Runtime) -> None:
    original = ledger.post_one(runtime, mint("u-1", 40))
    reversal = ledger.reverse(runtime, original.id)
    assert reversal.reverses == original.id
    assert reversal.kind == "reversal"
    assert ledger.balance(runtime, user_account("u-1", "available")) == 0
    assert ledger.reverse(runtime, original.id).id == reversal.id  # reversing twice: the first reversal
    assert verify(runtime).ok


def test_reversal_that_would_overdraw_is_refused(runtime: Runtime) -> None:
    original = ledger.post_one(runtime, mint("u-1", 40))
    ledger.post_one(
        runtime,
        transfer(
            "redeem", debit=user_account("u-1", "available"), credit="sink:trees", energy_g=30, shard=shard_of("u-1")
        ),
    )
    with pytest.raises(InsufficientEnergy):
        ledger.reverse(runtime, original.id)


def test_there_is_no_update_path_the_repository_only_appends(runtime: Runtime) -> None:
    package = Path(ledger_repo.__file__).resolve().parents[1]
    for path in package.rglob("*.py"):
        source = path.read_text()
        for forbidden in (
            "update(TX)",
            "update(POSTINGS)",
            "delete(TX)",
            "delete(POSTINGS)",
            "UPDATE ledger_transactions",
            "UPDATE ledger_postings",
            "DELETE FROM ledger_",
        ):
            assert forbidden not in source, f"{path} has a write path that edits the ledger: {forbidden}"
    ledger.post_one(runtime, mint("u-1", 1))
    with write_tx(runtime.engine) as connection:
        posted = ledger_repo.post_transactions(
            connection,
            [
                TransactionDraft(
                    kind="mint",
                    shard=shard_of("u-1"),
                    postings=(Posting("mint:test", -2), Posting(user_account("u-1", "available"), 2)),
                )
            ],
            now=runtime.clock.now(),
        )
    assert posted[0].seq == 2
