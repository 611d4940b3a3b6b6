"""A user's ``trees`` counter (``user_states``) is written in the commit of every tree they
become a holder of, so it always equals their ``tree_holders`` rows: after solo
redemptions, refused ones, a co-planted tree (one per contributing member) and concurrent
redemptions. ``GET /v1/users/{id}/energy`` and the achievements read the counter."""

from __future__ import annotations

import threading

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from greenenergy.db import users_repo
from greenenergy.db.engine import read_tx
from greenenergy.db.planting_repo import HOLDERS
from greenenergy.errors import GreenEnergyError
from greenenergy.services.planting import redeem as planting_redeem
from greenenergy.services.runtime import Runtime
from tests.api.planting.conftest import SAXAUL_G, fund
from tests.helpers import bearer


def counted(runtime: Runtime, *users: str) -> dict[str, tuple[int, int]]:
    """``{user: (trees counter, tree_holders rows)}``."""
    with read_tx(runtime.engine) as connection:
        counters = users_repo.counters(connection, list(users))
        return {
            user: (
                counters[user].trees,
                connection.execute(
                    select(func.count()).select_from(HOLDERS).where(HOLDERS.c.holder_id == user)
                ).scalar_one(),
            )
            for user in users
        }


def test_solo_redemptions_count_and_refusals_do_not(client: TestClient, runtime: Runtime) -> None:
    fund(runtime, "u-1", 2 * SAXAUL_G + 330_759)
    headers = bearer(runtime, "user", "u-1")
    assert client.post("/v1/users/u-1/trees", json={"species_id": "saxaul"}, headers=headers).status_code == 201
    assert client.post("/v1/users/u-1/trees", json={"species_id": "fir"}, headers=headers).status_code == 201
    full = client.post("/v1/users/u-1/trees", json={"species_id": "fir"}, headers=headers)
    assert full.json()["error"]["code"] == "plot_full"
    poor = client.post("/v1/users/u-1/trees", json={"species_id": "fir", "plot_id": "a-02"}, headers=headers)
    assert poor.json()["error"]["code"] == "species_not_in_plot"
    assert client.post("/v1/users/u-1/trees", json={"species_id": "saxaul"}, headers=headers).status_code == 201
    broke = client.post("/v1/users/u-1/trees", json={"species_id": "saxaul"}, headers=headers)
    assert broke.json()["error"]["code"] == "insufficient_energy"
    assert counted(runtime, "u-1", "u-2") == {"u-1": (3, 3), "u-2": (0, 0)}
    assert client.get("/v1/users/u-1/energy", headers=headers).json()["trees"] == 3


def test_a_co_planted_tree_counts_once_for_each_member_who_put_energy_in(client: TestClient, runtime: Runtime) -> None:
    for user in ("u-a", "u-b", "u-c"):
        fund(runtime, user, SAXAUL_G)

    def post(user: str, path: str, body: dict | None = None) -> dict:
        answer = client.post(
            f"/v1/users/{user}/coplant-pools{path}", json=body or {}, headers=bearer(runtime, "user", user)
        )
        assert answer.status_code in (200, 201), answer.text
        return answer.json()

    pool_id = post("u-a", "", {"species_id": "saxaul", "daily_cap_g": SAXAUL_G})["pool_id"]
    post("u-b", f"/{pool_id}/join")
    post("u-c", f"/{pool_id}/join")  # joins, never contributes: not a holder
    post("u-b", f"/{pool_id}/contributions", {"energy_g": 5_000})
    assert counted(runtime, "u-a", "u-b", "u-c") == {"u-a": (0, 0), "u-b": (0, 0), "u-c": (0, 0)}
    done = post("u-a", f"/{pool_id}/contributions", {"energy_g": SAXAUL_G})
    assert done["tree"] is not None and done["pool"]["status"] == "redeemed"
    assert counted(runtime, "u-a", "u-b", "u-c") == {"u-a": (1, 1), "u-b": (1, 1), "u-c": (0, 0)}
    fund(runtime, "u-b", SAXAUL_G)
    solo = client.post("/v1/users/u-b/trees", json={"species_id": "saxaul"}, headers=bearer(runtime, "user", "u-b"))
    assert solo.status_code == 201, solo.text
    assert counted(runtime, "u-a", "u-b") == {"u-a": (1, 1), "u-b": (2, 2)}


def test_concurrent_redemptions_keep_the_counter_equal_to_the_holders(runtime: Runtime) -> None:
    users = ["u-1", "u-2", "u-3"]
    for user in users:
        fund(runtime, user, 4 * SAXAUL_G)  # 12 trees wanted, 13 places (a-01: 10, a-02: 3)
    barrier = threading.Barrier(12)
    failures: list[str] = []

    def run(user: str) -> None:
        barrier.wait()
        try:
            planting_redeem.redeem(runtime, user, "saxaul")
        except GreenEnergyError as error:
            failures.append(error.code)

    threads = [threading.Thread(target=run, args=(users[n % 3],)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert counted(runtime, *users) == dict.fromkeys(users, (4, 4))
