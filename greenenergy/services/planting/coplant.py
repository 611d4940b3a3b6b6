"""Co-planting pools: several users pool energy toward one tree.

The rules are the core's (``planting.coplanting``): join, contribute (capped per member per
local day, cut to what the pool still lacks), leave before the redemption with a full
refund. This module loads a pool, applies one rule and saves the result with the matching
ledger transaction in the same commit:

- contribute: ``user:<id>:available`` -> ``pool:<pool_id>`` (kind ``coplant_contribute``);
- leave: ``pool:<pool_id>`` -> ``user:<id>:available`` (kind ``coplant_refund``);
- the contribution that completes the pool also redeems the tree in the same commit:
  ``pool:<pool_id>`` -> ``sink:trees`` (kind ``redeem``), through the same code path as a
  solo redemption (``planting_redeem.redeem_in_tx``). Each member who put energy in becomes
  a holder with their share, and gets a certificate with that share at planting. The tree's
  owner (whose shard orders its confirmations) is the first contributing member by joining
  order. If the plot is full at that moment the whole contribution is refused
  (``plot_full``): the pool never holds the full price without its tree.

Lock order: the pool row (``SELECT ... FOR UPDATE``), then the plot occupancy row, then the
ledger (last).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, func, select, update

from greenenergy.db import ledger_repo, planting_repo
from greenenergy.db.engine import read_tx, write_tx
from greenenergy.db.tables_planting import CoplantContributionRow, CoplantMemberRow, CoplantPoolRow
from greenenergy.errors import NotFound
from greenenergy.ids import check_id
from greenenergy.ledger import pool_account, transfer, user_account
from greenenergy.periods import local_date
from greenenergy.planting import (
    CoPlantingPool,
    choose_plot,
    contribute,
    is_complete,
    join,
    leave,
    mark_redeemed,
    new_pool,
)
from greenenergy.planting.coplanting import DEFAULT_MAX_MEMBERS, remaining_g, shares, total_g
from greenenergy.services.planting import catalog as planting_catalog
from greenenergy.services.planting.redeem import new_id, redeem_in_tx
from greenenergy.services.runtime import Runtime
from greenenergy.units import shard_of

POOLS = CoplantPoolRow.__table__
MEMBERS = CoplantMemberRow.__table__
CONTRIBUTIONS = CoplantContributionRow.__table__


def _load(connection: Connection, pool_id: str, *, lock: bool):
    query = select(POOLS).where(POOLS.c.pool_id == pool_id)
    row = connection.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound(f"no co-planting pool {pool_id!r}", code="pool_not_found")
    members = [
        m.user_id
        for m in connection.execute(
            select(MEMBERS.c.user_id).where(MEMBERS.c.pool_id == pool_id).order_by(MEMBERS.c.position)
        )
    ]
    given = {
        (c.user_id, c.local_day): int(c.energy_g)
        for c in connection.execute(select(CONTRIBUTIONS).where(CONTRIBUTIONS.c.pool_id == pool_id))
    }
    pool = CoPlantingPool(
        pool_id=pool_id,
        species_id=row.species_id,
        price_g=int(row.price_g),
        daily_cap_g=int(row.daily_cap_g),
        max_members=int(row.max_members),
        members=members,
        contributions=given,
        status=row.status,
    )
    return row, pool


def _view(row: object, pool: CoPlantingPool) -> dict[str, object]:
    return {
        "pool_id": pool.pool_id,
        "species_id": pool.species_id,
        "plot_id": row.plot_id,  # type: ignore[attr-defined]
        "price_g": pool.price_g,
        "daily_cap_g": pool.daily_cap_g,
        "max_members": pool.max_members,
        "status": pool.status,
        "founder_id": row.founder_id,
        "created_at": row.created_at,  # type: ignore[attr-defined]
        "redeemed_at": row.redeemed_at,
        "tree_id": row.tree_id,  # type: ignore[attr-defined]
        "total_g": total_g(pool),
        "remaining_g": remaining_g(pool),
        "members": [{"user_id": member, "contributed_g": grams} for member, grams in shares(pool).items()],
    }


def create_pool(
    runtime: Runtime,
    user_id: str,
    species_id: str,
    plot_id: str | None = None,
    *,
    daily_cap_g: int | None = None,
    max_members: int | None = None,
) -> dict[str, object]:
    """Open a pool for one tree of ``species_id`` (in ``plot_id`` or the freest plot at redemption)."""
    check_id(user_id, what="user_id")
    current = planting_catalog.catalog(runtime)
    species = current.get_species(species_id)
    pool = new_pool(
        new_id(),
        species,
        user_id,
        daily_cap_g=daily_cap_g,
        max_members=DEFAULT_MAX_MEMBERS if max_members is None else max_members,
    )
    now = runtime.clock.now()
    with write_tx(runtime.engine) as connection:
        # Refuse now a pool that could never redeem (species not offered there, plot full).
        plots = [current.get_plot(plot_id)] if plot_id is not None else current.plots_offering(species_id)
        choose_plot(
            current, species_id, planting_repo.occupancy(connection, [(p.plot_id, species_id) for p in plots]), plot_id
        )
        connection.execute(
            POOLS.insert(),
            [
                {
                    "pool_id": pool.pool_id,
                    "species_id": species_id,
                    "plot_id": plot_id,
                    "price_g": pool.price_g,
                    "daily_cap_g": pool.daily_cap_g,
                    "max_members": pool.max_members,
                    "status": pool.status,
                    "founder_id": user_id,
                    "created_at": now,
                    "redeemed_at": None,
                    "tree_id": None,
                    "joined": 1,
                }
            ],
        )
        connection.execute(
            MEMBERS.insert(), [{"pool_id": pool.pool_id, "user_id": user_id, "position": 1, "joined_at": now}]
        )
        row, pool = _load(connection, pool.pool_id, lock=False)
    return _view(row, pool)


def get_pool(runtime: Runtime, pool_id: str) -> dict[str, object]:
    with read_tx(runtime.engine) as connection:
        return _view(*_load(connection, pool_id, lock=False))


def list_pools(runtime: Runtime, user_id: str) -> list[dict[str, object]]:
    """Pools the user is a member of, newest first."""
    with read_tx(runtime.engine) as connection:
        ids = [
            r.pool_id
            for r in connection.execute(
                select(MEMBERS.c.pool_id, MEMBERS.c.joined_at)
                .where(MEMBERS.c.user_id == user_id)
                .order_by(MEMBERS.c.joined_at.desc(), MEMBERS.c.pool_id)
            )
        ]
        return [_view(*_load(connection, pool_id, lock=False)) for pool_id in ids]


def join_pool(runtime: Runtime, user_id: str, pool_id: str) -> dict[str, object]:
    check_id(user_id, what="user_id")
    now = runtime.clock.now()
    with write_tx(runtime.engine) as connection:
        row, pool = _load(connection, pool_id, lock=True)
        join(pool, user_id)
        connection.execute(
            MEMBERS.insert(), [{"pool_id": pool_id, "user_id": user_id, "position": row.joined + 1, "joined_at": now}]
        )
        connection.execute(update(POOLS).where(POOLS.c.pool_id == pool_id).values(joined=row.joined + 1))
        return _view(*_load(connection, pool_id, lock=False))


def contribute_to_pool(runtime: Runtime, user_id: str, pool_id: str, energy_g: int) -> dict[str, object]:
    """Move up to ``energy_g`` into the pool; redeem the tree when the pool reaches the price."""
    now = runtime.clock.now()
    current = planting_catalog.catalog(runtime)
    tree = None
    with write_tx(runtime.engine) as connection:
        row, pool = _load(connection, pool_id, lock=True)
        today = local_date(now, runtime.settings.zone)
        accepted = contribute(pool, user_id, energy_g, today)
        _save_contribution(connection, pool_id, user_id, today, pool.contributions[(user_id, today)])
        draft = transfer(
            "coplant_contribute",
            debit=user_account(user_id, "available"),
            credit=pool_account(pool_id),
            energy_g=accepted,
            shard=shard_of(user_id),
            refs={"pool_id": pool_id},
        )
        if is_complete(pool):
            holders = mark_redeemed(pool)
            redemption = redeem_in_tx(
                connection,
                current,
                tz=runtime.settings.zone,
                now=now,
                owner_id=next(iter(holders)),
                holders=holders,
                species_id=pool.species_id,
                plot_id=row.plot_id,
                quantity=1,
                debit_account=pool_account(pool_id),
                drafts_before=[draft],
                pool_id=pool_id,
            )
            connection.execute(
                update(POOLS)
                .where(POOLS.c.pool_id == pool_id)
                .values(status="redeemed", redeemed_at=now, tree_id=redemption.tree_id)
            )
            tree = redemption.view()
        else:
            ledger_repo.post_transactions(connection, [draft], now=now)
        view = _view(*_load(connection, pool_id, lock=False))
    return {"accepted_g": accepted, "pool": view, "tree": tree}


def _save_contribution(connection: Connection, pool_id: str, user_id: str, day: object, energy_g: int) -> None:
    key = (
        (CONTRIBUTIONS.c.pool_id == pool_id) & (CONTRIBUTIONS.c.user_id == user_id) & (CONTRIBUTIONS.c.local_day == day)
    )
    exists = connection.execute(select(func.count()).select_from(CONTRIBUTIONS).where(key)).scalar_one()
    if exists:
        connection.execute(update(CONTRIBUTIONS).where(key).values(energy_g=energy_g))
    else:
        connection.execute(
            CONTRIBUTIONS.insert(), [{"pool_id": pool_id, "user_id": user_id, "local_day": day, "energy_g": energy_g}]
        )


def leave_pool(runtime: Runtime, user_id: str, pool_id: str) -> dict[str, object]:
    """Leave before the redemption; everything the member put in goes back to them."""
    now: datetime = runtime.clock.now()
    with write_tx(runtime.engine) as connection:
        _, pool = _load(connection, pool_id, lock=True)
        refund = leave(pool, user_id)
        connection.execute(
            delete(CONTRIBUTIONS).where(CONTRIBUTIONS.c.pool_id == pool_id, CONTRIBUTIONS.c.user_id == user_id)
        )
        connection.execute(delete(MEMBERS).where(MEMBERS.c.pool_id == pool_id, MEMBERS.c.user_id == user_id))
        if refund > 0:
            ledger_repo.post_transactions(
                connection,
                [
                    transfer(
                        "coplant_refund",
                        debit=pool_account(pool_id),
                        credit=user_account(user_id, "available"),
                        energy_g=refund,
                        shard=shard_of(user_id),
                        refs={"pool_id": pool_id},
                    )
                ],
                now=now,
            )
        view = _view(*_load(connection, pool_id, lock=False))
    return {"refunded_g": refund, "pool": view}
