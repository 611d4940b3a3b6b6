"""The planting use cases decided on values, without a database: redeem, confirmations (one
and a batch), survival, pools, the overdue marks.

Catalog (conftest): a-01 offers saxaul 3 and fir 1; a-02 offers saxaul 3 (both north's,
spring season, 90 days); c-01 offers 5,000 m2 of conservation ``share`` (south's).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from greenenergy.errors import InsufficientEnergy
from greenenergy.ledger import GENESIS_HASH, SINK_TREES, pool_account, user_account
from greenenergy.planting import DuplicatePhoto, PlantingReport, PlotFull, SurvivalReport
from greenenergy.planting.deadlines import overdue_marks
from greenenergy.planting.pools import PoolLoaded, PoolRecord, completing_redeem, decide_contribute, decide_join
from greenenergy.planting.records import Holder, OrderState
from greenenergy.planting.redemption import Places, Redeem, RedeemIds, RedeemLoaded, decide_redeem
from greenenergy.planting.reports import ReportsLoaded, UsedKeys, decide_confirmations, decide_survival
from greenenergy.units import shard_of

NOW = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)  # inside a-01's season
SHANGHAI = ZoneInfo("Asia/Shanghai")
SAXAUL_G = 17_900


def photo(label: object) -> str:
    return hashlib.sha256(str(label).encode()).hexdigest()


def request(user: str = "u-1", plot_id: str | None = None, species: str = "saxaul") -> Redeem:
    return Redeem(user, species, plot_id, 1, user_account(user, "available"), {user: None})


def funded(user: str, grams: int, places: Places) -> RedeemLoaded:
    return RedeemLoaded(
        places, {shard_of(user): (0, GENESIS_HASH)}, {(user_account(user, "available"), shard_of(user)): grams}
    )


def ids(n: int = 1) -> RedeemIds:
    return RedeemIds("t" * 32, "o" * 32, [f"{k:032x}" for k in range(n)])


# --- redeem ---------------------------------------------------------------------------


def test_redeem_takes_the_freest_plot_debits_the_price_and_writes_tree_order_and_counter(catalog) -> None:
    places = Places({("a-01", "saxaul"): 2})  # a-01: 1 free, a-02: 3 free
    done = decide_redeem(catalog, request(), funded("u-1", SAXAUL_G, places), now=NOW, tz=SHANGHAI, ids=ids())
    assert (done.reservation.plot_id, done.reservation.quantity, done.reservation.capacity) == ("a-02", 1, 3)
    (tx,) = done.ledger.transactions
    assert (tx.kind, tx.refs["tree_id"], tx.refs["plot_id"], tx.idempotency_key) == (
        "redeem", "t" * 32, "a-02", f"redeem:{'t' * 32}",
    )  # fmt: skip
    assert {p.account: p.energy_g for p in tx.postings} == {
        user_account("u-1", "available"): -SAXAUL_G,
        SINK_TREES: SAXAUL_G,
    }
    assert done.ledger.balances == {(user_account("u-1", "available"), shard_of("u-1")): 0}
    assert (done.tree.redeem_tx_id, done.tree.redeem_tx_hash, done.tree.status) == (tx.id, tx.hash, "awaiting_planting")
    assert done.holders == (Holder("t" * 32, "u-1", shard_of("u-1"), SAXAUL_G),)
    assert (done.order.order_id, done.order.planting_no, done.order.deadline) == ("o" * 32, 1, NOW + timedelta(days=90))
    assert done.counts == {"u-1": {"trees": 1}}
    assert (done.redemption.plot_id, done.redemption.energy_g, done.redemption.status) == (
        "a-02",
        SAXAUL_G,
        "awaiting_planting",
    )


def test_redeem_passes_over_a_plot_it_does_not_hold(catalog) -> None:
    places = Places({("a-01", "saxaul"): 2}, held=frozenset({"a-01"}))  # a-02 is freer but held elsewhere
    done = decide_redeem(catalog, request(), funded("u-1", SAXAUL_G, places), now=NOW, tz=SHANGHAI, ids=ids())
    assert done.reservation.plot_id == "a-01"
    nothing = Places({}, held=frozenset())  # both have room, the caller holds neither: never a place it did not lock
    with pytest.raises(PlotFull, match="filled up while this request ran"):
        decide_redeem(catalog, request(), funded("u-1", SAXAUL_G, nothing), now=NOW, tz=SHANGHAI, ids=ids())


def test_redeem_refuses_a_full_plot_and_an_overdraft(catalog) -> None:
    full = Places({("a-01", "saxaul"): 3, ("a-02", "saxaul"): 3})
    with pytest.raises(PlotFull) as raised:
        decide_redeem(catalog, request(), funded("u-1", SAXAUL_G, full), now=NOW, tz=SHANGHAI, ids=ids())
    assert "every plot offering saxaul is full" in raised.value.message
    with pytest.raises(InsufficientEnergy):
        decide_redeem(catalog, request(), funded("u-1", SAXAUL_G - 1, Places({})), now=NOW, tz=SHANGHAI, ids=ids())


# --- confirmations and survival -------------------------------------------------------


def _awaiting(catalog, tree_ids: list[str]) -> ReportsLoaded:
    trees, orders, holders = {}, {}, {}
    for n, tree_id in enumerate(tree_ids):
        loaded = funded("u-1", SAXAUL_G, Places({}, held=frozenset({"a-01"})))
        done = decide_redeem(catalog, request(plot_id="a-01"), loaded, now=NOW, tz=SHANGHAI,
                             ids=RedeemIds(tree_id, f"{n:032d}", [f"{n:032x}"]))  # fmt: skip
        trees[tree_id], orders[tree_id], holders[tree_id] = done.tree, done.order, list(done.holders)
    return ReportsLoaded(
        {shard_of("u-1"): (4, "ab" * 32)}, trees, orders, holders, UsedKeys(photos=frozenset({photo("old")}))
    )


def report(tree_id: str, n: int, *, label: object = None) -> PlantingReport:
    return PlantingReport(tree_id, "north", "saxaul", NOW + timedelta(hours=1), 38.701 + n * 0.001, 105.201,
                          photo(n if label is None else label), f"T-{n}")  # fmt: skip


def test_a_batch_chains_its_confirmations_and_refuses_a_key_used_twice(catalog) -> None:
    loaded = _awaiting(catalog, ["t1", "t2", "t3"])
    reports = [report("t1", 1), report("t2", 2, label=1), report("t3", 3, label="old"), report("t9", 9)]
    later = NOW + timedelta(hours=2)
    decided = decide_confirmations(catalog, loaded, reports, now=later, tz=SHANGHAI,
                                   confirmation_ids=["c1", "c2", "c3", "c4"], keep_going=True)  # fmt: skip
    assert [o.error.code if o.error else o.status for o in decided.outcomes] == [
        "planted", "duplicate_photo", "duplicate_photo", "tree_not_found",
    ]  # fmt: skip
    (only,) = decided.accepted
    assert (only.record.seq, only.record.prev_hash, only.record.hash) == (5, "ab" * 32, only.record.computed_hash())
    assert decided.heads == {shard_of("u-1"): (5, only.record.hash)}
    assert (only.tree.status, only.tree.plantings, only.tree.version, only.event.seq) == ("planted", 1, 2, 1)
    (certificate,) = only.certificates
    assert (certificate.facts.holder_id, certificate.facts.issued_on, certificate.verified) == (
        "u-1",
        date(2026, 4, 1),
        True,
    )
    assert decided.after.trees["t1"].status == "planted" and photo(1) in decided.after.used.photos
    with pytest.raises(DuplicatePhoto):
        decide_confirmations(catalog, decided.after, [report("t2", 2, label=1)], now=later, tz=SHANGHAI,
                             confirmation_ids=["c5"], keep_going=False)  # fmt: skip


def test_a_dead_tree_gets_a_free_replanting_order(catalog) -> None:
    loaded = _awaiting(catalog, ["t1"])
    planted = decide_confirmations(catalog, loaded, [report("t1", 1)], now=NOW + timedelta(hours=2), tz=SHANGHAI,
                                   confirmation_ids=["c1"], keep_going=False)  # fmt: skip
    checked_at = NOW + timedelta(days=30)
    dead = SurvivalReport("t1", "north", checked_at, alive=False, photo_sha256=photo("dead"))
    done = decide_survival(
        catalog, planted.after, dead, now=checked_at, tz=SHANGHAI, confirmation_id="s1", order_id="r1"
    )
    assert (done.outcome.event, done.outcome.status, done.outcome.replanting_order_id) == (
        "survival_dead",
        "dead",
        "r1",
    )
    assert done.replanting is not None and (done.replanting.planting_no, done.replanting.ordered_at) == (2, checked_at)
    assert (done.record.kind, done.record.seq, done.record.prev_hash) == (
        "survival",
        6,
        planted.heads[shard_of("u-1")][1],
    )
    assert done.tree.version == 3 and done.event.seq == 2


# --- pools ----------------------------------------------------------------------------


def _pool(given: dict[tuple[str, date], int], places: Places | None = None) -> PoolLoaded:
    record = PoolRecord("p" * 32, "saxaul", None, SAXAUL_G, 10_000, 5, "open", "u-a", NOW, None, None, 2)
    balances = {(user_account(u, "available"), shard_of(u)): 20_000 for u in ("u-a", "u-b")}
    balances[(pool_account("p" * 32), shard_of("p" * 32))] = sum(given.values())
    heads = {shard_of(u): (0, GENESIS_HASH) for u in ("u-a", "u-b")}
    return PoolLoaded(record, ("u-a", "u-b"), given, places, heads, balances)


def test_a_contribution_short_of_the_price_moves_energy_only(catalog) -> None:
    loaded = _pool({})
    assert completing_redeem(loaded, "u-b", 5_000, NOW.date()) is None
    move = decide_contribute(catalog, loaded, "u-b", 5_000, now=NOW, tz=SHANGHAI, day=NOW.date(), tree_id="t" * 32,
                             order_id="o" * 32, transaction_ids=["1" * 32, "2" * 32])  # fmt: skip
    assert (move.moved_g, move.redeemed, move.contribution) == (5_000, None, ("u-b", NOW.date(), 5_000))
    assert [tx.kind for tx in move.ledger.transactions] == ["coplant_contribute"]
    assert move.view is not None and move.view.remaining_g == SAXAUL_G - 5_000


def test_the_contribution_that_completes_the_price_redeems_for_every_member_who_put_energy_in(catalog) -> None:
    yesterday = NOW.date() - timedelta(days=1)
    given = {("u-a", yesterday): 10_000}
    request_ = completing_redeem(_pool(given), "u-b", 9_000, NOW.date())
    assert request_ is not None and request_.holders == {"u-a": 10_000, "u-b": SAXAUL_G - 10_000}
    assert request_.owner_id == "u-a" and request_.debit_account == pool_account("p" * 32)
    move = decide_contribute(catalog, _pool(given, Places({})), "u-b", 9_000, now=NOW, tz=SHANGHAI, day=NOW.date(),
                             tree_id="t" * 32, order_id="o" * 32, transaction_ids=["1" * 32, "2" * 32])  # fmt: skip
    assert move.moved_g == SAXAUL_G - 10_000  # cut to what the pool lacked
    assert [tx.kind for tx in move.ledger.transactions] == ["coplant_contribute", "redeem"]
    assert move.redeemed is not None and move.redeemed.counts == {"u-a": {"trees": 1}, "u-b": {"trees": 1}}
    assert (move.record.status, move.record.tree_id, move.updated) == ("redeemed", "t" * 32, True)
    assert move.ledger.balances[(pool_account("p" * 32), shard_of("p" * 32))] == 0


def test_joining_orders_members_by_the_pools_count_of_joins(catalog) -> None:
    move = decide_join(_pool({}), "u-c", now=NOW)
    assert move.members_added == (("u-c", 3, NOW),) and move.record.joined == 3
    assert [m.user_id for m in move.view.members] == ["u-a", "u-b", "u-c"]  # type: ignore[union-attr]


def test_the_overdue_job_marks_pending_orders_past_their_deadline_only() -> None:
    def order(order_id: str, deadline: datetime, status: str = "pending") -> OrderState:
        return OrderState(order_id, "t", 1, "north", "a-01", "saxaul", NOW, deadline, status, None, None, None)

    orders = [
        order("late", NOW - timedelta(seconds=1)),
        order("due-now", NOW),
        order("done", NOW - timedelta(days=1), "planted"),
    ]
    assert overdue_marks(orders, NOW) == ["late"]
