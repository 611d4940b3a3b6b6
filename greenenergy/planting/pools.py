"""Co-planting pools' use cases decided on values: create, join, contribute, leave.

The rules are ``coplanting``'s; each decision takes the pool as the shell loaded it under
lock (``PoolLoaded``) and returns a ``PoolMove``: the pool row, the members added or
removed, the day's contribution, the ledger write and, when the contribution completes the
price, the redemption of the tree (``redemption.decide_redeem``) -- all written in one commit:

- contribute: ``user:<id>:available`` -> ``pool:<pool_id>`` (kind ``coplant_contribute``);
- leave: ``pool:<pool_id>`` -> ``user:<id>:available`` (kind ``coplant_refund``);
- the contribution that completes the pool also redeems the tree: ``pool:<pool_id>`` ->
  ``sink:trees`` (kind ``redeem``) after the contribution, in one append. Each member who
  put energy in becomes a holder with their share (and their ``trees`` counter +1). The
  tree's owner (whose shard orders its confirmations) is the first contributing member by
  joining order. If the plot is full at that moment the whole contribution is refused
  (``plot_full``): the pool never holds the full price without its tree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from greenenergy.errors import GreenEnergyError
from greenenergy.ledger.accounts import pool_account, user_account
from greenenergy.ledger.append import EMPTY, BalanceKey, LedgerWrite, append, needs
from greenenergy.ledger.transactions import TransactionDraft, transfer
from greenenergy.planting.allocation import Occupancy, choose_plot
from greenenergy.planting.catalog import PlantingCatalog
from greenenergy.planting.coplanting import (
    CoPlantingPool,
    contribute,
    is_complete,
    join,
    leave,
    mark_redeemed,
    new_pool,
    remaining_g,
    shares,
    total_g,
)
from greenenergy.planting.redemption import Places, Redeem, Redeemed, RedeemIds, RedeemLoaded, decide_redeem
from greenenergy.units import shard_of


@dataclass(frozen=True, slots=True)
class PoolRecord:
    """A pool's stored row (``joined`` counts members ever joined: it orders them)."""

    pool_id: str
    species_id: str
    plot_id: str | None
    price_g: int
    daily_cap_g: int
    max_members: int
    status: str  # open | redeemed
    founder_id: str
    created_at: datetime
    redeemed_at: datetime | None
    tree_id: str | None
    joined: int


@dataclass(frozen=True, slots=True)
class PoolLoaded:
    """A pool as read under lock, and what its decision may also need: the places and the
    ledger (loaded when the contribution would complete the price, or moves energy)."""

    record: PoolRecord
    members: tuple[str, ...]  # joining order
    contributions: Mapping[tuple[str, date], int]  # (member, local day) -> grams
    places: Places | None = None
    heads: Mapping[int, tuple[int, str]] = field(default_factory=dict)
    balances: Mapping[BalanceKey, int] = field(default_factory=dict)

    def pool(self) -> CoPlantingPool:
        """A working copy the rules may change."""
        record = self.record
        return CoPlantingPool(
            pool_id=record.pool_id,
            species_id=record.species_id,
            price_g=record.price_g,
            daily_cap_g=record.daily_cap_g,
            max_members=record.max_members,
            members=list(self.members),
            contributions=dict(self.contributions),
            status=record.status,  # type: ignore[arg-type]
        )


@dataclass(frozen=True, slots=True)
class PoolMember:
    user_id: str
    contributed_g: int


@dataclass(frozen=True, slots=True)
class PoolView:
    pool_id: str
    species_id: str
    plot_id: str | None
    price_g: int
    daily_cap_g: int
    max_members: int
    status: str
    founder_id: str
    created_at: datetime
    redeemed_at: datetime | None
    tree_id: str | None
    total_g: int
    remaining_g: int
    members: list[PoolMember]


def pool_view(record: PoolRecord, pool: CoPlantingPool) -> PoolView:
    return PoolView(
        pool_id=record.pool_id,
        species_id=record.species_id,
        plot_id=record.plot_id,
        price_g=pool.price_g,
        daily_cap_g=pool.daily_cap_g,
        max_members=pool.max_members,
        status=pool.status,
        founder_id=record.founder_id,
        created_at=record.created_at,
        redeemed_at=record.redeemed_at,
        tree_id=record.tree_id,
        total_g=total_g(pool),
        remaining_g=remaining_g(pool),
        members=[PoolMember(member, grams) for member, grams in shares(pool).items()],
    )


@dataclass(frozen=True, slots=True)
class PoolMove:
    """Everything one pool use case writes, and the pool as it leaves it."""

    record: PoolRecord
    created: bool = False  # insert the row
    updated: bool = False  # update the row (joined, status, redemption)
    members_added: tuple[tuple[str, int, datetime], ...] = ()  # (user, position, joined_at)
    members_removed: tuple[str, ...] = ()  # with all their contributions
    contribution: tuple[str, date, int] | None = None  # (member, local day, that day's new total)
    ledger: LedgerWrite = EMPTY
    redeemed: Redeemed | None = None
    view: PoolView | None = None
    moved_g: int = 0  # grams accepted (contribute) or refunded (leave)


def decide_create(
    catalog: PlantingCatalog,
    occupancy: Occupancy,
    *,
    pool_id: str,
    user_id: str,
    species_id: str,
    plot_id: str | None,
    daily_cap_g: int | None,
    max_members: int,
    now: datetime,
) -> PoolMove:
    """Open a pool for one tree of ``species_id`` with ``user_id`` as its first member;
    refuse now a pool that could never redeem (species not offered there, plot full)."""
    pool = new_pool(pool_id, catalog.get_species(species_id), user_id, daily_cap_g=daily_cap_g, max_members=max_members)
    choose_plot(catalog, species_id, occupancy, plot_id)
    record = PoolRecord(pool_id, species_id, plot_id, pool.price_g, pool.daily_cap_g, pool.max_members, pool.status,
                        user_id, now, None, None, 1)  # fmt: skip
    return PoolMove(record, created=True, members_added=((user_id, 1, now),), view=pool_view(record, pool))


def decide_join(loaded: PoolLoaded, user_id: str, *, now: datetime) -> PoolMove:
    pool = loaded.pool()
    join(pool, user_id)
    record = replace(loaded.record, joined=loaded.record.joined + 1)
    return PoolMove(record, updated=True, members_added=((user_id, record.joined, now),), view=pool_view(record, pool))


def contribution_draft(pool_id: str, user_id: str, energy_g: int) -> TransactionDraft:
    return transfer(
        "coplant_contribute",
        debit=user_account(user_id, "available"),
        credit=pool_account(pool_id),
        energy_g=energy_g,
        shard=shard_of(user_id),
        refs={"pool_id": pool_id},
    )


def refund_draft(pool_id: str, user_id: str, energy_g: int) -> TransactionDraft:
    return transfer(
        "coplant_refund",
        debit=pool_account(pool_id),
        credit=user_account(user_id, "available"),
        energy_g=energy_g,
        shard=shard_of(user_id),
        refs={"pool_id": pool_id},
    )


def completing_redeem(loaded: PoolLoaded, user_id: str, energy_g: int, day: date) -> Redeem | None:
    """The redemption a contribution would trigger (it completes the price), or None (it
    would not, or the rules refuse it): what else the shell must load before deciding."""
    pool = loaded.pool()
    try:
        contribute(pool, user_id, energy_g, day)
        if not is_complete(pool):
            return None
        holders = mark_redeemed(pool)
    except GreenEnergyError:
        return None
    return _redeem_request(loaded.record, holders)


def _redeem_request(record: PoolRecord, holders: Mapping[str, int]) -> Redeem:
    return Redeem(
        owner_id=next(iter(holders)),
        species_id=record.species_id,
        plot_id=record.plot_id,
        quantity=1,
        debit_account=pool_account(record.pool_id),
        holders=dict(holders),
        pool_id=record.pool_id,
    )


def contribution_needs(pool_id: str, user_id: str) -> tuple[list[int], list[BalanceKey]]:
    """The ledger heads and guarded balances a contribution that does not complete reads."""
    return needs([contribution_draft(pool_id, user_id, 1)])


def decide_contribute(
    catalog: PlantingCatalog,
    loaded: PoolLoaded,
    user_id: str,
    energy_g: int,
    *,
    now: datetime,
    tz: ZoneInfo,
    day: date,
    tree_id: str,
    order_id: str,
    transaction_ids: Sequence[str],
) -> PoolMove:
    """Move up to ``energy_g`` into the pool (cut to the daily cap and to what the pool
    lacks); redeem the tree when the pool reaches the price. ``transaction_ids``: two (the
    contribution and, if it completes, the redemption)."""
    pool = loaded.pool()
    accepted = contribute(pool, user_id, energy_g, day)
    contribution = (user_id, day, pool.contributions[(user_id, day)])
    draft = contribution_draft(loaded.record.pool_id, user_id, accepted)
    if not is_complete(pool):
        ledger = append([draft], heads=loaded.heads, balances=loaded.balances, now=now, ids=transaction_ids[:1])
        return PoolMove(loaded.record, contribution=contribution, ledger=ledger, view=pool_view(loaded.record, pool),
                        moved_g=accepted)  # fmt: skip
    holders = mark_redeemed(pool)
    if loaded.places is None:
        raise ValueError("a contribution that completes the pool needs the places loaded (completing_redeem)")
    redeemed = decide_redeem(
        catalog,
        _redeem_request(loaded.record, holders),
        RedeemLoaded(loaded.places, loaded.heads, loaded.balances),
        now=now,
        tz=tz,
        ids=RedeemIds(tree_id, order_id, transaction_ids[:2]),
        drafts_before=[draft],
    )
    record = replace(loaded.record, status="redeemed", redeemed_at=now, tree_id=tree_id)
    return PoolMove(record, updated=True, contribution=contribution, ledger=redeemed.ledger, redeemed=redeemed,
                    view=pool_view(record, pool), moved_g=accepted)  # fmt: skip


def decide_leave(loaded: PoolLoaded, user_id: str, *, now: datetime, transaction_ids: Sequence[str]) -> PoolMove:
    """Leave before the redemption; everything the member put in goes back to them."""
    pool = loaded.pool()
    refund = leave(pool, user_id)
    ledger = EMPTY
    if refund > 0:
        ledger = append([refund_draft(loaded.record.pool_id, user_id, refund)], heads=loaded.heads,
                        balances=loaded.balances, now=now, ids=transaction_ids[:1])  # fmt: skip
    return PoolMove(loaded.record, members_removed=(user_id,), ledger=ledger, view=pool_view(loaded.record, pool),
                    moved_g=refund)  # fmt: skip


def leave_needs(pool_id: str, user_id: str) -> tuple[list[int], list[BalanceKey]]:
    """The ledger heads and guarded balances a refund reads."""
    return needs([refund_draft(pool_id, user_id, 1)])
