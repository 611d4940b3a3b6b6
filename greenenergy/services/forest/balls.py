"""A user's energy and balls: read them, collect one, collect all.

Energy (``energy``):

* ``available_g`` / ``pending_g``: the ledger balances of ``user:<id>:available`` and
  ``user:<id>:pending``. Pending still holds the grams of a ball that expired but whose
  expiry the job has not swept yet (the ball already reads ``expired``).
* ``lifetime_g``: grams ever minted for the user's own events (credits of ``mint``
  transactions to their pending account, less reversals of them); stolen, watered and
  collected grams are moves of existing energy and do not count.
* ``trees``: ``planting_queries.count_trees``.

Listing (``list_balls``): every ball still ``waiting`` or ``ripe``, plus those collected or
expired within the last 7 days (``HISTORY``), by the time they became visible. Each with its
thefts (who took what, and who a cover stopped), so the victim sees them.

Collecting is one commit per request: lock the ball row(s), ``forest.collect``, save the
ball(s), add the grams to the user's leaderboard scores, and post one ledger transaction per
ball (kind ``collect``, ``user:<id>:pending`` -> ``user:<id>:available``, refs ``ball``,
idempotency key ``collect:<ball_id>``). Collect-all posts one transaction per ball in the
same commit, so each gram stays traceable to its ball.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from greenenergy.db import balls_repo, forest_repo, ledger_repo
from greenenergy.db.engine import read_tx, write_tx
from greenenergy.forest import Ball, Collection, ball_status
from greenenergy.forest import collect as collect_ball
from greenenergy.forest import collect_all as collect_balls
from greenenergy.ledger import TransactionDraft, transfer, user_account
from greenenergy.services.forest import achievements as forest_achievements
from greenenergy.services.forest.errors import BallNotFound, NotYourBall
from greenenergy.services.planting import queries as planting_queries
from greenenergy.services.runtime import Runtime
from greenenergy.units import shard_of

HISTORY = timedelta(days=7)
BALLS = balls_repo.BALLS


@dataclass(frozen=True)
class Energy:
    user_id: str
    available_g: int
    pending_g: int
    lifetime_g: int
    trees: int


@dataclass(frozen=True)
class TheftView:
    thief_id: str
    stolen_g: int
    at: datetime
    reason: str  # stolen | protected (a cover turned the steal into 0 g)


@dataclass(frozen=True)
class BallView:
    ball_id: str
    user_id: str
    energy_g: int
    remaining_g: int
    status: str
    ripens_at: datetime
    visible_at: datetime
    expires_at: datetime
    event_type: str
    source: str
    collected_g: int
    stolen_g: int
    expired_g: int
    collected_at: datetime | None
    giver_id: str | None
    thefts: list[TheftView] = field(default_factory=list)


@dataclass(frozen=True)
class Collected:
    ball_id: str
    collected_g: int
    available_g: int


@dataclass(frozen=True)
class CollectedAll:
    collected_g: int
    available_g: int
    balls: int
    ball_ids: list[str]


def energy(runtime: Runtime, user_id: str) -> Energy:
    shard = shard_of(user_id)
    with read_tx(runtime.engine) as connection:
        return Energy(
            user_id=user_id,
            available_g=ledger_repo.guarded_balance(connection, user_account(user_id, "available"), shard),
            pending_g=ledger_repo.guarded_balance(connection, user_account(user_id, "pending"), shard),
            lifetime_g=forest_repo.lifetime_minted_g(connection, user_id),
            trees=planting_queries.count_trees(connection, user_id),
        )


def _view(ball: Ball, now: datetime, thefts: list) -> BallView:
    return BallView(
        ball_id=ball.ball_id,
        user_id=ball.user_id,
        energy_g=ball.energy_g,
        remaining_g=ball.remaining_g,
        status=ball_status(ball, now),
        ripens_at=ball.ripens_at,
        visible_at=ball.visible_at,
        expires_at=ball.expires_at,
        event_type=ball.event_type,
        source=ball.source,
        collected_g=ball.collected_g,
        stolen_g=ball.stolen_g,
        expired_g=ball.expired_g,
        collected_at=ball.collected_at,
        giver_id=ball.giver_id,
        thefts=[TheftView(r.thief_id, int(r.stolen_g), r.stolen_at, r.reason) for r in thefts],
    )


def _listed(ball: Ball, now: datetime) -> bool:
    status = ball_status(ball, now)
    if status == "collected":
        return ball.collected_at is not None and ball.collected_at >= now - HISTORY
    if status == "expired":
        return ball.expires_at >= now - HISTORY
    return True


def list_balls(runtime: Runtime, user_id: str) -> list[BallView]:
    now = runtime.clock.now()
    with read_tx(runtime.engine) as connection:
        # A ball collected within HISTORY was collected before it expired, so it expires
        # after now - HISTORY too: one index range on (user_id, expires_at) finds them all.
        balls = [b for b in balls_repo.user_balls(connection, user_id, expiring_after=now - HISTORY) if _listed(b, now)]
        thefts = forest_repo.theft_rows(connection, [b.ball_id for b in balls])
    return [_view(ball, now, thefts[ball.ball_id]) for ball in balls]


def _collect_drafts(collections: list[Collection]) -> list[TransactionDraft]:
    return [
        transfer(
            "collect",
            debit=user_account(c.user_id, "pending"),
            credit=user_account(c.user_id, "available"),
            energy_g=c.collected_g,
            shard=shard_of(c.user_id),
            refs={"ball": c.ball_id},
            idempotency_key=f"collect:{c.ball_id}",
        )
        for c in collections
        if c.collected_g > 0
    ]


def _write_collections(runtime: Runtime, connection, user_id: str, collections: list[Collection], now: datetime) -> int:
    """Save the balls, credit the scores and post the ledger (last); the new available balance."""
    balls_repo.save_balls(connection, [c.ball for c in collections])
    forest_repo.add_scores(
        connection, {user_id: sum(c.collected_g for c in collections)}, now=now, tz=runtime.settings.zone
    )
    ledger_repo.post_transactions(connection, _collect_drafts(collections), now=now)
    return ledger_repo.guarded_balance(connection, user_account(user_id, "available"), shard_of(user_id))


def collect(runtime: Runtime, user_id: str, ball_id: str) -> Collected:
    """Collect one ripe ball of ``user_id``; 409 ``not_ripe`` / ``expired`` / ``already_collected``."""
    now = runtime.clock.now()
    with write_tx(runtime.engine) as connection:
        ball = balls_repo.lock_balls(connection, [ball_id]).get(ball_id)
        if ball is None:
            raise BallNotFound(f"no ball {ball_id!r}", ball_id=ball_id)
        if ball.user_id != user_id:
            raise NotYourBall(
                f"ball {ball_id} is not {user_id}'s; a friend's ball can be stolen from, not collected", ball_id=ball_id
            )
        collection = collect_ball(ball, now)
        available_g = _write_collections(runtime, connection, user_id, [collection], now)
    forest_achievements.evaluate_quietly(runtime, user_id, forest_achievements.AFTER_COLLECT, just_collected=True)
    return Collected(ball_id, collection.collected_g, available_g)


def collect_all(runtime: Runtime, user_id: str) -> CollectedAll:
    """Collect every ball of ``user_id`` that is ripe now, in one commit (0 balls is not an error)."""
    now = runtime.clock.now()
    candidates = select(BALLS.c.ball_id).where(
        BALLS.c.user_id == user_id,
        BALLS.c.expires_at > now,
        BALLS.c.visible_at <= now,
        BALLS.c.collected_g == 0,
        BALLS.c.expired_g == 0,
    )
    with write_tx(runtime.engine) as connection:
        ids = list(connection.execute(candidates).scalars())
        # The locked rows are the truth: a concurrent collect may have taken one meanwhile.
        collections = collect_balls(balls_repo.lock_balls(connection, ids).values(), now)
        if collections:
            available_g = _write_collections(runtime, connection, user_id, collections, now)
        else:
            available_g = ledger_repo.guarded_balance(connection, user_account(user_id, "available"), shard_of(user_id))
    if collections:
        forest_achievements.evaluate_quietly(runtime, user_id, forest_achievements.AFTER_COLLECT, just_collected=True)
    return CollectedAll(
        collected_g=sum(c.collected_g for c in collections),
        available_g=available_g,
        balls=len(collections),
        ball_ids=[c.ball_id for c in collections],
    )
