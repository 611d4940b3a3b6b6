"""Ledger write throughput: single and batched postings, next to the executemany floor.

    python bench/ledger.py [--transactions N] [--batch B]
    make bench   # also on a throw-away durable PostgreSQL

For each backend it measures, in one run:

- ledger, single: one transaction (2 postings, chained, balance-guarded) per commit;
- floor, single: the same rows (1 transaction row + 2 posting rows) inserted with plain
  executemany, one commit each -- what the database costs with no ledger logic;
- ledger, batched: B transactions per commit through ``post_transactions``;
- floor, batched: the same rows for B transactions with plain executemany per commit.

Printed: transactions/s and the ledger/floor ratio.
"""

from __future__ import annotations

import argparse
import uuid
from datetime import UTC, datetime

from common import backends, fresh_runtime, print_table, timed

from greenenergy.db.engine import write_tx
from greenenergy.db.ledger_repo import POSTINGS, TX, post_transactions
from greenenergy.ledger import transfer, user_account
from greenenergy.services import ledger
from greenenergy.units import shard_of

USERS = [f"u-{n}" for n in range(5000)]


def drafts(count: int, offset: int) -> list:
    out = []
    for n in range(offset, offset + count):
        user = USERS[n % len(USERS)]
        out.append(
            transfer(
                "mint",
                debit="mint:bench",
                credit=user_account(user, "pending"),
                energy_g=1 + n % 300,
                shard=shard_of(user),
                refs={"event": f"e-{n}"},
            )
        )
    return out


def floor_rows(count: int, offset: int) -> tuple[list[dict], list[dict]]:
    now = datetime.now(UTC)
    tx_rows, posting_rows = [], []
    for n in range(offset, offset + count):
        user = USERS[n % len(USERS)]
        tx_id = uuid.uuid4().hex
        tx_rows.append(
            {
                "id": tx_id,
                "shard": 0,
                "seq": n + 1,
                "kind": "mint",
                "created_at": now,
                "idempotency_key": None,
                "reverses": None,
                "refs": '{"event":"e"}',
                "prev_hash": "0" * 64,
                "hash": "0" * 64,
            }
        )
        posting_rows.append(
            {
                "transaction_id": tx_id,
                "idx": 0,
                "account": "mint:bench",
                "shard": shard_of(user),
                "energy_g": -5,
                "created_at": now,
            }
        )
        posting_rows.append(
            {
                "transaction_id": tx_id,
                "idx": 1,
                "account": user_account(user, "pending"),
                "shard": shard_of(user),
                "energy_g": 5,
                "created_at": now,
            }
        )
    return tx_rows, posting_rows


def run(backend: str, single_n: int, batched_n: int, batch: int) -> list[list[object]]:
    rows: list[list[object]] = []
    with fresh_runtime(backend) as runtime:
        single = [drafts(1, n) for n in range(single_n)]
        elapsed = timed(lambda: [ledger.post(runtime, d) for d in single])
        ledger_single = single_n / elapsed

    with fresh_runtime(backend) as runtime:
        prepared = [floor_rows(1, n) for n in range(single_n)]

        def floor_single() -> None:
            for tx_rows, posting_rows in prepared:
                with write_tx(runtime.engine) as connection:
                    connection.execute(TX.insert(), tx_rows)
                    connection.execute(POSTINGS.insert(), posting_rows)

        floor_single_rate = single_n / timed(floor_single)

    with fresh_runtime(backend) as runtime:
        batches = [drafts(batch, n) for n in range(0, batched_n, batch)]

        def batched() -> None:
            for chunk in batches:
                with write_tx(runtime.engine) as connection:
                    post_transactions(connection, chunk, now=runtime.clock.now())

        ledger_batched = batched_n / timed(batched)

    with fresh_runtime(backend) as runtime:
        prepared_batches = [floor_rows(batch, n) for n in range(0, batched_n, batch)]

        def floor_batched() -> None:
            for tx_rows, posting_rows in prepared_batches:
                with write_tx(runtime.engine) as connection:
                    connection.execute(TX.insert(), tx_rows)
                    connection.execute(POSTINGS.insert(), posting_rows)

        floor_batched_rate = batched_n / timed(floor_batched)

    rows.append([backend, "single (1 tx/commit)", ledger_single, floor_single_rate, ledger_single / floor_single_rate])
    rows.append(
        [
            backend,
            f"batched ({batch} tx/commit)",
            ledger_batched,
            floor_batched_rate,
            ledger_batched / floor_batched_rate,
        ]
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--single", type=int, default=2000, help="transactions posted one per commit")
    parser.add_argument("--transactions", type=int, default=100_000, help="transactions posted in batches")
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    rows: list[list[object]] = []
    for backend in backends():
        rows.extend(run(backend, args.single, args.transactions, args.batch))
    print_table(
        "ledger writes (transactions/s; floor = plain executemany of the same rows, same run)",
        ["backend", "mode", "ledger tx/s", "floor tx/s", "ledger/floor"],
        rows,
    )


if __name__ == "__main__":
    main()
