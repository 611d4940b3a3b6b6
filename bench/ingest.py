"""Ingestion throughput through HTTP: POST /v1/events on a real uvicorn server.

    python bench/ingest.py [--events 200000] [--batch 1000] [--clients 2]
    make bench   # also on a throw-away durable PostgreSQL

For each backend, in one run: a fresh database, uvicorn (``--workers`` processes) serving
the real app, the events posted in batches by ``--clients`` concurrent keep-alive clients;
then the same against two *bare* endpoints with the same request model and token check
that do no engine work (bench/ingest_app.py): ``bare rows`` writes every row the real
endpoint writes per event (event, ball, user state) with placeholder values -- the storage
floor of the same output -- and ``bare events`` writes only the event rows, the floor the
target ratio is measured against (>= 0.5). Prints events/s, batch latency p50/p99 and the
ratio to each floor.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx2 as httpx
from common import ROOT, backends, fresh_runtime, percentile, print_table

from greenenergy.services.tokens import create_token

TYPES = [
    ("recycling.box", lambda r: {"boxes": r.randint(1, 4)}),
    ("payment.offline", lambda r: {"amount_fen": r.randint(50, 50_000)}),
    ("transit.metro", lambda r: {}),
    ("transit.bus", lambda r: {}),
    ("walking.steps", lambda r: {"steps": r.randint(500, 25_000)}),
    ("food.no_cutlery", lambda r: {}),
    ("invoice.electronic", lambda r: {}),
    ("logistics.e_waybill", lambda r: {}),
]


def make_bodies(events: int, batch: int, users: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    bodies = []
    for start in range(0, events, batch):
        items = []
        for n in range(start, min(events, start + batch)):
            event_type, data = rng.choice(TYPES)
            occurred = now - timedelta(seconds=rng.randint(60, 3 * 86_400))
            items.append(
                {
                    "event_id": f"e{n}",
                    "type": event_type,
                    "user_id": f"u-{rng.randrange(users)}",
                    "occurred_at": occurred.isoformat(),
                    "data": data(rng),
                }
            )
        bodies.append(json.dumps({"events": items}).encode())
    return bodies


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(factory: str, database_url: str, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(
        os.environ,
        BENCH_DATABASE_URL=database_url,
        GREENENERGY_SCHEDULER="off",
        PYTHONPATH=f"{ROOT / 'bench'}{os.pathsep}{ROOT}",
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            f"ingest_app:{factory}",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
        cwd=ROOT / "bench",
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"uvicorn ({factory}) did not come up")


def post_all(base: str, path: str, token: str, bodies: list[bytes], clients: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    lock = threading.Lock()
    queue = list(enumerate(bodies))
    failures: list[str] = []

    def worker() -> None:
        with httpx.Client(
            base_url=base, timeout=120, headers={"Authorization": f"Bearer {token}", "content-type": "application/json"}
        ) as client:
            while True:
                with lock:
                    if not queue:
                        return
                    _, body = queue.pop(0)
                started = time.perf_counter()
                response = client.post(path, content=body)
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed * 1000)
                    if response.status_code != 200:
                        failures.append(f"{response.status_code} {response.text[:200]}")

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed, e.g. {failures[0]}")
    return wall, latencies


ENDPOINTS = (
    ("full", "full", "/v1/events"),
    ("bare rows", "bare", "/bench/bare-rows"),
    ("bare events", "bare", "/bench/bare-events"),
)


def run(backend: str, bodies: list[bytes], events: int, clients: int, workers: int) -> list[list[object]]:
    rows = []
    for label, factory, path in ENDPOINTS:
        with fresh_runtime(backend) as runtime:
            token, _ = create_token(runtime, role="source", subject="bench")
            url = runtime.settings.database_url
            runtime.close()
            process, base = serve(factory, url, workers)
            try:
                wall, latencies = post_all(base, path, token, bodies, clients)
            finally:
                process.terminate()
                process.wait(timeout=30)
        rows.append([backend, workers, label, events / wall, percentile(latencies, 50), percentile(latencies, 99)])
    _full_rate, rows_rate, events_rate = (row[3] for row in rows)
    for row in rows:
        row += [row[3] / rows_rate, row[3] / events_rate]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2], help="uvicorn worker processes; one run per value"
    )
    args = parser.parse_args()
    bodies = make_bodies(args.events, args.batch, args.users)
    rows: list[list[object]] = []
    for backend in backends():
        for workers in args.workers:
            rows.extend(run(backend, bodies, args.events, args.clients, workers))
    print_table(
        f"POST /v1/events over HTTP (uvicorn, {args.events:,} events, batches of {args.batch}, "
        f"{args.clients} clients; targets: full >= 10,000 events/s and >= 0.5 x bare events)",
        ["backend", "workers", "endpoint", "events/s", "p50 ms", "p99 ms", "vs bare rows", "vs bare events"],
        rows,
    )


if __name__ == "__main__":
    main()
