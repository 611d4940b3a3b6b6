"""Concurrent debits never overdraw: 20 threads, a balance that covers exactly 7 debits."""

from __future__ import annotations

import threading

from greenenergy.errors import InsufficientEnergy
from greenenergy.ledger import transfer, user_account
from greenenergy.services import ledger
from greenenergy.services.audit.verify import verify
from greenenergy.services.runtime import Runtime
from greenenergy.units import shard_of

THREADS = 20
DEBIT_G = 33
COVERED = 7


def test_twenty_threads_debit_a_balance_covering_seven(runtime: Runtime) -> None:
    account = user_account("u-race", "available")
    shard = shard_of("u-race")
    ledger.post_one(
        runtime, transfer("mint", debit="mint:test", credit=account, energy_g=DEBIT_G * COVERED, shard=shard)
    )
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def debit(n: int) -> None:
        barrier.wait()
        try:
            ledger.post_one(
                runtime,
                transfer(
                    "redeem",
                    debit=account,
                    credit="sink:trees",
                    energy_g=DEBIT_G,
                    shard=shard,
                    refs={"attempt": str(n)},
                ),
            )
            result = "ok"
        except InsufficientEnergy:
            result = "refused"
        except Exception as error:  # anything else is a failure of the test, reported below
            result = f"error: {error!r}"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=debit, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["ok"] * COVERED + ["refused"] * (THREADS - COVERED)
    assert ledger.balance(runtime, account) == 0
    assert ledger.balance(runtime, "sink:trees") == DEBIT_G * COVERED
    report = verify(runtime)
    assert report.ok, report.findings
    assert report.transactions == 1 + COVERED


def test_concurrent_writers_of_different_shards_and_cross_shard_transfers_do_not_deadlock(runtime: Runtime) -> None:
    users = [f"u-{n}" for n in range(8)]
    ledger.post(
        runtime,
        [
            transfer("mint", debit="mint:test", credit=user_account(u, "available"), energy_g=1000, shard=shard_of(u))
            for u in users
        ],
    )
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        giver, taker = users[n % 8], users[(n * 3 + 1) % 8]
        if giver == taker:
            return
        try:
            for _ in range(10):
                ledger.post_one(
                    runtime,
                    transfer(
                        "water",
                        debit=user_account(giver, "available"),
                        credit=user_account(taker, "available"),
                        energy_g=10,
                        shard=shard_of(giver),
                    ),
                )
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    total = sum(ledger.balance(runtime, user_account(u, "available")) for u in users)
    assert total == 8000
    assert verify(runtime).ok


def _debit_in_own_process(database_url: str, account: str, shard: int, n: int, start, outcomes) -> None:
    """A separate OS process with its own engine: SQLite's locking (BEGIN IMMEDIATE, busy
    timeout) or PostgreSQL's row locks are all that stands between the writers."""
    from greenenergy.config import load_settings

    runtime = Runtime.from_settings(load_settings(database_url=database_url))
    start.wait()
    try:
        ledger.post_one(
            runtime,
            transfer(
                "redeem", debit=account, credit="sink:trees", energy_g=DEBIT_G, shard=shard, refs={"attempt": f"p{n}"}
            ),
        )
        outcomes.put("ok")
    except InsufficientEnergy:
        outcomes.put("refused")
    except Exception as error:  # reported by the assertion below
        outcomes.put(f"error: {error!r}")
    finally:
        runtime.close()


def test_twenty_processes_debit_a_balance_covering_seven(runtime: Runtime) -> None:
    import multiprocessing

    account = user_account("u-procs", "available")
    shard = shard_of("u-procs")
    ledger.post_one(
        runtime, transfer("mint", debit="mint:test", credit=account, energy_g=DEBIT_G * COVERED, shard=shard)
    )
    # forkserver: each writer forks from a clean server process (no connection or lock state
    # of this one inherited) that has already imported the service modules.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(
        ["greenenergy.services.ledger.posting", "greenenergy.config", "tests.api.test_ledger_concurrency"]
    )
    start, outcomes = context.Event(), context.Queue()
    processes = [
        context.Process(
            target=_debit_in_own_process, args=(runtime.settings.database_url, account, shard, n, start, outcomes)
        )
        for n in range(THREADS)
    ]
    for process in processes:
        process.start()
    start.set()
    results = [outcomes.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert sorted(results) == ["ok"] * COVERED + ["refused"] * (THREADS - COVERED)
    assert ledger.balance(runtime, account) == 0
    assert verify(runtime).ok
