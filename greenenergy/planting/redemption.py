"""Redeeming energy for a tree, decided on values: ``POST /v1/users/{user_id}/trees`` and the
contribution that completes a co-planting pool.

``decide_redeem`` takes what the shell loaded under lock -- the plot occupancy of the plots
that may take the tree (``Places``: the rows it holds), the ledger heads and guarded
balances the debit touches -- and the ids and the clock as values, and returns every row
the redemption writes, in one commit:

* the place: ``quantity`` more places taken in the chosen plot (``allocation.choose_plot``);
* the ledger: one ``redeem`` transaction from the payer to ``sink:trees`` naming the tree
  (refs ``tree_id``, ``species_id``, ``plot_id``, ``quantity`` and ``pool_id`` for a pool;
  idempotency key ``redeem:<tree_id>``), after any drafts that must come first (the pool
  contribution that completes the price), appended with ``ledger.append`` -- which refuses
  an overdraft (``insufficient_energy``) with nothing written;
* the virtual tree, its holders (each with their share), its first history event
  (``redeemed``) and the partner's planting order with its deadline;
* the ``trees`` counter of every holder, +1 (``forest.counters``).

Any refusal -- ``plot_full``, ``species_not_in_plot``, ``insufficient_energy`` -- raises, so a
place is never taken without the energy and energy never leaves without a tree (DESIGN
invariants 2, 5 and 6). Conservation shares are redeemed the same way with ``quantity``
square metres (a tree species only ever with quantity 1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from greenenergy.ledger.accounts import SINK_TREES
from greenenergy.ledger.append import BalanceKey, LedgerWrite, append, needs
from greenenergy.ledger.transactions import TransactionDraft, transfer
from greenenergy.planting.allocation import choose_plot, redemption_price_g
from greenenergy.planting.catalog import PlantingCatalog
from greenenergy.planting.deadlines import deadline
from greenenergy.planting.records import Holder, OrderState, TreeEventRecord, TreeState
from greenenergy.units import shard_of

Heads = Mapping[int, tuple[int, str]]


@dataclass(frozen=True, slots=True)
class Redeem:
    """One redemption asked for: by and for whom, of what, paid from which account."""

    owner_id: str  # holds the tree; its shard orders the tree's confirmations
    species_id: str
    plot_id: str | None  # the plot asked for; None: the freest plot offering the species
    quantity: int
    debit_account: str
    holders: Mapping[str, int | None]  # holder -> share in grams (None: the whole price)
    pool_id: str | None = None


@dataclass(frozen=True, slots=True)
class Places:
    """The plot occupancy a redemption decides on: places taken per (plot_id, species_id)
    of the plots that may take it (a missing key: none taken), and the plots whose occupancy
    the shell holds under lock (``None``: every one -- SQLite's single writer)."""

    occupancy: Mapping[tuple[str, str], int]
    held: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class RedeemLoaded:
    places: Places
    heads: Heads  # ledger heads of the shards the drafts post in
    balances: Mapping[BalanceKey, int]  # guarded balances they move


@dataclass(frozen=True, slots=True)
class RedeemIds:
    """Ids a redemption needs, made by the shell: one transaction id per draft appended."""

    tree_id: str
    order_id: str
    transaction_ids: Sequence[str]


@dataclass(frozen=True, slots=True)
class Reservation:
    """``quantity`` more places taken in one plot for one species (``capacity`` as checked)."""

    plot_id: str
    species_id: str
    capacity: int
    quantity: int


@dataclass(frozen=True, slots=True)
class Redemption:
    """The answer of a redemption (``POST /v1/users/{id}/trees``)."""

    tree_id: str
    owner_id: str
    species_id: str
    plot_id: str
    partner_id: str
    quantity: int
    energy_g: int
    redeemed_at: datetime
    order_id: str
    deadline: datetime
    transaction_id: str
    pool_id: str | None = None
    status: str = "awaiting_planting"


@dataclass(frozen=True, slots=True)
class Redeemed:
    """Everything one redemption writes, and its answer."""

    reservation: Reservation
    tree: TreeState
    holders: tuple[Holder, ...]
    event: TreeEventRecord
    order: OrderState
    ledger: LedgerWrite
    redemption: Redemption
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # {holder: {"trees": 1}}


def redeem_draft(request: Redeem, *, price_g: int, tree_id: str, plot_id: str) -> TransactionDraft:
    """The ``redeem`` ledger transaction of ``request`` (module docstring)."""
    refs = {"tree_id": tree_id, "species_id": request.species_id, "plot_id": plot_id, "quantity": str(request.quantity)}
    if request.pool_id is not None:
        refs["pool_id"] = request.pool_id
    return transfer(
        "redeem",
        debit=request.debit_account,
        credit=SINK_TREES,
        energy_g=price_g,
        shard=shard_of(request.owner_id),
        refs=refs,
        idempotency_key=f"redeem:{tree_id}",
    )


def ledger_needs(request: Redeem, drafts_before: Sequence[TransactionDraft] = ()) -> tuple[list[int], list[BalanceKey]]:
    """The ledger heads and guarded balances a redemption reads (its accounts and shards do
    not depend on the price, the tree or the plot)."""
    return needs([*drafts_before, redeem_draft(request, price_g=1, tree_id="", plot_id="")])


def decide_redeem(
    catalog: PlantingCatalog,
    request: Redeem,
    loaded: RedeemLoaded,
    *,
    now: datetime,
    tz: ZoneInfo,
    ids: RedeemIds,
    drafts_before: Sequence[TransactionDraft] = (),
) -> Redeemed:
    """Reserve, debit and create the tree (module docstring); raises the specific refusal."""
    species = catalog.get_species(request.species_id)
    price_g = redemption_price_g(species, request.quantity)
    plot = choose_plot(
        catalog,
        request.species_id,
        loaded.places.occupancy,
        request.plot_id,
        quantity=request.quantity,
        held=loaded.places.held,
    )
    drafts = [*drafts_before, redeem_draft(request, price_g=price_g, tree_id=ids.tree_id, plot_id=plot.plot_id)]
    ledger = append(drafts, heads=loaded.heads, balances=loaded.balances, now=now, ids=ids.transaction_ids)
    posted = ledger.transactions[-1]
    due = deadline(now, plot, tz=tz)
    tree = TreeState(
        tree_id=ids.tree_id,
        owner_id=request.owner_id,
        shard=shard_of(request.owner_id),
        species_id=request.species_id,
        kind="planting" if species.kind == "tree" else "conservation",
        quantity=request.quantity,
        energy_g=price_g,
        plot_id=plot.plot_id,
        partner_id=plot.partner_id,
        status="awaiting_planting",
        redeemed_at=now,
        redeem_tx_id=posted.id,
        redeem_tx_hash=posted.hash,
        pool_id=request.pool_id,
        plantings=0,
        last_planted_at=None,
        version=1,
    )
    holders = tuple(
        Holder(ids.tree_id, holder, shard_of(holder), price_g if share is None else int(share))
        for holder, share in request.holders.items()
    )
    order = OrderState(
        order_id=ids.order_id,
        tree_id=ids.tree_id,
        planting_no=1,
        partner_id=plot.partner_id,
        plot_id=plot.plot_id,
        species_id=request.species_id,
        ordered_at=now,
        deadline=due,
        status="pending",
        overdue_at=None,
        planted_at=None,
        confirmation_id=None,
    )
    return Redeemed(
        reservation=Reservation(
            plot.plot_id, request.species_id, plot.capacity_of(request.species_id), request.quantity
        ),
        tree=tree,
        holders=holders,
        event=TreeEventRecord(ids.tree_id, 0, "redeemed", "awaiting_planting", now, now, ids.order_id, None),
        order=order,
        ledger=ledger,
        redemption=Redemption(
            tree_id=ids.tree_id,
            owner_id=request.owner_id,
            species_id=request.species_id,
            plot_id=plot.plot_id,
            partner_id=plot.partner_id,
            quantity=request.quantity,
            energy_g=price_g,
            redeemed_at=now,
            order_id=ids.order_id,
            deadline=due,
            transaction_id=posted.id,
            pool_id=request.pool_id,
        ),
        counts={holder.holder_id: {"trees": 1} for holder in holders},
    )
