"""ASGI apps for bench/ingest.py, built from the environment by uvicorn --factory.

``full``: the real greenenergy app. ``bare``: the same app (middleware, request model, token
check) plus two endpoints that do no engine work at all -- no scoring, caps, ledger rules,
ball logic or hashing -- and only write rows, one commit per request:

* ``/bench/bare-rows``: every row the full endpoint writes for an accepted event (the event,
  its mint transaction and two postings, its ball, the user's pending balance and a cap
  usage row), filled with placeholder values: the storage floor of the same output;
* ``/bench/bare-events``: only the event rows (the floor of storing the input).
"""

from __future__ import annotations

import itertools
import os
import secrets
import threading
from datetime import timedelta
from typing import Any

from fastapi import FastAPI

from greenenergy.api.app import create_app
from greenenergy.api.deps import CurrentPrincipal
from greenenergy.api.routes.events import EventBatch
from greenenergy.audit.records import data_json
from greenenergy.config import load_settings
from greenenergy.db.bulk import db_instant, insert_tuples, upsert_tuples
from greenenergy.db.engine import write_tx
from greenenergy.db.events_repo import CAPS, EVENT_COLUMNS, EVENTS
from greenenergy.db.ledger_repo import POSTINGS, TX
from greenenergy.db.tables_forest import BallRow
from greenenergy.services.runtime import Runtime
from greenenergy.units import shard_of

BALLS = BallRow.__table__
PLACEHOLDER_HASH = "0" * 64


def _runtime() -> Runtime:
    return Runtime.from_settings(load_settings(database_url=os.environ["BENCH_DATABASE_URL"]))


def full() -> FastAPI:
    return create_app(_runtime())


def bare() -> FastAPI:
    runtime = _runtime()
    app = create_app(runtime)  # same middleware, error handling and token resolution
    # Unique across uvicorn worker processes (shard, seq and ids must not collide).
    sequence = itertools.count(os.getpid() * 1_000_000_000 + 1)
    lock = threading.Lock()

    def seqs(count: int) -> list[int]:
        with lock:
            return [next(sequence) for _ in range(count)]

    @app.post("/bench/bare-events")
    def bare_events(batch: EventBatch, principal: CurrentPrincipal) -> dict[str, Any]:
        with write_tx(runtime.engine) as connection:
            now = db_instant(connection, runtime.clock.now())
            rows = [
                (
                    principal.subject,
                    e.event_id,
                    shard_of(e.user_id),
                    seq,
                    e.user_id,
                    e.type,
                    db_instant(connection, e.occurred_at),
                    now,
                    data_json(e.data),
                    0,
                    "-",
                    "-",
                    None,
                    None,
                    PLACEHOLDER_HASH,
                    PLACEHOLDER_HASH,
                )
                for e, seq in zip(batch.events, seqs(len(batch.events)), strict=True)
            ]
            insert_tuples(connection, EVENTS, EVENT_COLUMNS, rows)
        return {"stored": len(rows)}

    @app.post("/bench/bare-rows")
    def bare_rows(batch: EventBatch, principal: CurrentPrincipal) -> dict[str, Any]:
        with write_tx(runtime.engine) as connection:
            clock_now = runtime.clock.now()
            now = db_instant(connection, clock_now)
            events, txs, postings, balls, balances, usage = [], [], [], [], {}, {}
            for e, seq in zip(batch.events, seqs(len(batch.events)), strict=True):
                shard = shard_of(e.user_id)
                tx_id = f"{seq:016x}{secrets.randbits(64):016x}"
                ball_id = f"b-{seq:032x}"
                pending = f"user:{e.user_id}:pending"
                occurred = db_instant(connection, e.occurred_at)
                events.append(
                    (
                        principal.subject,
                        e.event_id,
                        shard,
                        seq,
                        e.user_id,
                        e.type,
                        occurred,
                        now,
                        data_json(e.data),
                        5,
                        e.type + "@1",
                        "5",
                        tx_id,
                        ball_id,
                        PLACEHOLDER_HASH,
                        PLACEHOLDER_HASH,
                    )
                )
                txs.append((tx_id, shard, seq, "mint", now, None, None, "{}", PLACEHOLDER_HASH, PLACEHOLDER_HASH))
                postings.append((tx_id, 0, "mint:" + e.type, shard, -5, now))
                postings.append((tx_id, 1, pending, shard, 5, now))
                visible = db_instant(connection, clock_now + timedelta(hours=1))
                expires = db_instant(connection, clock_now + timedelta(hours=73))
                balls.append(
                    (ball_id, e.user_id, shard, e.type, "event", 5, 0, 0, 0, visible, visible, expires, None, None, now)
                )
                balances[(pending, shard)] = balances.get((pending, shard), 0) + 5
                day = e.occurred_at.date().isoformat()
                usage[(e.user_id, e.type, "day", day, "")] = shard
            insert_tuples(connection, EVENTS, EVENT_COLUMNS, events)
            insert_tuples(
                connection,
                TX,
                (
                    "id",
                    "shard",
                    "seq",
                    "kind",
                    "created_at",
                    "idempotency_key",
                    "reverses",
                    "refs",
                    "prev_hash",
                    "hash",
                ),
                txs,
            )
            insert_tuples(
                connection, POSTINGS, ("transaction_id", "idx", "account", "shard", "energy_g", "created_at"), postings
            )
            insert_tuples(
                connection,
                BALLS,
                (
                    "ball_id",
                    "user_id",
                    "shard",
                    "event_type",
                    "source",
                    "energy_g",
                    "collected_g",
                    "stolen_g",
                    "expired_g",
                    "ripens_at",
                    "visible_at",
                    "expires_at",
                    "collected_at",
                    "giver_id",
                    "created_at",
                ),
                balls,
            )
            upsert_tuples(
                connection,
                CAPS,
                ("user_id", "rule_id", "per", "period_start", "key_value", "shard", "count", "energy_g"),
                ("user_id", "rule_id", "per", "period_start", "key_value"),
                [(*key, shard, 1, 5) for key, shard in sorted(usage.items())],
            )
            mark = "?" if connection.dialect.name == "sqlite" else "%s"
            connection.exec_driver_sql(
                f"INSERT INTO ledger_balances (account, shard, balance_g) VALUES ({mark}, {mark}, {mark}) "
                "ON CONFLICT (account, shard) DO UPDATE SET balance_g = ledger_balances.balance_g + excluded.balance_g",
                [(account, shard, grams) for (account, shard), grams in sorted(balances.items())],
            )
        return {"stored": len(events)}

    return app
