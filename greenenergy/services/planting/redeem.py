"""Redeeming energy for a tree: ``POST /v1/users/{user_id}/trees``.

Load -> decide -> store in one commit (``planting_repo.load_redeem``,
``planting.redemption.decide_redeem``, ``planting_repo.store_redeem``): the user's state row
is locked, then one plot's occupancy row, then the ledger; the decision takes the place,
debits the price to ``sink:trees`` and creates the tree, its holder, its first history event
and the partner's planting order; the user's ``trees`` counter grows in the same commit. Any
refusal -- ``plot_full``, ``species_not_in_plot``, ``insufficient_energy`` -- writes nothing.
Conservation shares are redeemed the same way with ``quantity`` square metres.
"""

from __future__ import annotations

import uuid

from greenenergy.db import ledger_repo, planting_repo
from greenenergy.db.engine import Tx, in_write_tx
from greenenergy.ids import check_id
from greenenergy.ledger import user_account
from greenenergy.planting import redemption_price_g
from greenenergy.planting.redemption import Redeem, RedeemIds, Redemption, decide_redeem
from greenenergy.services.planting import catalog as planting_catalog
from greenenergy.services.runtime import Runtime

__all__ = ["Redemption", "new_id", "redeem"]


def new_id() -> str:
    return uuid.uuid4().hex


def redeem(
    runtime: Runtime, user_id: str, species_id: str, plot_id: str | None = None, quantity: int = 1
) -> Redemption:
    """Redeem one tree (or ``quantity`` m2) of ``species_id`` from the user's available energy."""
    check_id(user_id, what="user_id")
    current = planting_catalog.catalog(runtime)
    species = current.get_species(species_id)  # 404 before anything is locked
    if plot_id is not None:
        current.get_plot(plot_id)
    redemption_price_g(species, quantity)  # 422 invalid_quantity
    request = Redeem(
        owner_id=user_id,
        species_id=species_id,
        plot_id=plot_id,
        quantity=quantity,
        debit_account=user_account(user_id, "available"),
        holders={user_id: None},
    )
    now = runtime.clock.now()

    def work(connection: Tx) -> Redemption:
        loaded = planting_repo.load_redeem(connection, current, request)
        ids = RedeemIds(new_id(), new_id(), ledger_repo.new_transaction_ids(1))
        redeemed = decide_redeem(current, request, loaded, now=now, tz=runtime.settings.zone, ids=ids)
        planting_repo.store_redeem(connection, redeemed, now=now)
        return redeemed.redemption

    return in_write_tx(runtime.engine, work)
