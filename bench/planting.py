"""Planting throughput: concurrent redemptions and bulk planting confirmations.

    python bench/planting.py [--clients 16] [--per-client 150] [--rows 10000]
    make bench   # also on a throw-away durable PostgreSQL (scripts/with_postgres.py --durable)

For each backend, on a fresh database with the shipped catalog (trees/, partners/):

- redemptions/s: ``--clients`` threads, each redeeming ``--per-client`` saxaul for its own
  user through ``planting_redeem.redeem`` (one commit each: the user's state row, one plot's
  occupancy row, the guarded ledger debit, tree, holder, history and order rows, the
  ``trees`` counter). No plot is requested: each redemption takes the freest plot with room
  whose occupancy row no other redemption holds (PostgreSQL ``SKIP LOCKED``), so the clients
  spread over the plots offering saxaul (two in the shipped catalog) instead of queueing on
  the freest one; the row lock is held from the reservation to the commit, so the figure is
  about (plots with room) over that time. Median and 99th-percentile latency per call, and
  how many trees each plot took.
- bulk confirmations/s: ``--rows`` trees are redeemed first (set-up, not timed), then one
  CSV of that many rows is confirmed through ``planting_partner.confirm_bulk`` (parsing,
  the core's checks, chained confirmation rows, certificates; chunks of 500 rows per
  commit, one savepoint per row).
"""

from __future__ import annotations

import argparse
import hashlib
import threading
import time
import uuid

from common import backends, fresh_runtime, median, percentile, print_table

from greenenergy.db import ledger_repo, planting_repo, planting_views_repo
from greenenergy.db.engine import read_tx, write_tx
from greenenergy.ledger import transfer, user_account
from greenenergy.planting.redemption import Redeem, RedeemIds, decide_redeem
from greenenergy.services import ledger
from greenenergy.services.planting import catalog as planting_catalog
from greenenergy.services.planting import partner as planting_partner
from greenenergy.services.planting import redeem as planting_redeem
from greenenergy.services.runtime import Runtime
from greenenergy.units import shard_of

SPECIES = "saxaul"
BULK_PLOT = "alxa-tengger-01"


def fund(runtime: Runtime, users: list[str], energy_g: int) -> None:
    for start in range(0, len(users), 500):
        ledger.post(
            runtime,
            [
                transfer(
                    "mint",
                    debit="mint:bench",
                    credit=user_account(u, "available"),
                    energy_g=energy_g,
                    shard=shard_of(u),
                )
                for u in users[start : start + 500]
            ],
        )


def redemptions(runtime: Runtime, clients: int, per_client: int) -> tuple[float, float, float, str]:
    price = planting_catalog.catalog(runtime).get_species(SPECIES).energy_g
    users = [f"client-{n}" for n in range(clients)]
    fund(runtime, users, price * per_client)
    barrier = threading.Barrier(clients + 1)
    latencies: list[float] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def client(user: str) -> None:
        mine = []
        barrier.wait()
        try:
            for _ in range(per_client):
                start = time.perf_counter()
                planting_redeem.redeem(runtime, user, SPECIES)
                mine.append(time.perf_counter() - start)
        except BaseException as error:  # noqa: BLE001 -- reported after the run
            failures.append(error)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(u,)) for u in users]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if failures:
        raise RuntimeError(f"{len(failures)} clients failed; first: {failures[0]!r}")
    with read_tx(runtime.engine) as connection:
        counts = planting_views_repo.plot_counts(connection)
    spread = " / ".join(f"{plot}: {reserved}" for (plot, species), (_, reserved) in sorted(counts.items()))
    return len(latencies) / elapsed, median(latencies) * 1000, percentile(latencies, 99) * 1000, spread


def grid_points(runtime: Runtime, count: int) -> list[tuple[float, float]]:
    """``count`` distinct points inside the bulk plot, on a grid of 0.0001 degree (about 10 m)."""
    plot = planting_catalog.catalog(runtime).get_plot(BULK_PLOT)
    ring = plot.geometry.coordinates[0]
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    points = []
    step = 0.0001
    lat = min(lats)
    while lat < max(lats) and len(points) < count:
        lon = min(lons)
        while lon < max(lons) and len(points) < count:
            if plot.contains(latitude=lat, longitude=lon):
                points.append((round(lat, 6), round(lon, 6)))
            lon += step
        lat += step
    if len(points) < count:
        raise RuntimeError(f"plot {BULK_PLOT} holds only {len(points)} grid points; lower --rows")
    return points


def bulk(runtime: Runtime, rows: int) -> tuple[float, int]:
    catalog = planting_catalog.catalog(runtime)
    price = catalog.get_species(SPECIES).energy_g
    users = [f"planter-{n}" for n in range(max(1, rows // 100))]
    fund(runtime, users, price * 100)
    trees = []
    tz = runtime.settings.zone
    for start in range(0, rows, 500):  # set-up: the same redemption path, 500 per commit
        with write_tx(runtime.engine) as connection:
            for n in range(start, min(rows, start + 500)):
                user = users[n // 100]
                request = Redeem(user, SPECIES, BULK_PLOT, 1, user_account(user, "available"), {user: None})
                now = runtime.clock.now()
                loaded = planting_repo.load_redeem(connection, catalog, request)
                ids = RedeemIds(uuid.uuid4().hex, uuid.uuid4().hex, ledger_repo.new_transaction_ids(1))
                redeemed = decide_redeem(catalog, request, loaded, now=now, tz=tz, ids=ids)
                planting_repo.store_redeem(connection, redeemed, now=now)
                trees.append(redeemed.tree.tree_id)
    planted_at = runtime.clock.now().isoformat()
    lines = ["tree_id,planted_at,latitude,longitude,species_id,photo_sha256,tag"]
    for n, (tree_id, (lat, lon)) in enumerate(zip(trees, grid_points(runtime, rows), strict=True)):
        lines.append(
            f"{tree_id},{planted_at},{lat},{lon},{SPECIES},"
            f"{hashlib.sha256(f'bench photo {n}'.encode()).hexdigest()},BENCH-{n:06d}"
        )
    body = ("\n".join(lines) + "\n").encode()
    start = time.perf_counter()
    answer = planting_partner.confirm_bulk(runtime, "alxa-see", body, body_format="csv")
    elapsed = time.perf_counter() - start
    if answer.rejected:
        first = next(r for r in answer.results if r.result == "rejected")
        raise RuntimeError(f"{answer.rejected} rows rejected; first: {first.code}: {first.message}")
    return answer.confirmed / elapsed, answer.confirmed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--per-client", type=int, default=150)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    redeem_rows, bulk_rows = [], []
    for backend in backends():
        with fresh_runtime(backend) as runtime:
            rate, p50, p99, spread = redemptions(runtime, args.clients, args.per_client)
            redeem_rows.append([backend, args.clients, args.clients * args.per_client, rate, p50, p99, spread])
        with fresh_runtime(backend) as runtime:
            rate, confirmed = bulk(runtime, args.rows)
            bulk_rows.append([backend, confirmed, planting_partner.BULK_CHUNK_ROWS, rate])
    print_table(
        "Redemptions (POST /v1/users/{id}/trees service path, no plot requested)",
        ["backend", "clients", "redemptions", "redemptions/s", "p50 ms", "p99 ms", "trees per plot"],
        redeem_rows,
    )
    print_table(
        "Bulk planting confirmations (one CSV, confirm_bulk)",
        ["backend", "rows", "rows/commit", "confirmations/s"],
        bulk_rows,
    )


if __name__ == "__main__":
    main()
