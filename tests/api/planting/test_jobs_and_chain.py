"""The overdue job, the auditors' list, the confirmations hash chain, and the forest's queries."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from greenenergy.clock import ManualClock
from greenenergy.db import users_repo
from greenenergy.db.chains import read_heads
from greenenergy.db.engine import read_tx, write_tx
from greenenergy.db.planting_repo import CONFIRMATIONS, CONFIRMATIONS_CHAIN, confirmation_chain_records
from greenenergy.ledger import verify_shard
from greenenergy.planting import PlantingReport, SurvivalReport
from greenenergy.services.planting import jobs as planting_jobs
from greenenergy.services.planting import partner as planting_partner
from greenenergy.services.planting import queries as planting_queries
from greenenergy.services.planting import redeem as planting_redeem
from greenenergy.services.planting.partner import Confirmation
from greenenergy.services.runtime import Runtime
from greenenergy.units import SHARD_COUNT, shard_of
from tests.api.planting.conftest import IN_A02, SAXAUL_G, fund, photo
from tests.helpers import bearer


def redeem(runtime: Runtime, user: str) -> str:
    fund(runtime, user, SAXAUL_G)
    return planting_redeem.redeem(runtime, user, "saxaul", "a-02").tree_id


def plant(runtime: Runtime, tree_id: str, n: int) -> Confirmation:
    return planting_partner.confirm_planting(
        runtime,
        PlantingReport(
            tree_id=tree_id,
            partner_id="north",
            species_id="saxaul",
            planted_at=runtime.clock.now(),
            latitude=IN_A02[0] + n * 0.0001,
            longitude=IN_A02[1],
            photo_sha256=photo(n),
            tag=f"T{n}",
        ),
    )


def test_mark_overdue_is_idempotent_and_auditors_list_the_orders(
    client: TestClient, runtime: Runtime, clock: ManualClock
) -> None:
    late, planted = redeem(runtime, "u-1"), redeem(runtime, "u-2")
    clock.advance(days=29)
    plant(runtime, planted, 1)
    assert planting_jobs.mark_overdue(runtime) == 0
    clock.advance(days=2)  # a-02's deadline is 30 days
    assert planting_jobs.mark_overdue(runtime) == 1
    assert planting_jobs.mark_overdue(runtime) == 0
    assert planting_jobs.mark_overdue(runtime, now=clock.now() + timedelta(days=1)) == 0
    listed = client.get("/v1/audit/overdue-orders", headers=bearer(runtime, "auditor", "a-1")).json()
    assert [(o["tree_id"], o["owner_id"], o["days_overdue"]) for o in listed] == [(late, "u-1", 1)]
    assert client.get("/v1/audit/overdue-orders", headers=bearer(runtime, "user", "u-1")).status_code == 403
    # A late planting is still accepted; the order leaves the overdue list but keeps overdue_at.
    plant(runtime, late, 2)
    assert client.get("/v1/audit/overdue-orders", headers=bearer(runtime, "admin", "root")).json() == []
    order = planting_partner.list_orders(runtime, "north", status="planted")
    assert [o.overdue_at is not None for o in order if o.tree_id == late] == [True]


def test_confirmations_form_a_verifiable_chain_and_tampering_is_detected(runtime: Runtime, clock: ManualClock) -> None:
    trees = [redeem(runtime, user) for user in ("u-1", "u-1", "u-2")]
    clock.advance(days=1)
    for n, tree in enumerate(trees):
        plant(runtime, tree, n)
    clock.advance(days=1)
    planting_partner.report_survival(
        runtime,
        SurvivalReport(
            tree_id=trees[0], partner_id="north", checked_at=clock.now(), alive=False, photo_sha256=photo("dead")
        ),
    )
    shard = shard_of("u-1")

    def findings() -> list:
        with read_tx(runtime.engine) as connection:
            heads = read_heads(connection, CONFIRMATIONS_CHAIN)
            assert len(heads) == SHARD_COUNT
            out = []
            for s in sorted({shard, shard_of("u-2")}):
                out += verify_shard(s, list(confirmation_chain_records(connection, s)), heads[s], noun="confirmation")
            return out

    assert findings() == []
    with read_tx(runtime.engine) as connection:
        records = list(confirmation_chain_records(connection, shard))
    assert [(r.seq, r.kind) for r in records] == [(1, "planting"), (2, "planting"), (3, "survival")]
    for column, value in (("latitude", "38.7099000"), ("alive", True), ("photo_sha256", photo("forged"))):
        target = records[1] if column != "alive" else records[2]
        original = getattr(target, column)
        with write_tx(runtime.engine) as connection:
            connection.execute(update(CONFIRMATIONS).where(CONFIRMATIONS.c.id == target.id).values({column: value}))
        found = findings()
        assert [(f.code, f.record_id) for f in found] == [("hash_mismatch", target.id)], column
        with write_tx(runtime.engine) as connection:
            connection.execute(update(CONFIRMATIONS).where(CONFIRMATIONS.c.id == target.id).values({column: original}))
    assert findings() == []


def test_the_trees_counter_and_the_forests_queries_list_the_years_trees_and_certificates(
    runtime: Runtime, clock: ManualClock
) -> None:
    trees = []
    for _ in range(2):
        trees.append(redeem(runtime, "u-1"))
        clock.advance(minutes=1)  # statements list trees in redemption order
    clock.advance(days=1)
    number = plant(runtime, trees[0], 1).certificate_no
    with read_tx(runtime.engine) as connection:
        counters = users_repo.counters(connection, ["u-1", "u-9"])
        assert (counters["u-1"].trees, counters["u-9"].trees) == (2, 0)
        rows = planting_queries.trees_for_statement(connection, "u-1", 2026, "Asia/Shanghai")
        assert [(r.tree_id, r.status) for r in rows] == [
            (t, s) for t, s in zip(trees, ("planted", "awaiting_planting"), strict=True)
        ]
        assert planting_queries.trees_for_statement(connection, "u-1", 2025, "Asia/Shanghai") == []
        certificates = planting_queries.certificates_for_statement(connection, "u-1", 2026, "Asia/Shanghai")
        assert [(c.certificate_no, c.tree_id) for c in certificates] == [(number, trees[0])]
        assert planting_queries.certificates_for_statement(connection, "u-1", 2027, "Asia/Shanghai") == []
        assert connection.execute(select(func.count()).select_from(CONFIRMATIONS)).scalar_one() == 1
