"""Concurrent requests on both databases: no overbooking, no double spend, no reused evidence."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from greenenergy.db.engine import read_tx
from greenenergy.db.planting_repo import OCCUPANCY, TREES
from greenenergy.errors import GreenEnergyError
from greenenergy.planting import PlantingReport
from greenenergy.services import ledger
from greenenergy.services.audit.verify import verify
from greenenergy.services.planting import partner as planting_partner
from greenenergy.services.planting import redeem as planting_redeem
from greenenergy.services.runtime import Runtime
from tests.api.planting.conftest import IN_A01, SAXAUL_G, available, fund, photo

USERS = 50


def race(count: int, action: Callable[[int], object]) -> list[str]:
    """Run ``action(n)`` in ``count`` threads released together; each outcome is "ok" or an error code."""
    barrier = threading.Barrier(count)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(n: int) -> None:
        barrier.wait()
        try:
            action(n)
            result = "ok"
        except GreenEnergyError as error:
            result = error.code
        except Exception as error:
            result = f"unexpected: {error!r}"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_fifty_users_redeem_into_a_plot_with_ten_places_left(runtime: Runtime) -> None:
    # a-01 has 10 saxaul places left (all of them); every user can afford one tree.
    users = [f"u-{n}" for n in range(USERS)]
    for user in users:
        fund(runtime, user, SAXAUL_G + 5)

    outcomes = race(USERS, lambda n: planting_redeem.redeem(runtime, users[n], "saxaul", "a-01"))

    assert Counter(outcomes) == {"ok": 10, "plot_full": 40}
    balances = Counter(available(runtime, user) for user in users)
    assert balances == {5: 10, SAXAUL_G + 5: 40}  # debited exactly once each, only the winners
    assert ledger.balance(runtime, "sink:trees") == 10 * SAXAUL_G
    with read_tx(runtime.engine) as connection:
        trees = connection.execute(
            select(func.count()).select_from(TREES).where(TREES.c.plot_id == "a-01")
        ).scalar_one()
        occupied = connection.execute(select(OCCUPANCY.c.occupied).where(OCCUPANCY.c.plot_id == "a-01")).scalar_one()
    assert (trees, occupied) == (10, 10)
    assert verify(runtime).ok


def test_concurrent_redemptions_of_one_user_never_overdraw(runtime: Runtime) -> None:
    fund(runtime, "u-rich", 3 * SAXAUL_G)
    outcomes = race(8, lambda n: planting_redeem.redeem(runtime, "u-rich", "saxaul"))
    assert Counter(outcomes) == {"ok": 3, "insufficient_energy": 5}
    assert available(runtime, "u-rich") == 0
    with read_tx(runtime.engine) as connection:
        assert sum(connection.execute(select(OCCUPANCY.c.occupied)).scalars()) == 3


def test_two_partners_racing_with_one_photo_confirm_one_tree(runtime: Runtime) -> None:
    for user in ("u-a", "u-b"):
        fund(runtime, user, SAXAUL_G)
    trees = [planting_redeem.redeem(runtime, user, "saxaul", "a-01").tree_id for user in ("u-a", "u-b")]
    runtime.clock.advance(days=1)  # type: ignore[attr-defined]
    planted_at = runtime.clock.now()

    def confirm(n: int) -> object:
        return planting_partner.confirm_planting(
            runtime,
            PlantingReport(
                tree_id=trees[n],
                partner_id="north",
                species_id="saxaul",
                planted_at=planted_at,
                latitude=IN_A01[0] + n * 0.001,
                longitude=IN_A01[1],
                photo_sha256=photo("same"),
                tag=None,
            ),
        )

    assert sorted(race(2, confirm)) == ["duplicate_photo", "ok"]


@pytest.mark.postgres_only  # row locks: SQLite runs one writer at a time
def test_a_redemption_takes_another_plot_with_room_while_the_freest_ones_row_is_held(runtime: Runtime) -> None:
    """Without a requested plot, a redemption does not queue behind a concurrent one on the
    freest plot's occupancy row: it takes the next plot with room (FOR UPDATE SKIP LOCKED)."""
    for user in ("u-a", "u-b"):
        fund(runtime, user, 2 * SAXAUL_G)
    assert planting_redeem.redeem(runtime, "u-a", "saxaul", "a-01").plot_id == "a-01"  # 9 places left
    assert planting_redeem.redeem(runtime, "u-a", "saxaul", "a-02").plot_id == "a-02"  # 2 places left
    done: list[str] = []
    with runtime.engine.connect() as other, other.begin():
        other.exec_driver_sql(
            "SELECT occupied FROM plot_occupancy WHERE plot_id = 'a-01' AND species_id = 'saxaul' FOR UPDATE"
        )
        racer = threading.Thread(target=lambda: done.append(planting_redeem.redeem(runtime, "u-b", "saxaul").plot_id))
        racer.start()
        racer.join(timeout=20)
        assert done == ["a-02"], "the redemption waited for the held row instead of taking the other plot"
    assert planting_redeem.redeem(runtime, "u-b", "saxaul").plot_id == "a-01"  # released: the freest again
    with read_tx(runtime.engine) as connection:
        occupied = dict(connection.execute(select(OCCUPANCY.c.plot_id, OCCUPANCY.c.occupied)).all())
    assert occupied == {"a-01": 2, "a-02": 2}
