"""A user's energy and balls: read them, collect one, collect all.

Energy (``energy``):

* ``available_g``: the ledger balance of ``user:<id>:available``;
* ``pending_g``: the grams still in the user's balls in play (waiting or ripe) -- energy an
  event earned waits in its ball, outside the ledger, until it is collected, stolen or
  expires (``greenenergy.forest.moves``);
* ``lifetime_g``: grams awarded to the user's own accepted events, ever (stolen, watered and
  collected grams are moves of existing energy and do not count);
* ``trees``: the virtual trees the user holds.

Listing (``list_balls``): the balls in play (waiting, ripe) by default, or those of the
statuses asked for (``collected`` and ``expired`` ones of the last 7 days, ``HISTORY``), by
the time they became visible, a page at a time. Each with its thefts (who took what, and who
a cover stopped), so the victim sees them.

Collecting is load -> decide -> store in one commit (``play_repo.load_collect``,
``forest.moves.decide_collect``, ``play_repo.store``): the user's state row and the balls are
locked, each ball collected posts one ledger transaction (kind ``collect``, refs ``ball``,
idempotency key ``collect:<ball_id>``), the leaderboard scores, ``balls_collected``, the
streak and the achievements they reach are written with it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from greenenergy.db import balls_repo, forest_repo, ledger_repo, play_repo, users_repo
from greenenergy.db.engine import Tx, in_write_tx, read_tx
from greenenergy.forest import Ball, ball_status
from greenenergy.forest.moves import Move, Rules, decide_collect
from greenenergy.ledger import user_account
from greenenergy.services.forest import achievements as forest_achievements
from greenenergy.services.forest.errors import BallNotFound, NotYourBall
from greenenergy.services.runtime import Runtime
from greenenergy.units import shard_of

HISTORY = timedelta(days=7)
IN_PLAY = ("waiting", "ripe")
STATUSES = ("waiting", "ripe", "collected", "expired")
MAX_PAGE = 500


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
    now = runtime.clock.now()
    with read_tx(runtime.engine) as connection:
        counters = users_repo.counters(connection, [user_id])[user_id]
        in_play = balls_repo.user_balls(connection, user_id, expiring_after=now)
        available_g = ledger_repo.guarded_balance(connection, user_account(user_id, "available"), shard_of(user_id))
    return Energy(
        user_id=user_id,
        available_g=available_g,
        pending_g=sum(b.remaining_g for b in in_play if ball_status(b, now) in IN_PLAY),
        lifetime_g=counters.lifetime_g,
        trees=counters.trees,
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


def _listed(ball: Ball, now: datetime, statuses: Sequence[str]) -> bool:
    status = ball_status(ball, now)
    if status not in statuses:
        return False
    if status == "collected":
        return ball.collected_at is not None and ball.collected_at >= now - HISTORY
    if status == "expired":
        return ball.expires_at >= now - HISTORY
    return True


def list_balls(
    runtime: Runtime,
    user_id: str,
    *,
    statuses: Sequence[str] = IN_PLAY,
    limit: int = 100,
    after: str | None = None,
) -> list[BallView]:
    """The user's balls of ``statuses`` (default: in play), by visible time then id; at most
    ``limit``, continuing after the ball ``after`` (a ``ball_id`` of the previous page) --
    after its place, even if it left the listing since (collected, expired); ``BallNotFound``
    if the user has no such ball."""
    now = runtime.clock.now()
    with read_tx(runtime.engine) as connection:
        # A ball collected within HISTORY was collected before it expired, so it expires
        # after now - HISTORY too: one index range on (user_id, expires_at) finds them all.
        kept = balls_repo.user_balls(connection, user_id, expiring_after=now - HISTORY)
        balls = [b for b in kept if _listed(b, now, statuses)]
        if after is not None:
            cursor = next((b for b in kept if b.ball_id == after), None) or balls_repo.get_ball(connection, after)
            if cursor is None or cursor.user_id != user_id:
                raise BallNotFound(f"user {user_id} has no ball {after!r} to continue after", ball_id=after)
            key = (cursor.visible_at, cursor.ball_id)
            balls = [b for b in balls if (b.visible_at, b.ball_id) > key]
        balls = balls[:limit]
        thefts = forest_repo.theft_rows(connection, [b.ball_id for b in balls])
    return [_view(ball, now, thefts[ball.ball_id]) for ball in balls]


def rules_of(runtime: Runtime) -> Rules:
    return Rules(
        tz=runtime.settings.zone,
        achievements=forest_achievements.catalog(runtime),
        transaction_ids=ledger_repo.new_transaction_ids,
        new_id=lambda: uuid.uuid4().hex,
    )


def _collect(runtime: Runtime, user_id: str, ball_ids: list[str] | None) -> tuple[Move, list]:
    now = runtime.clock.now()
    rules = rules_of(runtime)

    def work(connection: Tx) -> tuple[Move, list]:
        loaded = play_repo.load_collect(connection, user_id, ball_ids, now)
        for ball_id in ball_ids or ():
            ball = loaded.balls.get(ball_id)
            if ball is None:
                raise BallNotFound(f"no ball {ball_id!r}", ball_id=ball_id)
            if ball.user_id != user_id:
                raise NotYourBall(
                    f"ball {ball_id} is not {user_id}'s; a friend's ball can be stolen from, not collected",
                    ball_id=ball_id,
                )
        move, collections = decide_collect(loaded, user_id=user_id, ball_ids=ball_ids, now=now, rules=rules)
        play_repo.store(connection, move, now=now, tz=rules.tz)
        return move, collections

    return in_write_tx(runtime.engine, work)


def _available(runtime: Runtime, move: Move, user_id: str) -> int:
    key = (user_account(user_id, "available"), shard_of(user_id))
    if key in move.ledger.balances:
        return move.ledger.balances[key]
    with read_tx(runtime.engine) as connection:
        return ledger_repo.guarded_balance(connection, *key)


def collect(runtime: Runtime, user_id: str, ball_id: str) -> Collected:
    """Collect one ripe ball of ``user_id``; 409 ``not_ripe`` / ``expired`` / ``already_collected``."""
    move, (collection,) = _collect(runtime, user_id, [ball_id])
    return Collected(ball_id, collection.collected_g, _available(runtime, move, user_id))


def collect_all(runtime: Runtime, user_id: str) -> CollectedAll:
    """Collect every ball of ``user_id`` that is ripe now, in one commit (0 balls is not an error)."""
    move, collections = _collect(runtime, user_id, None)
    return CollectedAll(
        collected_g=sum(c.collected_g for c in collections),
        available_g=_available(runtime, move, user_id),
        balls=len(collections),
        ball_ids=[c.ball_id for c in collections],
    )
