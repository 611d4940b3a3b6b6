"""The stored ledger on SQLite and PostgreSQL: chain, balances, idempotency, reversals."""

from __future__ import annotations

from datetime import UTC
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


def _ledger_rows(connection) -> tuple[list, ...]:
    return tuple(
        connection.execute(text(sql)).all()
        for sql in (
            "SELECT * FROM ledger_transactions ORDER BY id",
            "SELECT * FROM ledger_postings ORDER BY transaction_id, idx",
            "SELECT * FROM ledger_balances ORDER BY account, shard",
            "SELECT * FROM chain_heads WHERE chain = 'ledger' ORDER BY shard",
        )
    )


class _Rollback(Exception):
    pass


def test_post_mints_stores_exactly_what_post_transactions_stores_for_the_same_mints(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ingestion hot path's mints: the same rows, hashes, balances and heads, byte for byte."""
    from datetime import datetime

    from greenenergy.ledger import Mint, mint_draft

    ledger.post_one(runtime, mint("u-1", 7))  # a chain and a balance that already exist
    mints = [
        Mint(u, shard_of(u), rule, grams, f"src/e-{n}", f"{rule}@1", f"b-{n:032x}")
        for n, (u, rule, grams) in enumerate(
            [
                ("u-1", "walking.steps", 20),
                ("u-2", "recycling.box", 74),
                ("u-1", "walking.steps", 5),
                ("u-3", "payment.offline", 5),
            ]
        )
    ]
    now = datetime(2026, 11, 20, 2, 0, 0, 123456, tzinfo=UTC)

    def stored_by(post) -> tuple[list, tuple]:
        counter = iter(range(10**6))
        monkeypatch.setattr(
            ledger_repo, "new_transaction_ids", lambda count: [f"{next(counter):032x}" for _ in range(count)]
        )
        try:
            with write_tx(runtime.engine) as connection:
                ids = post(connection)
                rows = _ledger_rows(connection)
                raise _Rollback
        except _Rollback:
            return ids, rows

    fast_ids, fast = stored_by(lambda c: ledger_repo.post_mints(c, mints, now=now))
    general_ids, general = stored_by(
        lambda c: [tx.id for tx in ledger_repo.post_transactions(c, [mint_draft(m) for m in mints], now=now)]
    )
    assert fast_ids == general_ids
    assert fast == general
    assert len(fast[0]) == 1 + len(mints)
    with write_tx(runtime.engine) as connection:
        ledger_repo.post_mints(connection, mints, now=now)
    assert verify(runtime).ok


def test_post_mints_refuses_what_a_draft_would_refuse(runtime: Runtime) -> None:
    from datetime import datetime

    from greenenergy.errors import UnbalancedTransaction
    from greenenergy.ledger import Mint

    now = datetime(2026, 11, 20, tzinfo=UTC)
    bad = [
        Mint("u-1", shard_of("u-1"), "walking", 0, "s/e", "walking@1", "b-1"),
        Mint("u-1", shard_of("u-1"), "walking", 2.5, "s/e", "walking@1", "b-1"),  # type: ignore[arg-type]
        Mint("u-1", (shard_of("u-1") + 1) % 256, "walking", 5, "s/e", "walking@1", "b-1"),
        Mint("u-1", shard_of("u-1"), "walking", 5, "s/" + "e" * 300, "walking@1", "b-1"),
    ]
    for bad_mint in bad:
        with pytest.raises(UnbalancedTransaction), write_tx(runtime.engine) as connection:
            ledger_repo.post_mints(connection, [bad_mint], now=now)
    with read_tx(runtime.engine) as connection:
        assert _ledger_rows(connection)[0] == []
