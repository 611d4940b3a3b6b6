"""Watering a friend, in one commit: a ripe ball for the friend, paid from the giver's energy.

Checks, in order: the amount and "not yourself" (``forest.water``, before the database is
touched: 422 ``invalid_amount`` / ``self_watering``); a mutual friendship (403
``not_friends``); the three waterings per friend per local day (409 ``watering_limit``);
the giver's available balance (409 ``insufficient_energy``, from the ledger).

Written together (``forest.moves.decide_water``): the friend's ball (source ``water``,
visible at once, expiring 72 h later), one ledger transaction of kind ``water`` from
``user:<giver>:available`` to ``user:<friend>:pending`` (refs ``ball``, in the giver's
shard), the ``waterings`` row, the giver's ``waterings_given`` and the achievements it reaches.

Concurrency: the giver's state row is locked first, so two waterings by one giver run one
after the other and the second counts the first. The row also takes slot ``n + 1`` of the
(giver, friend, local day), unique in the table: a lost race is run again (``in_write_tx``).
"""

from __future__ import annotations

from dataclasses import dataclass

from greenenergy.db import play_repo
from greenenergy.db.engine import Tx, in_write_tx
from greenenergy.forest import NotFriends
from greenenergy.forest import water as plan_watering
from greenenergy.forest.moves import decide_water
from greenenergy.ledger import user_account
from greenenergy.periods import local_date
from greenenergy.services.forest.balls import rules_of
from greenenergy.services.runtime import Runtime
from greenenergy.units import shard_of


@dataclass(frozen=True)
class Watered:
    ball_id: str
    giver_id: str
    friend_id: str
    energy_g: int
    available_g: int  # the giver's, after the watering
    waterings_today: int  # of this giver to this friend, this one included


def water(runtime: Runtime, *, giver_id: str, friend_id: str, energy_g: int) -> Watered:
    now = runtime.clock.now()
    rules = rules_of(runtime)
    # The request alone (amount, self) is judged by the core before any database work.
    plan_watering(
        giver_id=giver_id, friend_id=friend_id, energy_g=energy_g, now=now, tz=rules.tz, earlier=(),
        ball_id="w-request-check",
    )  # fmt: skip

    def work(connection: Tx) -> Watered:
        if not play_repo.are_friends(connection, giver_id, friend_id):
            raise NotFriends(
                f"you and {friend_id} are not friends; watering needs a mutual friendship", friend_id=friend_id
            )
        loaded = play_repo.load_water(connection, giver_id, friend_id, local_date(now, rules.tz))
        move, ball, slot = decide_water(
            loaded, giver_id=giver_id, friend_id=friend_id, energy_g=energy_g, now=now, rules=rules
        )
        play_repo.store(connection, move, now=now, tz=rules.tz)
        available = move.ledger.balances[(user_account(giver_id, "available"), shard_of(giver_id))]
        return Watered(ball.ball_id, giver_id, friend_id, energy_g, available, slot)

    return in_write_tx(runtime.engine, work, attempts=4)
