"""Co-planting pools: several users pool energy toward one tree.

Each write is load -> decide -> store in one commit (``planting_pools_repo``,
``planting.pools``): the pool row is locked first; a contribution that completes the price
also loads what a redemption needs (the members' state rows, one plot's occupancy, the
ledger) and redeems the tree in the same commit, each contributing member becoming a holder
with their share (``trees`` counter +1); leaving refunds everything the member put in. The
rules and the ledger transactions are described in ``greenenergy.planting.pools``.
"""

from __future__ import annotations

from dataclasses import dataclass

from greenenergy.db import ledger_repo, planting_pools_repo, planting_repo
from greenenergy.db.engine import Tx, in_write_tx, read_tx
from greenenergy.ids import check_id
from greenenergy.periods import local_date
from greenenergy.planting.coplanting import DEFAULT_MAX_MEMBERS
from greenenergy.planting.pools import (
    PoolMove,
    PoolView,
    decide_contribute,
    decide_create,
    decide_join,
    decide_leave,
    pool_view,
)
from greenenergy.planting.redemption import Redemption
from greenenergy.services.planting import catalog as planting_catalog
from greenenergy.services.planting.redeem import new_id
from greenenergy.services.runtime import Runtime


@dataclass(frozen=True)
class Contributed:
    accepted_g: int
    pool: PoolView
    tree: Redemption | None  # the tree the contribution redeemed, if it completed the pool


@dataclass(frozen=True)
class Left:
    refunded_g: int
    pool: PoolView


def _view(move: PoolMove) -> PoolView:
    assert move.view is not None  # every decision returns the pool as it leaves it
    return move.view


def create_pool(
    runtime: Runtime,
    user_id: str,
    species_id: str,
    plot_id: str | None = None,
    *,
    daily_cap_g: int | None = None,
    max_members: int | None = None,
) -> PoolView:
    """Open a pool for one tree of ``species_id`` (in ``plot_id`` or the freest plot at redemption)."""
    check_id(user_id, what="user_id")
    current = planting_catalog.catalog(runtime)
    current.get_species(species_id)
    plots = [current.get_plot(plot_id)] if plot_id is not None else current.plots_offering(species_id)
    now = runtime.clock.now()
    pool_id = new_id()

    def work(connection: Tx) -> PoolView:
        taken = planting_repo.occupancy(connection, species_id, [p.plot_id for p in plots])
        move = decide_create(
            current,
            taken,
            pool_id=pool_id,
            user_id=user_id,
            species_id=species_id,
            plot_id=plot_id,
            daily_cap_g=daily_cap_g,
            max_members=DEFAULT_MAX_MEMBERS if max_members is None else max_members,
            now=now,
        )
        planting_pools_repo.store(connection, move, now=now)
        return _view(move)

    return in_write_tx(runtime.engine, work)


def get_pool(runtime: Runtime, pool_id: str) -> PoolView:
    with read_tx(runtime.engine) as connection:
        loaded = planting_pools_repo.load_pool(connection, pool_id)
    return pool_view(loaded.record, loaded.pool())


def list_pools(runtime: Runtime, user_id: str) -> list[PoolView]:
    """Pools the user is a member of, newest first."""
    with read_tx(runtime.engine) as connection:
        pools = planting_pools_repo.pools_of_member(connection, user_id)
    return [pool_view(loaded.record, loaded.pool()) for loaded in pools]


def join_pool(runtime: Runtime, user_id: str, pool_id: str) -> PoolView:
    check_id(user_id, what="user_id")
    now = runtime.clock.now()

    def work(connection: Tx) -> PoolView:
        move = decide_join(planting_pools_repo.load_pool(connection, pool_id, lock=True), user_id, now=now)
        planting_pools_repo.store(connection, move, now=now)
        return _view(move)

    return in_write_tx(runtime.engine, work)


def contribute_to_pool(runtime: Runtime, user_id: str, pool_id: str, energy_g: int) -> Contributed:
    """Move up to ``energy_g`` into the pool; redeem the tree when the pool reaches the price."""
    now = runtime.clock.now()
    current = planting_catalog.catalog(runtime)
    tz = runtime.settings.zone
    today = local_date(now, tz)

    def work(connection: Tx) -> Contributed:
        loaded = planting_pools_repo.load_contribute(connection, current, pool_id, user_id, energy_g, today)
        move = decide_contribute(
            current,
            loaded,
            user_id,
            energy_g,
            now=now,
            tz=tz,
            day=today,
            tree_id=new_id(),
            order_id=new_id(),
            transaction_ids=ledger_repo.new_transaction_ids(2),
        )
        planting_pools_repo.store(connection, move, now=now)
        tree = move.redeemed.redemption if move.redeemed is not None else None
        return Contributed(move.moved_g, _view(move), tree)

    return in_write_tx(runtime.engine, work)


def leave_pool(runtime: Runtime, user_id: str, pool_id: str) -> Left:
    """Leave before the redemption; everything the member put in goes back to them."""
    now = runtime.clock.now()

    def work(connection: Tx) -> Left:
        loaded = planting_pools_repo.load_leave(connection, pool_id, user_id)
        move = decide_leave(loaded, user_id, now=now, transaction_ids=ledger_repo.new_transaction_ids(1))
        planting_pools_repo.store(connection, move, now=now)
        return Left(move.moved_g, _view(move))

    return in_write_tx(runtime.engine, work)
