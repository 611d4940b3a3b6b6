"""Watering a friend, in one commit: a ripe ball for the friend, paid from the giver's energy.

Checks, in order: the amount and "not yourself" (``forest.water``, before the database is
touched: 422 ``invalid_amount`` / ``self_watering``); a mutual friendship (403
``not_friends``); the three waterings per friend per local day (409 ``watering_limit``);
the giver's available balance (409 ``insufficient_energy``, from the ledger).

Written together: the friend's ball (source ``water``, visible at once, expiring 72 h
later), one ledger transaction of kind ``water`` from ``user:<giver>:available`` to
``user:<friend>:pending`` (refs ``ball``, in the giver's shard), and the ``waterings`` row.

Concurrency: the row takes slot ``n + 1`` of the (giver, friend, local day), unique in the
table, so two concurrent waterings that both counted ``n`` cannot both commit; the loser
rolls back and is retried with a fresh count, which then finds the limit if it was reached.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from greenenergy.db import balls_repo, forest_repo, ledger_repo
from greenenergy.db.engine import write_tx
from greenenergy.forest import MAX_WATERINGS_PER_DAY
from greenenergy.forest import water as plan_watering
from greenenergy.ledger import transfer, user_account
from greenenergy.periods import local_date
from greenenergy.services.forest import achievements as forest_achievements
from greenenergy.services.forest.errors import Busy
from greenenergy.services.forest.friends import require_friends
from greenenergy.services.runtime import Runtime
from greenenergy.units import shard_of

ATTEMPTS = MAX_WATERINGS_PER_DAY + 1  # each retry follows a concurrent watering that committed


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
    tz = runtime.settings.zone
    # The request alone (amount, self) is judged by the core before any database work.
    plan_watering(
        giver_id=giver_id, friend_id=friend_id, energy_g=energy_g, now=now, tz=tz, earlier=(), ball_id="w-request-check"
    )
    day = local_date(now, tz)
    for _attempt in range(ATTEMPTS):
        try:
            with write_tx(runtime.engine) as connection:
                require_friends(connection, giver_id, friend_id, what="watering")
                earlier = forest_repo.waterings_on(connection, giver_id, friend_id, day)
                plan = plan_watering(
                    giver_id=giver_id,
                    friend_id=friend_id,
                    energy_g=energy_g,
                    now=now,
                    tz=tz,
                    earlier=earlier,
                    ball_id="w-" + uuid.uuid4().hex,
                )
                balls_repo.insert_balls(connection, [plan.ball], now=now)
                posted = ledger_repo.post_transactions(
                    connection,
                    [
                        transfer(
                            "water",
                            debit=user_account(giver_id, "available"),
                            credit=user_account(friend_id, "pending"),
                            energy_g=energy_g,
                            shard=shard_of(giver_id),
                            refs={"ball": plan.ball.ball_id},
                        )
                    ],
                    now=now,
                )
                forest_repo.insert_watering(
                    connection, plan.watering, local_day=day, slot=len(earlier) + 1, transaction_id=posted[0].id
                )
                available_g = ledger_repo.guarded_balance(
                    connection, user_account(giver_id, "available"), shard_of(giver_id)
                )
        except IntegrityError:
            continue  # a concurrent watering took this slot; count again
        forest_achievements.evaluate_quietly(runtime, giver_id, forest_achievements.AFTER_WATER)
        return Watered(plan.ball.ball_id, giver_id, friend_id, energy_g, available_g, len(earlier) + 1)
    raise Busy("too many concurrent waterings of this friend; send the request again")
