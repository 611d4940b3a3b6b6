"""ASGI apps for bench/ingest.py, built from the environment by uvicorn --factory.

``full``: the real greenenergy app. ``bare``: the same request model and token check, but
the endpoint only stores the event rows (no scoring, ledger, balls, caps or hash chain):
the floor the real endpoint is compared with.
"""

from __future__ import annotations

import itertools
import os
import threading
from typing import Any

from fastapi import FastAPI

from greenenergy.api.app import create_app
from greenenergy.api.deps import CurrentPrincipal
from greenenergy.api.routes.events import EventBatch
from greenenergy.config import load_settings
from greenenergy.db.bulk import insert_rows
from greenenergy.db.engine import write_tx
from greenenergy.db.events_repo import EVENTS, data_text
from greenenergy.services.runtime import Runtime
from greenenergy.units import shard_of


def _runtime() -> Runtime:
    return Runtime.from_settings(load_settings(database_url=os.environ["BENCH_DATABASE_URL"]))


def full() -> FastAPI:
    return create_app(_runtime())


def bare() -> FastAPI:
    runtime = _runtime()
    app = create_app(runtime)  # same middleware, error handling and token resolution
    sequence = itertools.count(1)
    lock = threading.Lock()

    @app.post("/bench/bare-events")
    def bare_events(batch: EventBatch, principal: CurrentPrincipal) -> dict[str, Any]:
        now = runtime.clock.now()
        with lock:
            seqs = [next(sequence) for _ in batch.events]
        rows = [
            {"source_id": principal.subject, "event_id": e.event_id, "shard": shard_of(e.user_id), "seq": seq,
             "user_id": e.user_id, "event_type": e.type, "occurred_at": e.occurred_at, "ingested_at": now,
             "data": data_text(e.data), "energy_g": 0, "rule_ref": "-", "explanation": "-",
             "transaction_id": None, "ball_id": None, "prev_hash": "-", "hash": "-"}
            for e, seq in zip(batch.events, seqs, strict=True)
        ]
        with write_tx(runtime.engine) as connection:
            insert_rows(connection, EVENTS, rows)
        return {"stored": len(rows)}

    return app
