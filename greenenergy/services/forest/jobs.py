"""Scheduled forest work: sweep expired balls into ``sink:expired``; report ripening.

``expire_balls(runtime, now)`` finds balls whose ``expires_at <= now`` that were neither
collected nor swept and, one commit per chunk: locks them, lets ``forest.moves.decide_expiry``
decide from the locked rows, writes each ball's ``expired_g`` and one ledger transaction per
ball (kind ``expire``, from the ball's source account -- its rule's mint account for an event
ball, the owner's pending energy for a watered one -- to ``sink:expired``, refs ``ball``,
idempotency key ``expire:<ball_id>``).

Idempotent and safe to run twice at once: a ball already swept or collected is skipped by
the core on the locked row, and the idempotency key refuses a second expiry transaction for
a ball even if a row were stale. Reads never depend on this job: a ball's status is derived
from the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from greenenergy.db import balls_repo, play_repo
from greenenergy.db.engine import Tx, in_write_tx, read_tx
from greenenergy.forest.moves import Move, decide_expiry
from greenenergy.services.forest.balls import rules_of
from greenenergy.services.runtime import Runtime

BATCH = 500


@dataclass(frozen=True)
class ExpiryCounts:
    balls: int
    expired_g: int


def expire_balls(runtime: Runtime, now: datetime | None = None, *, batch: int = BATCH) -> ExpiryCounts:
    """Sweep every ball expired at ``now`` (default: the runtime's clock); what this run moved."""
    now = now or runtime.clock.now()
    rules = rules_of(runtime)
    balls = grams = 0
    after = ""
    while True:
        with read_tx(runtime.engine) as connection:
            ids = play_repo.due_ball_ids(connection, now, after, batch)
        if not ids:
            break
        after = ids[-1]

        def work(connection: Tx, ids: list[str] = ids) -> Move:
            move = decide_expiry(play_repo.load_expiry(connection, ids), now=now, rules=rules)
            play_repo.store(connection, move, now=now, tz=rules.tz)
            return move

        move = in_write_tx(runtime.engine, work)
        balls += len(move.balls_saved)
        grams += sum(b.expired_g for b in move.balls_saved)
    return ExpiryCounts(balls=balls, expired_g=grams)


@dataclass(frozen=True)
class RipeningReport:
    balls_ripened_last_hour: int


def ripened(runtime: Runtime, now: datetime) -> RipeningReport:
    """Balls that became visible in the hour up to ``now``; nothing moves (a ball's status is
    derived from the clock when read), the count is for the scheduler's log."""
    with read_tx(runtime.engine) as connection:
        count = balls_repo.count_visible_between(connection, now - timedelta(hours=1), now)
    return RipeningReport(balls_ripened_last_hour=count)
