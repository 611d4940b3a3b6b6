"""Helpers for the forest API tests: balls made the way ingestion makes them.

``make_ball`` writes, in one commit, a ball of any size already funded in the ledger (a
``mint`` transaction to ``user:<uid>:pending``, as ingestion did before energy waited in the
ball; what a watered ball is too) and the user's lifetime grams. Balls whose grams wait
outside the ledger are made by real ingestion in the tests that need them
(``ingested_ball``). Times come from ``forest.new_event_ball``: the ball ripens at the first
07:00 (Asia/Shanghai) after ``occurred_at``.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from greenenergy.db import balls_repo, ledger_repo, users_repo
from greenenergy.db.engine import write_tx
from greenenergy.errors import GreenEnergyError
from greenenergy.forest import Ball, new_event_ball
from greenenergy.ingestion import UserIngestState
from greenenergy.ledger import mint_account, transfer, user_account
from greenenergy.services.forest import friends as forest_friends
from greenenergy.services.ingest import IncomingEvent, ingest
from greenenergy.services.runtime import Runtime
from greenenergy.units import shard_of


def make_ball(
    runtime: Runtime,
    user_id: str,
    energy_g: int,
    event_type: str = "recycling.box",
    occurred_at: datetime | None = None,
    ingested_at: datetime | None = None,
) -> Ball:
    """A new ball of ``user_id`` worth ``energy_g``, funded in the ledger (module docstring)."""
    now = runtime.clock.now()
    occurred_at = occurred_at or now
    ingested_at = ingested_at or max(now, occurred_at)
    event_id = uuid.uuid4().hex[:16]
    ball = new_event_ball(
        ball_id="b-" + uuid.uuid4().hex,
        user_id=user_id,
        event_type=event_type,
        energy_g=energy_g,
        occurred_at=occurred_at,
        ingested_at=ingested_at,
        tz=runtime.settings.zone,
    )
    rule_id = event_type.replace(".", "_")
    mint = transfer(
        "mint",
        debit=mint_account(rule_id),
        credit=user_account(user_id, "pending"),
        energy_g=energy_g,
        shard=shard_of(user_id),
        refs={"event": f"test/{event_id}", "rule": f"{rule_id}@1", "ball": ball.ball_id},
    )
    with write_tx(runtime.engine) as connection:
        ledger_repo.post_transactions(connection, [mint], now=ingested_at)
        balls_repo.insert_balls(connection, [ball], now=ingested_at)
        stored = users_repo.lock_ingest_states(connection, [user_id])[user_id]
        state = UserIngestState.from_texts(user_id, *stored) if stored else UserIngestState(user_id)
        state.lifetime_g += energy_g
        users_repo.save_ingest_states(connection, [state])
    return ball


def ingested_ball(runtime: Runtime, user_id: str, boxes: int = 1, *, ripe: bool = True) -> Ball:
    """A ball made by real ingestion of one ``recycling.box`` event (37 g a box): its grams
    wait outside the ledger until the ball is collected, stolen or expires."""
    now = runtime.clock.now()
    occurred = now - timedelta(days=1) if ripe else now
    (result,) = ingest(
        runtime,
        source_id="test",
        events=[IncomingEvent(uuid.uuid4().hex[:16], "recycling.box", user_id, occurred, {"boxes": boxes})],
    ).results
    with write_tx(runtime.engine) as connection:
        return balls_repo.lock_balls(connection, [result.ball_id])[result.ball_id]


def make_ripe_ball(runtime: Runtime, user_id: str, energy_g: int, event_type: str = "recycling.box") -> Ball:
    """A ball that is ripe now: its behaviour happened a day ago (so its 07:00 has passed)."""
    now = runtime.clock.now()
    return make_ball(runtime, user_id, energy_g, event_type, occurred_at=now - timedelta(days=1), ingested_at=now)


def befriend(runtime: Runtime, user_id: str, *others: str) -> None:
    """Make ``user_id`` mutual friends with each of ``others`` (both sides ask)."""
    for other in others:
        forest_friends.request(runtime, user_id, other)
        forest_friends.request(runtime, other, user_id)


def fund(runtime: Runtime, user_id: str, energy_g: int) -> None:
    """Put ``energy_g`` into the user's available account (a collected ball's worth)."""
    with write_tx(runtime.engine) as connection:
        ledger_repo.post_transactions(
            connection,
            [
                transfer(
                    "mint",
                    debit=mint_account("test_grant"),
                    credit=user_account(user_id, "available"),
                    energy_g=energy_g,
                    shard=shard_of(user_id),
                    refs={"test": "fund"},
                )
            ],
            now=runtime.clock.now(),
        )


def run_at_once(count: int, action: Callable[[int], object]) -> list[object]:
    """Start ``count`` threads behind a barrier; each result is a value or the error raised."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def worker(n: int) -> None:
        barrier.wait()
        try:
            results[n] = action(n)
        except GreenEnergyError as error:
            results[n] = error
        except Exception as error:
            results[n] = ("unexpected", error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
