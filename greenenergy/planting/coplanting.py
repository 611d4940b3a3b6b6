"""Co-planting: a group of users pools energy toward one tree.

A pool is for one species at its price (``price_g``, one tree). Members join, then
contribute energy; the tree is redeemed when the pool holds exactly the price, and each
member's share is what they put in. Leaving before the redemption refunds everything that
member put in; after it nobody joins, contributes or leaves.

Caps: a member contributes at most ``daily_cap_g`` per local day (``on`` is the caller's
local date in the configured zone). By default the cap is a third of the price, rounded
up, so no single member can fund a tree in one day and three days at the cap always
reach the price; a group may configure a smaller or larger cap. A contribution is cut
to what the member's cap left for the day and to what the pool still lacks, never more:
the pool never holds more than the price.

``CoPlantingPool`` is an in-memory view of one pool that the caller loads, changes with
these functions and saves in one commit: the functions mutate it and return the grams the
caller must move between ledger accounts (``contribute``: from the member's balance to the
pool; ``leave``: back from the pool to the member).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from greenenergy.errors import Conflict, InvalidInput
from greenenergy.planting.errors import (
    AlreadyPoolMember,
    DailyCapReached,
    InvalidEnergy,
    NotPoolMember,
    PoolClosed,
    PoolComplete,
    PoolMembersFull,
)
from greenenergy.planting.model import Species
from greenenergy.units import require_grams

DEFAULT_MAX_MEMBERS = 20


@dataclass
class CoPlantingPool:
    pool_id: str
    species_id: str
    price_g: int
    daily_cap_g: int
    max_members: int = DEFAULT_MAX_MEMBERS
    members: list[str] = field(default_factory=list)  # in joining order
    contributions: dict[tuple[str, date], int] = field(default_factory=dict)  # (member, local day) -> g
    status: Literal["open", "redeemed"] = "open"


def new_pool(
    pool_id: str,
    species: Species,
    founder: str,
    *,
    daily_cap_g: int | None = None,
    max_members: int = DEFAULT_MAX_MEMBERS,
) -> CoPlantingPool:
    """An open pool for one tree of ``species`` with ``founder`` as its first member."""
    if species.kind != "tree":
        raise InvalidInput(
            f"co-planting is for trees; {species.species_id} is a {species.kind} entry", code="not_a_tree"
        )
    price_g = int(species.energy_g)
    cap = -(-price_g // 3) if daily_cap_g is None else require_grams(daily_cap_g, what="daily_cap_g")
    if cap < 1:
        raise InvalidEnergy(f"daily_cap_g must be at least 1 g, got {cap}")
    if max_members < 2:
        raise InvalidInput(
            f"a co-planting group needs room for at least 2 members, got {max_members}", code="invalid_group"
        )
    return CoPlantingPool(
        pool_id=pool_id,
        species_id=species.species_id,
        price_g=price_g,
        daily_cap_g=cap,
        max_members=max_members,
        members=[founder],
    )


def _require_open(pool: CoPlantingPool) -> None:
    if pool.status != "open":
        raise PoolClosed(f"co-planting pool {pool.pool_id} has already redeemed its tree")


def _require_member(pool: CoPlantingPool, member: str) -> None:
    if member not in pool.members:
        raise NotPoolMember(f"{member} is not a member of co-planting pool {pool.pool_id}")


def total_g(pool: CoPlantingPool) -> int:
    return sum(pool.contributions.values())


def remaining_g(pool: CoPlantingPool) -> int:
    return pool.price_g - total_g(pool)


def is_complete(pool: CoPlantingPool) -> bool:
    return total_g(pool) == pool.price_g


def shares(pool: CoPlantingPool) -> dict[str, int]:
    """Grams each member put in, in joining order (members yet to contribute show 0)."""
    per_member: dict[str, int] = defaultdict(int)
    for (member, _), grams in pool.contributions.items():
        per_member[member] += grams
    return {member: per_member[member] for member in pool.members}


def join(pool: CoPlantingPool, member: str) -> None:
    _require_open(pool)
    if member in pool.members:
        raise AlreadyPoolMember(f"{member} is already in co-planting pool {pool.pool_id}")
    if len(pool.members) >= pool.max_members:
        raise PoolMembersFull(f"co-planting pool {pool.pool_id} already has {pool.max_members} members")
    pool.members.append(member)


def contribute(pool: CoPlantingPool, member: str, energy_g: int, on: date) -> int:
    """Add up to ``energy_g`` from ``member`` on local day ``on``; returns the grams accepted."""
    require_grams(energy_g)
    if energy_g < 1:
        raise InvalidEnergy(f"a contribution must be at least 1 g, got {energy_g}")
    _require_open(pool)
    _require_member(pool, member)
    lacking = remaining_g(pool)
    if lacking == 0:
        raise PoolComplete(f"co-planting pool {pool.pool_id} already holds the full {pool.price_g} g")
    today = pool.contributions.get((member, on), 0)
    allowance = pool.daily_cap_g - today
    if allowance <= 0:
        raise DailyCapReached(
            f"{member} already gave {today} g today; the cap is {pool.daily_cap_g} g per member per day",
            cap_g=pool.daily_cap_g,
        )
    accepted = min(energy_g, allowance, lacking)
    pool.contributions[(member, on)] = today + accepted
    return accepted


def leave(pool: CoPlantingPool, member: str) -> int:
    """Remove ``member`` before the redemption; returns the grams to refund."""
    _require_open(pool)
    _require_member(pool, member)
    refund = 0
    for key in [key for key in pool.contributions if key[0] == member]:
        refund += pool.contributions.pop(key)
    pool.members.remove(member)
    return refund


def mark_redeemed(pool: CoPlantingPool) -> dict[str, int]:
    """Close a complete pool; returns the final shares (only members who put energy in)."""
    _require_open(pool)
    if not is_complete(pool):
        raise Conflict(f"pool {pool.pool_id} lacks {remaining_g(pool)} g of the price", code="pool_incomplete")
    pool.status = "redeemed"
    return {member: grams for member, grams in shares(pool).items() if grams > 0}
