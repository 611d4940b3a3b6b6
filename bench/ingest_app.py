"""ASGI apps for bench/ingest.py, built from the environment by uvicorn --factory.

``full``: the real greenenergy app. ``bare``: the same app (middleware, request model, token
check) plus two endpoints that do no engine work at all -- no scoring, caps, ball logic or
hashing -- and only write rows, one commit per request:

* ``/bench/bare-rows``: every row the full endpoint writes for an accepted event (the event,
  its ball, its user's state row), filled with placeholder values: the storage floor of the
  same output;
* ``/bench/bare-events``: only the event rows (the floor of storing the input).
"""

from __future__ import annotations

import itertools
import os
import threading
from datetime import timedelta
from typing import Any

from fastapi import FastAPI

from greenenergy.api.app import create_app
from greenenergy.api.deps import CurrentPrincipal
from greenenergy.api.gc_tuning import tune_for_serving
from greenenergy.api.routes.events import EventBatch
from greenenergy.config import load_settings
from greenenergy.db.bulk import db_instant, insert_tuples, upsert_tuples
from greenenergy.db.engine import write_tx
from greenenergy.db.events_repo import EVENT_COLUMNS, EVENTS
from greenenergy.db.tables_forest import BallRow
from greenenergy.db.users_repo import USERS
from greenenergy.ingestion import data_text
from greenenergy.services.runtime import Runtime
from greenenergy.units import shard_of

BALLS = BallRow.__table__
PLACEHOLDER_HASH = "0" * 64
BALL_COLUMNS = ("ball_id", "user_id", "shard", "event_type", "source", "energy_g", "collected_g", "stolen_g",
                "expired_g", "ripens_at", "visible_at", "expires_at", "collected_at", "giver_id", "created_at",
                "mint_rule")  # fmt: skip
USER_COLUMNS = ("user_id", "shard", "lifetime_g", "scoring", "tallies")


def _runtime() -> Runtime:
    return Runtime.from_settings(load_settings(database_url=os.environ["BENCH_DATABASE_URL"]))


def full() -> FastAPI:
    app = create_app(_runtime())
    tune_for_serving()  # as `greenenergy serve` does
    return app


def bare() -> FastAPI:
    runtime = _runtime()
    app = create_app(runtime)  # same middleware, error handling and token resolution
    tune_for_serving()
    # Unique across uvicorn worker processes (shard, seq and ids must not collide).
    sequence = itertools.count(os.getpid() * 1_000_000_000 + 1)
    lock = threading.Lock()

    def seqs(count: int) -> list[int]:
        with lock:
            return [next(sequence) for _ in range(count)]

    def event_row(
        source: str, e: Any, seq: int, now: object, connection: Any, grams: int, ball_id: str | None
    ) -> tuple:
        return (source, e.event_id, shard_of(e.user_id), 0, seq, 2, e.user_id, e.type,
                db_instant(connection, e.occurred_at), now, data_text(e.data), grams, e.type + "@1", "-", None, ball_id,
                PLACEHOLDER_HASH, PLACEHOLDER_HASH)  # fmt: skip

    @app.post("/bench/bare-events")
    def bare_events(batch: EventBatch, principal: CurrentPrincipal) -> dict[str, Any]:
        with write_tx(runtime.engine) as connection:
            now = db_instant(connection, runtime.clock.now())
            rows = [
                event_row(principal.subject, e, seq, now, connection, 0, None)
                for e, seq in zip(batch.events, seqs(len(batch.events)), strict=True)
            ]
            insert_tuples(connection, EVENTS, EVENT_COLUMNS, rows)
        return {"stored": len(rows)}

    @app.post("/bench/bare-rows")
    def bare_rows(batch: EventBatch, principal: CurrentPrincipal) -> dict[str, Any]:
        with write_tx(runtime.engine) as connection:
            clock_now = runtime.clock.now()
            now = db_instant(connection, clock_now)
            visible = db_instant(connection, clock_now + timedelta(hours=1))
            expires = db_instant(connection, clock_now + timedelta(hours=73))
            events, balls, users = [], [], {}
            for e, seq in zip(batch.events, seqs(len(batch.events)), strict=True):
                ball_id = f"b-{seq:032x}"
                events.append(event_row(principal.subject, e, seq, now, connection, 5, ball_id))
                balls.append((ball_id, e.user_id, shard_of(e.user_id), e.type, "event", 5, 0, 0, 0, visible, visible,
                              expires, None, None, now, e.type))  # fmt: skip
                users[e.user_id] = (e.user_id, shard_of(e.user_id), 5, '{"u":{},"r":{},"h":{}}', '{"n":{},"t":{}}')
            insert_tuples(connection, EVENTS, EVENT_COLUMNS, events)
            insert_tuples(connection, BALLS, BALL_COLUMNS, balls)
            upsert_tuples(connection, USERS, USER_COLUMNS, ("user_id",), [users[u] for u in sorted(users)])
        return {"stored": len(events)}

    return app
