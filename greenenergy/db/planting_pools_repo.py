"""Loading and storing co-planting pools (``greenenergy.planting.pools``).

A pool use case locks the pool row first (``SELECT ... FOR UPDATE``; the first lock of the
global order in ``planting_repo``), then loads what its decision may need: the ledger for a
contribution or a refund, and -- when the contribution completes the price, as the core's
``completing_redeem`` predicts from the locked pool -- everything a redemption loads
(``planting_repo.load_redeem``: the members' state rows, one plot's occupancy, the ledger).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import Connection, delete, select, update

from greenenergy.db import ledger_repo, planting_repo
from greenenergy.db.bulk import db_date
from greenenergy.db.tables_planting import CoplantContributionRow, CoplantMemberRow, CoplantPoolRow
from greenenergy.errors import NotFound
from greenenergy.planting import PlantingCatalog
from greenenergy.planting.pools import (
    PoolLoaded,
    PoolMove,
    PoolRecord,
    completing_redeem,
    contribution_draft,
    contribution_needs,
    leave_needs,
)

POOLS = CoplantPoolRow.__table__
MEMBERS = CoplantMemberRow.__table__
CONTRIBUTIONS = CoplantContributionRow.__table__
_RECORD_FIELDS = tuple(PoolRecord.__dataclass_fields__)


def pool_not_found(pool_id: str) -> NotFound:
    return NotFound(f"no co-planting pool {pool_id!r}", code="pool_not_found")


def load_pool(connection: Connection, pool_id: str, *, lock: bool = False) -> PoolLoaded:
    """The pool, its members in joining order and their contributions (``lock``: the row
    locked to the commit); ``pool_not_found``."""
    query = select(POOLS).where(POOLS.c.pool_id == pool_id)
    row = connection.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise pool_not_found(pool_id)
    members = tuple(
        user_id
        for (user_id,) in connection.execute(
            select(MEMBERS.c.user_id).where(MEMBERS.c.pool_id == pool_id).order_by(MEMBERS.c.position)
        )
    )
    given = {
        (c.user_id, c.local_day): int(c.energy_g)
        for c in connection.execute(select(CONTRIBUTIONS).where(CONTRIBUTIONS.c.pool_id == pool_id))
    }
    record = PoolRecord(**{name: getattr(row, name) for name in _RECORD_FIELDS})
    return PoolLoaded(record, members, given)


def load_contribute(
    connection: Connection, catalog: PlantingCatalog, pool_id: str, user_id: str, energy_g: int, day: date
) -> PoolLoaded:
    """For ``pools.decide_contribute``: the locked pool, and what the redemption needs when
    this contribution completes the price, or the ledger of the contribution alone."""
    loaded = load_pool(connection, pool_id, lock=True)
    request = completing_redeem(loaded, user_id, energy_g, day)
    if request is None:
        heads, balances = ledger_repo.lock_for_append(connection, *contribution_needs(pool_id, user_id))
        return PoolLoaded(loaded.record, loaded.members, loaded.contributions, None, heads, balances)
    draft = contribution_draft(pool_id, user_id, 1)
    redeem = planting_repo.load_redeem(connection, catalog, request, drafts_before=[draft])
    return PoolLoaded(loaded.record, loaded.members, loaded.contributions, redeem.places, redeem.heads, redeem.balances)


def load_leave(connection: Connection, pool_id: str, user_id: str) -> PoolLoaded:
    """For ``pools.decide_leave``: the locked pool and the ledger of the refund."""
    loaded = load_pool(connection, pool_id, lock=True)
    heads, balances = ledger_repo.lock_for_append(connection, *leave_needs(pool_id, user_id))
    return PoolLoaded(loaded.record, loaded.members, loaded.contributions, None, heads, balances)


def store(connection: Connection, move: PoolMove, *, now: datetime) -> None:
    """Write everything ``move`` decided, in the caller's commit."""
    record = move.record
    pool_id = record.pool_id
    if move.created:
        connection.execute(POOLS.insert(), [{name: getattr(record, name) for name in _RECORD_FIELDS}])
    elif move.updated:
        connection.execute(
            update(POOLS)
            .where(POOLS.c.pool_id == pool_id)
            .values(status=record.status, redeemed_at=record.redeemed_at, tree_id=record.tree_id, joined=record.joined)
        )
    if move.members_added:
        connection.execute(MEMBERS.insert(), [
            {"pool_id": pool_id, "user_id": user, "position": position, "joined_at": joined_at}
            for user, position, joined_at in move.members_added
        ])  # fmt: skip
    for user_id in move.members_removed:
        connection.execute(
            delete(CONTRIBUTIONS).where(CONTRIBUTIONS.c.pool_id == pool_id, CONTRIBUTIONS.c.user_id == user_id)
        )
        connection.execute(delete(MEMBERS).where(MEMBERS.c.pool_id == pool_id, MEMBERS.c.user_id == user_id))
    if move.contribution is not None:
        _save_contribution(connection, pool_id, *move.contribution)
    if move.redeemed is not None:
        planting_repo.store_redeem(connection, move.redeemed, now=now)
    else:
        ledger_repo.store_write(connection, move.ledger, now=now)


def _save_contribution(connection: Connection, pool_id: str, user_id: str, day: date, energy_g: int) -> None:
    """The member's total of that local day (the pool row's lock serialises its writers)."""
    mark = "?" if connection.dialect.name == "sqlite" else "%s"
    connection.exec_driver_sql(
        f"INSERT INTO coplant_contributions (pool_id, user_id, local_day, energy_g) VALUES ({mark}, {mark}, {mark}, "
        f"{mark}) ON CONFLICT (pool_id, user_id, local_day) DO UPDATE SET energy_g = excluded.energy_g",
        (pool_id, user_id, db_date(connection, day), energy_g),
    )


def pools_of_member(connection: Connection, user_id: str) -> list[PoolLoaded]:
    """The pools ``user_id`` is a member of, newest membership first (a view)."""
    ids: Sequence[str] = [
        r.pool_id
        for r in connection.execute(
            select(MEMBERS.c.pool_id, MEMBERS.c.joined_at)
            .where(MEMBERS.c.user_id == user_id)
            .order_by(MEMBERS.c.joined_at.desc(), MEMBERS.c.pool_id)
        )
    ]
    return [load_pool(connection, pool_id) for pool_id in ids]
