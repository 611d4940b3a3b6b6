"""Redeeming energy for a tree: ``POST /v1/users/{user_id}/trees``.

One commit does everything: reserve the place (a guarded upsert of the plot's occupancy
row, see ``planting_repo.reserve``), debit the price from the payer to ``sink:trees`` (a
``redeem`` ledger transaction that names the tree), and create the virtual tree, its
holders, its first history event and the partner's planting order with its deadline. Any
failure -- ``plot_full``, ``species_not_in_plot``, ``insufficient_energy`` -- rolls all of
it back, so a place is never taken without the energy and energy never leaves without a
tree (DESIGN invariants 2, 5 and 6).

Lock order inside the commit: the occupancy row, then the ledger (post_transactions, last).
New rows (tree, order) are inserted after the ledger post because the tree references its
redeem transaction; inserting new rows takes no lock another writer waits for.

Conservation shares are redeemed the same way with ``quantity`` square metres (a tree
species only ever with quantity 1).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from greenenergy.db import ledger_repo, planting_repo
from greenenergy.db.engine import write_tx
from greenenergy.ids import check_id
from greenenergy.ledger import SINK_TREES, TransactionDraft, transfer, user_account
from greenenergy.planting import PlantingCatalog, Plot, PlotFull, choose_plot, deadline, redemption_price_g
from greenenergy.services.planting import catalog as planting_catalog
from greenenergy.services.runtime import Runtime
from greenenergy.units import shard_of


@dataclass(frozen=True)
class Redemption:
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

    def view(self) -> dict[str, object]:
        return {
            "tree_id": self.tree_id,
            "species_id": self.species_id,
            "plot_id": self.plot_id,
            "partner_id": self.partner_id,
            "quantity": self.quantity,
            "energy_g": self.energy_g,
            "status": "awaiting_planting",
            "redeemed_at": self.redeemed_at,
            "order_id": self.order_id,
            "deadline": self.deadline,
            "transaction_id": self.transaction_id,
            "pool_id": self.pool_id,
        }


def new_id() -> str:
    return uuid.uuid4().hex


def redeem(
    runtime: Runtime, user_id: str, species_id: str, plot_id: str | None = None, quantity: int = 1
) -> dict[str, object]:
    """Redeem one tree (or ``quantity`` m2) of ``species_id`` from the user's available energy."""
    check_id(user_id, what="user_id")
    current = planting_catalog.catalog(runtime)
    species = current.get_species(species_id)  # 404 before anything is locked
    if plot_id is not None:
        current.get_plot(plot_id)
    redemption_price_g(species, quantity)  # 422 invalid_quantity
    now = runtime.clock.now()
    with write_tx(runtime.engine) as connection:
        done = redeem_in_tx(
            connection,
            current,
            tz=runtime.settings.zone,
            now=now,
            owner_id=user_id,
            holders={user_id: None},
            species_id=species_id,
            plot_id=plot_id,
            quantity=quantity,
            debit_account=user_account(user_id, "available"),
        )
    return done.view()


def reserve_place(
    connection: Connection, catalog: PlantingCatalog, species_id: str, requested: str | None, quantity: int
) -> Plot:
    """Take ``quantity`` places of ``species_id`` in the requested plot or the freest one.

    The guarded upsert refuses a place taken meanwhile by a concurrent commit; we then read
    the counts again and choose again (each plot can be lost at most once per attempt).
    """
    candidates = [catalog.get_plot(requested)] if requested is not None else catalog.plots_offering(species_id)
    for _ in range(len(candidates) + 1):
        taken = planting_repo.occupancy(connection, [(plot.plot_id, species_id) for plot in candidates])
        plot = choose_plot(catalog, species_id, taken, requested, quantity=quantity)
        if planting_repo.reserve(connection, plot.plot_id, species_id, plot.capacity_of(species_id), quantity):
            return plot
    raise PlotFull(f"the plots offering {species_id} filled up while this request ran", species_id=species_id)


def redeem_in_tx(
    connection: Connection,
    catalog: PlantingCatalog,
    *,
    tz: ZoneInfo,
    now: datetime,
    owner_id: str,
    holders: Mapping[str, int | None],
    species_id: str,
    plot_id: str | None,
    quantity: int,
    debit_account: str,
    drafts_before: Sequence[TransactionDraft] = (),
    pool_id: str | None = None,
) -> Redemption:
    """Reserve, debit and create the tree on the caller's connection (the caller commits).

    ``holders`` maps each holder to their share in grams (``None``: the whole price);
    ``drafts_before`` are posted in the same ledger call, before the redeem (a co-planting
    contribution that completes the pool).
    """
    species = catalog.get_species(species_id)
    price_g = redemption_price_g(species, quantity)
    plot = reserve_place(connection, catalog, species_id, plot_id, quantity)
    tree_id, order_id = new_id(), new_id()
    shard = shard_of(owner_id)
    refs = {"tree_id": tree_id, "species_id": species_id, "plot_id": plot.plot_id, "quantity": str(quantity)}
    if pool_id is not None:
        refs["pool_id"] = pool_id
    draft = transfer(
        "redeem",
        debit=debit_account,
        credit=SINK_TREES,
        energy_g=price_g,
        shard=shard,
        refs=refs,
        idempotency_key=f"redeem:{tree_id}",
    )
    posted = ledger_repo.post_transactions(connection, [*drafts_before, draft], now=now)[-1]
    due = deadline(now, plot, tz=tz)
    planting_repo.insert_tree(
        connection,
        {
            "tree_id": tree_id,
            "owner_id": owner_id,
            "shard": shard,
            "species_id": species_id,
            "kind": "planting" if species.kind == "tree" else "conservation",
            "quantity": quantity,
            "energy_g": price_g,
            "plot_id": plot.plot_id,
            "partner_id": plot.partner_id,
            "status": "awaiting_planting",
            "redeemed_at": now,
            "redeem_tx_id": posted.id,
            "redeem_tx_hash": posted.hash,
            "pool_id": pool_id,
            "plantings": 0,
            "last_planted_at": None,
            "version": 1,
        },
        {holder: (shard_of(holder), price_g if share is None else share) for holder, share in holders.items()},
        {
            "tree_id": tree_id,
            "seq": 0,
            "event": "redeemed",
            "status": "awaiting_planting",
            "occurred_at": now,
            "recorded_at": now,
            "order_id": order_id,
            "confirmation_id": None,
        },
    )
    planting_repo.insert_order(
        connection,
        order_id=order_id,
        tree_id=tree_id,
        planting_no=1,
        partner_id=plot.partner_id,
        plot_id=plot.plot_id,
        species_id=species_id,
        ordered_at=now,
        deadline=due,
        status="pending",
        overdue_at=None,
        planted_at=None,
        confirmation_id=None,
    )
    return Redemption(
        tree_id=tree_id,
        owner_id=owner_id,
        species_id=species_id,
        plot_id=plot.plot_id,
        partner_id=plot.partner_id,
        quantity=quantity,
        energy_g=price_g,
        redeemed_at=now,
        order_id=order_id,
        deadline=due,
        transaction_id=posted.id,
        pool_id=pool_id,
    )
