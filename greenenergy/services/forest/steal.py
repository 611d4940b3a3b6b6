"""Stealing from a friend's ripe ball, in one commit: load, decide, store.

Order of checks: a thief who is not the victim must be a mutual friend (403
``not_friends``); the ball must exist and be the victim's (404 ``ball_not_found``); then
``forest.steal`` decides (own ball, ripeness, once per thief, six thieves, half the ball,
the victim's protection cover, the thief's double-collect card) and computes the grams.

Concurrency: the friendship row is held FOR SHARE (an unfriending waits), then the thief's
state row and the ball row are locked, so thirty friends stealing at once queue on the ball
and each sees the thefts committed before it: the limits hold on PostgreSQL as on SQLite.

What is written (``forest.moves.decide_steal``): a ``thefts`` row (also for an attempt a
cover stopped, once per thief and ball, so the victim sees who tried); when grams move, the
ball's ``stolen_g``, the thief's leaderboard scores and ``steals`` counter, the achievements
it reaches, and one ledger transaction of kind ``steal`` from the ball's source account to
``user:<thief>:available`` (refs ``ball``, ``theft``), stored in the victim's shard.
"""

from __future__ import annotations

from dataclasses import dataclass

from greenenergy.db import play_repo
from greenenergy.db.engine import Tx, in_write_tx
from greenenergy.forest import NotFriends
from greenenergy.forest.moves import decide_steal
from greenenergy.ledger import user_account
from greenenergy.services.forest.balls import rules_of
from greenenergy.services.forest.errors import BallNotFound
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
    rules = rules_of(runtime)

    def work(connection: Tx) -> Stolen:
        if thief_id != victim_id and not play_repo.are_friends(connection, thief_id, victim_id):
            # stealing from oneself is the core's own_ball error
            raise NotFriends(
                f"you and {victim_id} are not friends; stealing needs a mutual friendship", friend_id=victim_id
            )
        loaded = play_repo.load_steal(connection, thief_id, ball_id, now)
        ball = loaded.balls.get(ball_id)
        if ball is None or ball.user_id != victim_id:
            raise BallNotFound(f"{victim_id} has no ball {ball_id!r}", ball_id=ball_id)
        move, result, theft_id = decide_steal(loaded, thief_id=thief_id, ball_id=ball_id, now=now, rules=rules)
        play_repo.store(connection, move, now=now, tz=rules.tz)
        key = (user_account(thief_id, "available"), shard_of(thief_id))
        return Stolen(
            ball_id=ball_id,
            victim_id=victim_id,
            thief_id=thief_id,
            stolen_g=result.stolen_g,
            reason=result.reason,
            remaining_g=result.ball.remaining_g,
            available_g=move.ledger.balances.get(key, loaded.balances.get(key, 0)),
            theft_id=theft_id,
        )

    return in_write_tx(runtime.engine, work)
