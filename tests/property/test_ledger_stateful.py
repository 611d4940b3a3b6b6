"""Hypothesis stateful test of the stored ledger (SQLite, and PostgreSQL in the db pass).

Random sequences of mint / transfer / spend / reverse / idempotent re-post / concurrent
debits run against the real database beside a plain dict model. After every step: each
transaction's postings sum to zero, no guarded balance is negative, every cached balance
equals the sum of its postings and equals the model. At the end, the hash chain verifies.
"""

from __future__ import annotations

import threading
import uuid

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import text

from greenenergy.db.engine import read_tx
from greenenergy.errors import InsufficientEnergy
from greenenergy.ledger import PostedTransaction, transfer, user_account
from greenenergy.services import ledger
from greenenergy.services.audit.verify import verify
from greenenergy.services.runtime import Runtime
from greenenergy.units import shard_of

GRAMS = st.integers(min_value=1, max_value=500)


def make_machine(runtime: Runtime) -> type[RuleBasedStateMachine]:
    class LedgerMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            run = uuid.uuid4().hex[:8]  # each example has its own users and mint account
            self.users = [f"p{run}-{n}" for n in range(4)]
            self.mint = f"mint:prop-{run}"
            self.model: dict[str, int] = {}
            self.posted: list[PostedTransaction] = []
            self.reversed: set[str] = set()
            self.keys: dict[str, str] = {}

        def available(self, index: int) -> str:
            return user_account(self.users[index % len(self.users)], "available")

        def _post(self, draft) -> bool:
            deltas = {}
            for posting in draft.postings:
                deltas[posting.account] = deltas.get(posting.account, 0) + posting.energy_g
            would_overdraw = any(a.startswith("user:") and self.model.get(a, 0) + d < 0 for a, d in deltas.items())
            try:
                posted = ledger.post_one(runtime, draft)
            except InsufficientEnergy:
                assert would_overdraw, f"refused although the model allows it: {deltas}"
                return False
            assert not would_overdraw, f"accepted an overdraft: {deltas}"
            for account, delta in deltas.items():
                self.model[account] = self.model.get(account, 0) + delta
            self.posted.append(posted)
            return True

        @rule(who=st.integers(0, 3), grams=GRAMS)
        def mint_energy(self, who: int, grams: int) -> None:
            account = self.available(who)
            self._post(
                transfer("mint", debit=self.mint, credit=account, energy_g=grams, shard=shard_of(self.users[who]))
            )

        @rule(giver=st.integers(0, 3), taker=st.integers(0, 3), grams=GRAMS)
        def transfer_between_users(self, giver: int, taker: int, grams: int) -> None:
            if giver == taker:
                return
            self._post(
                transfer(
                    "water",
                    debit=self.available(giver),
                    credit=self.available(taker),
                    energy_g=grams,
                    shard=shard_of(self.users[giver]),
                )
            )

        @rule(who=st.integers(0, 3), grams=GRAMS)
        def spend(self, who: int, grams: int) -> None:
            self._post(
                transfer(
                    "redeem",
                    debit=self.available(who),
                    credit="sink:trees",
                    energy_g=grams,
                    shard=shard_of(self.users[who]),
                )
            )

        @precondition(lambda self: self.posted)
        @rule(data=st.data())
        def reverse_one(self, data: st.DataObject) -> None:
            original = data.draw(st.sampled_from([p for p in self.posted if p.kind != "reversal"] or self.posted))
            if original.kind == "reversal":
                return
            if original.id in self.reversed:
                again = ledger.reverse(runtime, original.id)
                assert again.reverses == original.id  # the first reversal, nothing moves
                return
            deltas = {p.account: -p.energy_g for p in original.postings}
            would_overdraw = any(a.startswith("user:") and self.model.get(a, 0) + d < 0 for a, d in deltas.items())
            try:
                posted = ledger.reverse(runtime, original.id)
            except InsufficientEnergy:
                assert would_overdraw
                return
            assert not would_overdraw
            for account, delta in deltas.items():
                self.model[account] = self.model.get(account, 0) + delta
            self.reversed.add(original.id)
            self.posted.append(posted)

        @rule(who=st.integers(0, 3), grams=GRAMS, key=st.sampled_from(["a", "b", "c"]))
        def keyed_mint(self, who: int, grams: int, key: str) -> None:
            full_key = f"{self.mint}:{key}"
            draft = transfer(
                "mint",
                debit=self.mint,
                credit=self.available(who),
                energy_g=grams,
                shard=shard_of(self.users[who]),
                idempotency_key=full_key,
            )
            if full_key in self.keys:
                assert ledger.post_one(runtime, draft).id == self.keys[full_key]  # nothing moves
                return
            self._post(draft)
            self.keys[full_key] = self.posted[-1].id

        @rule(who=st.integers(0, 3), grams=st.integers(1, 60), threads=st.integers(2, 6))
        def concurrent_debits(self, who: int, grams: int, threads: int) -> None:
            account = self.available(who)
            expected = min(threads, self.model.get(account, 0) // grams)
            successes: list[PostedTransaction] = []
            lock = threading.Lock()
            barrier = threading.Barrier(threads)

            def debit() -> None:
                barrier.wait()
                try:
                    posted = ledger.post_one(
                        runtime,
                        transfer(
                            "redeem",
                            debit=account,
                            credit="sink:trees",
                            energy_g=grams,
                            shard=shard_of(self.users[who]),
                        ),
                    )
                except InsufficientEnergy:
                    return
                with lock:
                    successes.append(posted)

            workers = [threading.Thread(target=debit) for _ in range(threads)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            assert len(successes) == expected
            self.model[account] = self.model.get(account, 0) - grams * expected
            self.model["sink:trees"] = self.model.get("sink:trees", 0) + grams * expected
            self.posted.extend(successes)

        @invariant()
        def database_agrees_with_model(self) -> None:
            accounts = [user_account(u, "available") for u in self.users]
            with read_tx(runtime.engine) as connection:
                unbalanced = connection.execute(
                    text("SELECT transaction_id FROM ledger_postings GROUP BY transaction_id HAVING SUM(energy_g) <> 0")
                ).all()
                assert unbalanced == []
                negative = connection.execute(text("SELECT account FROM ledger_balances WHERE balance_g < 0")).all()
                assert negative == []
                for account in accounts:
                    cached = connection.execute(
                        text("SELECT COALESCE(SUM(balance_g), 0) FROM ledger_balances WHERE account = :a"),
                        {"a": account},
                    ).scalar_one()
                    summed = connection.execute(
                        text("SELECT COALESCE(SUM(energy_g), 0) FROM ledger_postings WHERE account = :a"),
                        {"a": account},
                    ).scalar_one()
                    assert cached == summed == self.model.get(account, 0), account
                minted = connection.execute(
                    text("SELECT COALESCE(SUM(energy_g), 0) FROM ledger_postings WHERE account = :a"), {"a": self.mint}
                ).scalar_one()
                assert minted == self.model.get(self.mint, 0)

        def teardown(self) -> None:
            report = verify(runtime)
            assert report.ok, report.findings

    return LedgerMachine


def test_ledger_invariants_hold_under_random_operations(runtime: Runtime) -> None:
    run_state_machine_as_test(
        make_machine(runtime),
        settings=settings(max_examples=25, stateful_step_count=20, deadline=None),
    )
