"""Scheduled forest work: sweep expired balls into ``sink:expired``.

``expire_balls(runtime, now)`` finds balls whose ``expires_at <= now`` that were neither
collected nor swept, and in one commit per batch: locks them (in id order), lets
``forest.expire_due`` decide from the locked rows, writes each ball's ``expired_g`` and
posts one ledger transaction per ball (kind ``expire``, ``user:<id>:pending`` ->
``sink:expired``, refs ``ball``, idempotency key ``expire:<ball_id>``).

Idempotent and safe to run twice at once: a ball already swept (``expired_g > 0``) or
collected is skipped by the core on the locked row, and the idempotency key refuses a second
expiry transaction for a ball even if a row were stale. Two concurrent runs queue on the
ball rows; the second finds nothing left to move. Reads never depend on this job: a ball's
status is derived from the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from greenenergy.db import balls_repo, ledger_repo
from greenenergy.db.engine import read_tx, write_tx
from greenenergy.forest import expire_due
from greenenergy.ledger import SINK_EXPIRED, transfer, user_account
from greenenergy.services.runtime import Runtime
from greenenergy.units import shard_of

BALLS = balls_repo.BALLS
BATCH = 500


@dataclass(frozen=True)
class ExpiryCounts:
    balls: int
    expired_g: int


def _due_ids(runtime: Runtime, now: datetime, after: str, limit: int) -> list[str]:
    query = (
        select(BALLS.c.ball_id)
        .where(BALLS.c.expires_at <= now, BALLS.c.collected_g == 0, BALLS.c.expired_g == 0, BALLS.c.ball_id > after)
        .order_by(BALLS.c.ball_id)
        .limit(limit)
    )
    with read_tx(runtime.engine) as connection:
        return list(connection.execute(query).scalars())


def expire_balls(runtime: Runtime, now: datetime | None = None, *, batch: int = BATCH) -> ExpiryCounts:
    """Sweep every ball expired at ``now`` (default: the runtime's clock); what this run moved."""
    now = now or runtime.clock.now()
    balls = grams = 0
    after = ""
    while ids := _due_ids(runtime, now, after, batch):
        after = ids[-1]
        with write_tx(runtime.engine) as connection:
            expiries = expire_due(balls_repo.lock_balls(connection, ids).values(), now)
            if not expiries:
                continue
            balls_repo.save_balls(connection, [e.ball for e in expiries])
            ledger_repo.post_transactions(
                connection,
                [
                    transfer(
                        "expire",
                        debit=user_account(e.user_id, "pending"),
                        credit=SINK_EXPIRED,
                        energy_g=e.expired_g,
                        shard=shard_of(e.user_id),
                        refs={"ball": e.ball_id},
                        idempotency_key=f"expire:{e.ball_id}",
                    )
                    for e in expiries
                ],
                now=now,
            )
        balls += len(expiries)
        grams += sum(e.expired_g for e in expiries)
    return ExpiryCounts(balls=balls, expired_g=grams)
