"""Co-planting: daily caps per member, never over the price, refunds only before redemption.

saxaul costs 17,900 g; the default daily cap is a third of it rounded up, 5,967 g.
"""

from __future__ import annotations

from datetime import date

import pytest

from greenenergy.errors import Conflict, Forbidden, InvalidInput
from greenenergy.planting import (
    AlreadyPoolMember,
    DailyCapReached,
    InvalidEnergy,
    NotPoolMember,
    PoolClosed,
    PoolComplete,
    PoolMembersFull,
    contribute,
    is_complete,
    join,
    leave,
    mark_redeemed,
    new_pool,
    shares,
)

DAY_1, DAY_2 = date(2026, 4, 1), date(2026, 4, 2)


@pytest.fixture
def pool(catalog):
    pool = new_pool("pool-1", catalog.get_species("saxaul"), "ann")
    join(pool, "bo")
    return pool


def test_default_cap_is_a_third_of_the_price_rounded_up(pool):
    assert pool.price_g == 17_900 and pool.daily_cap_g == 5_967


def test_contribution_is_cut_to_the_daily_cap(pool):
    assert contribute(pool, "ann", 10_000, DAY_1) == 5_967
    with pytest.raises(DailyCapReached) as raised:
        contribute(pool, "ann", 1, DAY_1)
    assert raised.value.code == "daily_cap_reached" and isinstance(raised.value, Conflict)
    assert contribute(pool, "ann", 100, DAY_2) == 100  # a new local day, a new cap
    assert contribute(pool, "bo", 5_967, DAY_1) == 5_967  # caps are per member


def test_the_pool_never_holds_more_than_the_price(pool):
    contribute(pool, "ann", 5_967, DAY_1)
    contribute(pool, "bo", 5_967, DAY_1)
    contribute(pool, "ann", 5_000, DAY_2)
    assert contribute(pool, "bo", 5_967, DAY_2) == 17_900 - 2 * 5_967 - 5_000  # only what is lacking
    assert is_complete(pool)
    with pytest.raises(PoolComplete):
        contribute(pool, "bo", 1, DAY_2)
    assert sum(shares(pool).values()) == 17_900


def test_shares_follow_contributions(pool):
    contribute(pool, "ann", 3_000, DAY_1)
    contribute(pool, "bo", 2_000, DAY_1)
    contribute(pool, "ann", 1_000, DAY_2)
    assert shares(pool) == {"ann": 4_000, "bo": 2_000}


def test_leaving_before_redemption_refunds_everything(pool):
    contribute(pool, "bo", 3_000, DAY_1)
    contribute(pool, "bo", 2_000, DAY_2)
    contribute(pool, "ann", 1_000, DAY_1)
    assert leave(pool, "bo") == 5_000
    assert shares(pool) == {"ann": 1_000}
    with pytest.raises(NotPoolMember) as raised:
        contribute(pool, "bo", 10, DAY_2)
    assert isinstance(raised.value, Forbidden)


def test_after_redemption_nobody_leaves_joins_or_contributes(pool):
    for day in (DAY_1, DAY_2):
        contribute(pool, "ann", 5_967, day)
    contribute(pool, "bo", 5_966, DAY_1)
    assert mark_redeemed(pool) == {"ann": 11_934, "bo": 5_966}
    with pytest.raises(PoolClosed):
        leave(pool, "bo")
    with pytest.raises(PoolClosed):
        join(pool, "cy")
    with pytest.raises(PoolClosed):
        contribute(pool, "ann", 1, date(2026, 4, 3))


def test_an_incomplete_pool_cannot_be_redeemed(pool):
    contribute(pool, "ann", 100, DAY_1)
    with pytest.raises(Conflict) as raised:
        mark_redeemed(pool)
    assert raised.value.code == "pool_incomplete"


def test_bad_contributions_and_membership(catalog, pool):
    for bad in (0, -5):
        with pytest.raises(InvalidEnergy):
            contribute(pool, "ann", bad, DAY_1)
    with pytest.raises(TypeError):
        contribute(pool, "ann", 10.5, DAY_1)
    with pytest.raises(AlreadyPoolMember):
        join(pool, "ann")
    small = new_pool("pool-2", catalog.get_species("saxaul"), "ann", max_members=2, daily_cap_g=100)
    join(small, "bo")
    with pytest.raises(PoolMembersFull):
        join(small, "cy")
    assert contribute(small, "ann", 500, DAY_1) == 100
    with pytest.raises(InvalidInput) as raised:
        new_pool("pool-3", catalog.get_species("share"), "ann")
    assert raised.value.code == "not_a_tree"
