"""Forest throughput and leaderboard latency, on SQLite and PostgreSQL.

    python bench/forest.py [--clients 16] [--collect-users 800] [--steal-balls 400]
                           [--users 1000000] [--friends 5000] [--reads 200]
    make bench   # also on a throw-away durable PostgreSQL

Clients are threads calling the services directly (``forest_balls.collect_all``,
``forest_steal.steal``), each with its own pooled connection: this measures the database
work of a request (locks, ledger, scores, the achievements check after it), not HTTP.

- collect-all: ``--collect-users`` users, each with 3 ripe balls (written as ingestion
  writes them: ball + mint transaction), each collected by one collect-all call;
- steal: ``--steal-balls`` victims with one ripe 10 kg ball each and 3 friends each; every
  friend steals once (3 thieves never reach half of a ball, so every steal moves grams);
- leaderboard: ``--users`` users with a lifetime and (for 70 % of them) a weekly score,
  bulk-loaded (executemany on SQLite, COPY on PostgreSQL), and one user with ``--friends``
  mutual friends; read latency of that user's boards (a median score), and of the
  lowest-ranked user's global board (the lowest rank). Beside the latencies, the CPU
  milliseconds a read costs: this process's, plus on PostgreSQL the server backend's (Linux
  ``/proc``; the reads run one after the other on one pooled connection). On a shared
  machine the CPU figures move much less than the latencies.
"""

from __future__ import annotations

import argparse
import os
import queue
import random
import threading
import time
import uuid
from datetime import timedelta

from common import backends, fresh_runtime, percentile, print_table

from greenenergy.db import balls_repo, forest_repo, ledger_repo
from greenenergy.db.engine import read_tx, write_tx
from greenenergy.forest import new_event_ball
from greenenergy.ledger import mint_account, transfer, user_account
from greenenergy.services.forest import balls as forest_balls
from greenenergy.services.forest import leaderboard as forest_leaderboard
from greenenergy.services.forest import steal as forest_steal
from greenenergy.services.runtime import Runtime
from greenenergy.units import shard_of

CHUNK = 500


def make_balls(runtime: Runtime, owners: list[tuple[str, int]]) -> list[str]:
    """One ripe ball per ``(user, grams)``, with its mint, in commits of ``CHUNK``."""
    now = runtime.clock.now()
    ids = []
    for start in range(0, len(owners), CHUNK):
        balls, drafts = [], []
        for user, grams in owners[start : start + CHUNK]:
            ball = new_event_ball(
                ball_id="b-" + uuid.uuid4().hex,
                user_id=user,
                event_type="recycling.box",
                energy_g=grams,
                occurred_at=now - timedelta(days=1),
                ingested_at=now,
                tz=runtime.settings.zone,
            )
            balls.append(ball)
            drafts.append(
                transfer(
                    "mint",
                    debit=mint_account("bench"),
                    credit=user_account(user, "pending"),
                    energy_g=grams,
                    shard=shard_of(user),
                    refs={"ball": ball.ball_id},
                )
            )
        with write_tx(runtime.engine) as connection:
            ledger_repo.post_transactions(connection, drafts, now=now)
            balls_repo.insert_balls(connection, balls, now=now)
        ids.extend(b.ball_id for b in balls)
    return ids


def run_clients(clients: int, jobs: list, action) -> tuple[float, int, int]:
    """Run ``action(job)`` for every job on ``clients`` threads; (seconds, done, refused)."""
    work: queue.Queue = queue.Queue()
    for job in jobs:
        work.put(job)
    counts = {"done": 0, "refused": 0}
    lock = threading.Lock()
    failures: list[BaseException] = []

    def worker() -> None:
        while True:
            try:
                job = work.get_nowait()
            except queue.Empty:
                return
            try:
                action(job)
                key = "done"
            except Exception as error:  # noqa: BLE001 - a refused call is counted, and the run goes on
                key = "refused"
                failures.append(error)
            with lock:
                counts[key] += 1

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if failures:
        print(f"  ({len(failures)} failed; first: {failures[0]!r})")
    return elapsed, counts["done"], counts["refused"]


def bench_collect_all(runtime: Runtime, clients: int, users: int) -> list[object]:
    names = [f"c{n}" for n in range(users)]
    make_balls(runtime, [(u, 100 + k) for u in names for k in range(3)])
    elapsed, done, refused = run_clients(clients, names, lambda u: forest_balls.collect_all(runtime, u))
    return ["collect-all (3 balls each)", done, refused, done / elapsed]


def bench_steal(runtime: Runtime, clients: int, balls: int) -> list[object]:
    victims = [f"v{n}" for n in range(balls)]
    ids = make_balls(runtime, [(v, 10_000) for v in victims])
    jobs, asks = [], []
    for victim, ball_id in zip(victims, ids, strict=True):
        for k in range(3):
            thief = f"t{victim}-{k}"
            asks += [(thief, victim), (victim, thief)]
            jobs.append((thief, victim, ball_id))
    with write_tx(runtime.engine) as connection:
        forest_repo.insert_asks(connection, asks, now=runtime.clock.now())
    random.Random(7).shuffle(jobs)  # thieves of one ball arrive at different moments
    elapsed, done, refused = run_clients(
        clients, jobs, lambda j: forest_steal.steal(runtime, thief_id=j[0], victim_id=j[1], ball_id=j[2])
    )
    return ["steal", done, refused, done / elapsed]


def load_scores(runtime: Runtime, users: int, friends: int) -> tuple[str, str]:
    """Bulk-load the scores and the focus user's friendships; (focus user, lowest user)."""
    rng = random.Random(42)
    week = forest_repo.week_period(runtime.clock.now(), runtime.settings.zone)
    rows = []
    for n in range(users):
        user = f"u{n:07d}"
        lifetime = rng.randint(1, 500_000)
        rows.append((user, forest_repo.LIFETIME, shard_of(user), lifetime))
        if rng.random() < 0.7:
            rows.append((user, week, shard_of(user), rng.randint(1, min(lifetime, 20_000))))
    focus = "u0000000"
    lowest = min((r for r in rows if r[1] == forest_repo.LIFETIME), key=lambda r: r[3])[0]
    with write_tx(runtime.engine) as connection:
        if connection.dialect.name == "postgresql":
            raw = connection.connection.driver_connection
            with raw.cursor().copy("COPY forest_scores (user_id, period, shard, score_g) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            for start in range(0, len(rows), 50_000):
                connection.exec_driver_sql(
                    "INSERT INTO forest_scores (user_id, period, shard, score_g) VALUES (?, ?, ?, ?)",
                    rows[start : start + 50_000],
                )
        # The focus user gets a median score, and friends spread over the whole population.
        connection.exec_driver_sql(
            "UPDATE forest_scores SET score_g = 250000 WHERE user_id = 'u0000000' AND period = 'lifetime'"
        )
        forest_repo.rebuild_boards(connection)  # COPY bypassed the board sizes and score buckets
        mates = rng.sample(range(1, users), friends)
        asks = [pair for m in mates for pair in ((focus, f"u{m:07d}"), (f"u{m:07d}", focus))]
        forest_repo.insert_asks(connection, asks, now=runtime.clock.now())
    with runtime.engine.connect() as connection:  # fresh statistics, and PostgreSQL's visibility map
        if connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
        else:
            connection.exec_driver_sql("ANALYZE")
    return focus, lowest


def backend_cpu_s(runtime: Runtime) -> float:
    """CPU seconds used so far by the PostgreSQL backend of the pool's connection (0 on SQLite)."""
    if runtime.engine.dialect.name != "postgresql":
        return 0.0
    with read_tx(runtime.engine) as connection:
        pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:  # the server runs elsewhere
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_leaderboard(runtime: Runtime, users: int, friends: int, reads: int) -> list[list[object]]:
    start = time.perf_counter()
    focus, lowest = load_scores(runtime, users, friends)
    print(f"  loaded {users:,} users' scores and {friends:,} friendships in {time.perf_counter() - start:.1f} s")
    cases = [
        (focus, "friends", "week"),
        (focus, "friends", "lifetime"),
        (focus, "global", "week"),
        (focus, "global", "lifetime"),
        (lowest, "global", "lifetime"),
    ]
    out = []
    for user, scope, period in cases:
        samples = []
        forest_leaderboard.leaderboard(runtime, user, scope=scope, period=period, limit=10)  # warm
        server_before, client_before = backend_cpu_s(runtime), time.process_time()
        for _ in range(reads):
            began = time.perf_counter()
            board = forest_leaderboard.leaderboard(runtime, user, scope=scope, period=period, limit=10)
            samples.append((time.perf_counter() - began) * 1000)
        cpu_ms = (time.process_time() - client_before + backend_cpu_s(runtime) - server_before) * 1000 / reads
        who = "lowest-ranked user" if user == lowest else f"user with {friends:,} friends"
        out.append(
            [
                f"{scope}/{period} ({who})",
                board.me.rank,
                board.total,
                percentile(samples, 50),
                percentile(samples, 99),
                cpu_ms,
            ]
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--collect-users", type=int, default=800)
    parser.add_argument("--steal-balls", type=int, default=400)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--friends", type=int, default=5000)
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--parts", default="writes,reads", help="writes, reads, or both (comma-separated)")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    throughput, latency = [], []
    for backend in backends():
        print(f"{backend}:")
        if "writes" in parts:
            with fresh_runtime(backend) as runtime:
                throughput.append([backend, *bench_collect_all(runtime, args.clients, args.collect_users)])
                throughput.append([backend, *bench_steal(runtime, args.clients, args.steal_balls)])
        if "reads" in parts:
            with fresh_runtime(backend) as runtime:
                latency += [[backend, *row] for row in bench_leaderboard(runtime, args.users, args.friends, args.reads)]
    if throughput:
        print_table(
            f"forest writes, {args.clients} concurrent clients (threads calling the services)",
            ["backend", "operation", "done", "refused", "ops/s"],
            throughput,
        )
    if latency:
        print_table(
            f"leaderboard reads ({args.users:,} users, {args.reads} reads each, ms)",
            ["backend", "board", "rank", "total", "p50 ms", "p99 ms", "CPU ms/read"],
            latency,
        )


if __name__ == "__main__":
    main()
