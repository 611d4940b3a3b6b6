"""Pure ledger core: drafts, accounts, the overdraft guard, reversals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from greenenergy.errors import InsufficientEnergy, UnbalancedTransaction
from greenenergy.ledger import (
    PostedTransaction,
    Posting,
    TransactionDraft,
    account_shard,
    apply_draft,
    parse_account,
    reversal_of,
    transfer,
    user_account,
)
from greenenergy.units import shard_of


def test_postings_must_sum_to_zero() -> None:
    with pytest.raises(UnbalancedTransaction, match="sum to 1 g"):
        TransactionDraft(kind="mint", shard=0, postings=(Posting("mint:x", -10), Posting("user:u:pending", 11)))


@pytest.mark.parametrize("grams", [1.5, True, 0, 10**16])
def test_postings_are_nonzero_integer_grams(grams: object) -> None:
    with pytest.raises(UnbalancedTransaction):
        TransactionDraft(kind="mint", shard=0, postings=(Posting("mint:x", -grams), Posting("user:u:pending", grams)))  # type: ignore[operator]


def test_unknown_account_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="malformed account"):
        transfer("mint", debit="bank:x", credit="user:u:pending", energy_g=5, shard=0)


def test_user_ids_with_colons_parse_back() -> None:
    name = user_account("a:b", "available")
    parsed = parse_account(name)
    assert (parsed.kind, parsed.owner, parsed.bucket) == ("user", "a:b", "available")
    assert str(parsed) == name


def test_user_accounts_live_in_the_user_shard_and_system_accounts_in_the_transaction_shard() -> None:
    assert account_shard("user:u-42:pending", 3) == shard_of("u-42")
    assert account_shard("mint:recycling.box", 3) == 3
    assert account_shard("pool:p-1", 3) == shard_of("p-1")


def test_guard_refuses_overdraft_and_changes_nothing() -> None:
    balances = {("user:u:available", shard_of("u")): 5}
    draft = transfer("redeem", debit="user:u:available", credit="sink:trees", energy_g=6, shard=shard_of("u"))
    with pytest.raises(InsufficientEnergy, match="user:u:available holds 5 g; 6 g are needed"):
        apply_draft(balances, draft)
    assert balances == {("user:u:available", shard_of("u")): 5}


def test_system_accounts_may_go_negative() -> None:
    balances: dict[tuple[str, int], int] = {}
    apply_draft(balances, transfer("mint", debit="mint:r", credit="user:u:pending", energy_g=7, shard=1))
    assert balances[("mint:r", 1)] == -7
    assert balances[("user:u:pending", shard_of("u"))] == 7


def _posted(draft: TransactionDraft, kind: str = "mint") -> PostedTransaction:
    return PostedTransaction(
        id="t1",
        shard=draft.shard,
        seq=1,
        kind=kind,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        postings=draft.postings,
        refs=draft.refs,
        idempotency_key=None,
        reverses=None,
        prev_hash="0" * 64,
        hash="1" * 64,
    )


def test_reversal_negates_every_posting_and_names_the_original() -> None:
    original = _posted(transfer("mint", debit="mint:r", credit="user:u:pending", energy_g=9, shard=2))
    draft = reversal_of(original)
    assert draft.reverses == "t1"
    assert draft.shard == 2
    assert [(p.account, p.energy_g) for p in draft.postings] == [("mint:r", 9), ("user:u:pending", -9)]


def test_a_reversal_cannot_itself_be_reversed() -> None:
    reversal = _posted(transfer("reversal", debit="user:u:pending", credit="mint:r", energy_g=9, shard=2), "reversal")
    with pytest.raises(UnbalancedTransaction, match="itself a reversal"):
        reversal_of(reversal)
