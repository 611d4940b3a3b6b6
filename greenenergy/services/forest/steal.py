"""Stealing from a friend's ripe ball, in one commit.

Order of checks: a thief who is not the victim must be a mutual friend (403
``not_friends``); the ball must exist and be the victim's (404 ``ball_not_found``); then
``forest.steal`` decides (own ball, ripeness, once per thief, six thieves, half the ball,
the victim's protection cover, the thief's double-collect card) and computes the grams.

Concurrency: the friend edges are held FOR SHARE (an unfriending waits) and the ball row
FOR UPDATE, so thirty friends stealing at once queue on the ball and each sees the thefts
committed before it: the limits hold on PostgreSQL as on SQLite (where BEGIN IMMEDIATE
serialises writers anyway). The ledger is posted last (lock order: edges, ball, scores,
ledger).

What is written: a ``thefts`` row (also for an attempt a cover stopped, once per thief and
ball, so the victim sees who tried); when grams move, the ball's ``stolen_g``, the thief's
leaderboard scores and one ledger transaction of kind ``steal`` from
``user:<victim>:pending`` to ``user:<thief>:available`` (refs ``ball``, ``theft``), stored
in the victim's shard.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from greenenergy.db import balls_repo, forest_repo, ledger_repo
from greenenergy.db.engine import write_tx
from greenenergy.forest import steal as steal_from
from greenenergy.ledger import transfer, user_account
from greenenergy.services.forest import achievements as forest_achievements
from greenenergy.services.forest.errors import BallNotFound
from greenenergy.services.forest.friends import require_friends
from greenenergy.services.runtime import Runtime
from greenenergy.units import shard_of


@dataclass(frozen=True)
class Stolen:
    ball_id: str
    victim_id: str
    thief_id: str
    stolen_g: int
    reason: str  # stolen | protected
    remaining_g: int  # left in the ball
    available_g: int  # the thief's available balance after the steal
    theft_id: str | None  # None when a repeated protected attempt was not recorded again


def steal(runtime: Runtime, *, thief_id: str, victim_id: str, ball_id: str) -> Stolen:
    now = runtime.clock.now()
    theft_id: str | None = uuid.uuid4().hex
    with write_tx(runtime.engine) as connection:
        if thief_id != victim_id:  # stealing from oneself is the core's own_ball error
            require_friends(connection, thief_id, victim_id, what="stealing")
        ball = balls_repo.lock_balls(connection, [ball_id]).get(ball_id)
        if ball is None or ball.user_id != victim_id:
            raise BallNotFound(f"{victim_id} has no ball {ball_id!r}", ball_id=ball_id)
        rows = forest_repo.theft_rows(connection, [ball_id])[ball_id]
        effects = forest_repo.active_effects(connection, {thief_id, victim_id}, now)
        result = steal_from(
            ball,
            [forest_repo.to_theft(r) for r in rows],
            thief_id=thief_id,
            now=now,
            victim_effects=[e for e in effects if e.user_id == victim_id],
            thief_effects=[e for e in effects if e.user_id == thief_id],
        )
        transaction_id = None
        if result.stolen_g > 0:
            balls_repo.save_balls(connection, [result.ball])
            forest_repo.add_scores(connection, {thief_id: result.stolen_g}, now=now, tz=runtime.settings.zone)
            posted = ledger_repo.post_transactions(
                connection,
                [
                    transfer(
                        "steal",
                        debit=user_account(victim_id, "pending"),
                        credit=user_account(thief_id, "available"),
                        energy_g=result.stolen_g,
                        shard=shard_of(victim_id),
                        refs={"ball": ball_id, "theft": theft_id},
                    )
                ],
                now=now,
            )
            transaction_id = posted[0].id
        tried_before = any(r.thief_id == thief_id and r.reason == "protected" for r in rows)
        if result.stolen_g > 0 or not tried_before:
            forest_repo.insert_theft(
                connection, result.theft, theft_id=theft_id, reason=result.reason, transaction_id=transaction_id
            )
        else:
            theft_id = None
        available_g = ledger_repo.guarded_balance(connection, user_account(thief_id, "available"), shard_of(thief_id))
    if result.stolen_g > 0:
        forest_achievements.evaluate_quietly(runtime, thief_id, forest_achievements.AFTER_STEAL)
    return Stolen(
        ball_id=ball_id,
        victim_id=victim_id,
        thief_id=thief_id,
        stolen_g=result.stolen_g,
        reason=result.reason,
        remaining_g=result.ball.remaining_g,
        available_g=available_g,
        theft_id=theft_id,
    )
