"""The forest's write use cases decided on values: collect, collect all, steal, water, expire.

Each function takes what the shell loaded under lock (``Loaded``: the balls, the users'
counters, ledger heads and guarded balances, awards held, thefts, effects...) and returns a
``Move``: every row the use case writes, in one commit -- the balls, the ledger (``append``),
leaderboard credits, counter increments, theft and watering records, achievements awarded
with their reward items -- and the answer.

Where a ball's grams come from when they leave it (``source_account``): an event ball holds
energy not yet in the ledger, minted from ``mint:<rule>`` when it is collected, stolen or
expires; a watered ball (and an event ball stored before this rule) holds energy already in
its owner's pending account.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from greenenergy.forest.achievements import Achievement, Award, evaluate
from greenenergy.forest.balls import Ball, collect, collect_all, expire_due
from greenenergy.forest.balls import Collection as BallCollection
from greenenergy.forest.counters import Counters, after_collect, stats
from greenenergy.forest.items import ActiveEffect, Item, grant_item
from greenenergy.forest.theft import StealResult, Theft, steal
from greenenergy.forest.watering import Watering, water
from greenenergy.ledger.accounts import SINK_EXPIRED, mint_account, user_account
from greenenergy.ledger.append import BalanceKey, LedgerWrite, append
from greenenergy.ledger.transactions import TransactionDraft, transfer
from greenenergy.periods import local_date
from greenenergy.units import shard_of

TransactionIds = Callable[[int], Sequence[str]]
NewId = Callable[[], str]


@dataclass(frozen=True, slots=True)
class Loaded:
    """What a forest use case read, under lock, before deciding."""

    counters: Mapping[str, Counters]  # the acting users'
    balls: Mapping[str, Ball]  # the balls it may change
    heads: Mapping[int, tuple[int, str]]  # ledger heads of the shards it may post in
    balances: Mapping[BalanceKey, int]  # guarded balances it may move
    awards_held: Mapping[str, frozenset[str]] = field(default_factory=dict)  # user -> achievement ids
    thefts: Sequence[tuple[Theft, str]] = ()  # earlier (theft, reason) of the ball stolen from
    effects: Sequence[ActiveEffect] = ()
    waterings_today: Sequence[Watering] = ()
    friends: Mapping[str, int] = field(default_factory=dict)  # user -> current friends, for achievements


@dataclass(frozen=True, slots=True)
class Granted:
    """One achievement awarded now, with the reward item it grants (if any)."""

    user_id: str
    award: Award
    item: Item | None


@dataclass(slots=True)
class Move:
    balls_saved: list[Ball] = field(default_factory=list)
    balls_new: list[Ball] = field(default_factory=list)
    ledger: LedgerWrite = field(default_factory=lambda: LedgerWrite([], [], {}, {}))
    scores_g: dict[str, int] = field(default_factory=dict)  # leaderboard credits
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # counter increments
    streaks: list[Counters] = field(default_factory=list)  # collecting streaks to write (locked rows)
    thefts: list[tuple[Theft, str, str, str | None]] = field(default_factory=list)  # (theft, reason, id, tx)
    waterings: list[tuple[Watering, date, int, str]] = field(default_factory=list)  # (watering, day, slot, tx)
    granted: list[Granted] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Rules:
    """What the decisions need besides the loaded rows: the zone, the achievements, ids."""

    tz: ZoneInfo
    achievements: Sequence[Achievement]
    transaction_ids: TransactionIds
    new_id: NewId


def source_account(ball: Ball) -> str:
    """The account a ball's grams leave from (module docstring)."""
    if ball.mint_rule is not None:
        return mint_account(ball.mint_rule)
    return user_account(ball.user_id, "pending")


def ledger_needs(*user_ids: str) -> tuple[list[int], list[BalanceKey]]:
    """The ledger heads and guarded balances a forest move of these users may touch."""
    shards = sorted({shard_of(u) for u in user_ids})
    keys = sorted((user_account(u, bucket), shard_of(u)) for u in set(user_ids) for bucket in ("pending", "available"))
    return shards, keys


def _append(drafts: list[TransactionDraft], loaded: Loaded, now: datetime, rules: Rules) -> LedgerWrite:
    ids = rules.transaction_ids(len(drafts)) if drafts else []
    return append(drafts, heads=loaded.heads, balances=loaded.balances, now=now, ids=ids)


def _awards(
    user_id: str, counters: Counters, loaded: Loaded, rules: Rules, metrics: Collection[str], now: datetime
) -> list[Granted]:
    pending = [a for a in rules.achievements if a.metric in metrics]
    if not pending:
        return []
    held = loaded.awards_held.get(user_id, frozenset())
    granted = []
    for award in evaluate(pending, stats(counters, friends=loaded.friends.get(user_id, 0)), held):
        item = None
        if award.reward_item:
            item = grant_item(item_id=rules.new_id(), user_id=user_id, kind=award.reward_item, now=now)
        granted.append(Granted(user_id, award, item))
    return granted


AFTER_COLLECT = ("balls_collected", "collect_streak_days")
AFTER_STEAL = ("steals",)
AFTER_WATER = ("waterings_given",)


def decide_collect(
    loaded: Loaded, *, user_id: str, ball_ids: Sequence[str] | None, now: datetime, rules: Rules
) -> tuple[Move, list[BallCollection]]:
    """Collect the given balls of ``user_id`` (``None``: every ball ripe now).

    One ledger transaction per ball (kind ``collect``, from ``source_account`` to the user's
    available energy, refs ``ball``, idempotency key ``collect:<ball_id>``), the user's
    leaderboard credit, ``balls_collected`` and the collecting streak, and the achievements
    on them. The caller has checked that each named ball exists and is the user's.
    """
    if ball_ids is None:
        collections = collect_all([b for b in loaded.balls.values() if b.user_id == user_id], now)
    else:
        collections = [collect(loaded.balls[ball_id], now) for ball_id in ball_ids]
    move = Move()
    if not collections:
        return move, collections
    balls = {b.ball_id: b for b in loaded.balls.values()}
    drafts = [
        transfer(
            "collect",
            debit=source_account(balls[c.ball_id]),
            credit=user_account(user_id, "available"),
            energy_g=c.collected_g,
            shard=shard_of(user_id),
            refs={"ball": c.ball_id},
            idempotency_key=f"collect:{c.ball_id}",
        )
        for c in collections
        if c.collected_g > 0
    ]
    move.balls_saved = [c.ball for c in collections]
    move.ledger = _append(drafts, loaded, now, rules)
    move.scores_g = {user_id: sum(c.collected_g for c in collections)}
    counters = after_collect(loaded.counters[user_id], balls=len(collections), day=local_date(now, rules.tz))
    move.counts = {user_id: {"balls_collected": len(collections)}}
    move.streaks = [counters]
    move.granted = _awards(user_id, counters, loaded, rules, AFTER_COLLECT, now)
    return move, collections


def decide_steal(
    loaded: Loaded, *, thief_id: str, ball_id: str, now: datetime, rules: Rules
) -> tuple[Move, StealResult, str | None]:
    """``thief_id`` steals from a friend's ball (the caller checked the friendship and that
    the ball is the victim's). Returns the move, the core's result and the theft's id (None
    when a repeated attempt that a cover stopped is not recorded again)."""
    ball = loaded.balls[ball_id]
    earlier = [theft for theft, _reason in loaded.thefts]
    result = steal(
        ball,
        earlier,
        thief_id=thief_id,
        now=now,
        victim_effects=[e for e in loaded.effects if e.user_id == ball.user_id],
        thief_effects=[e for e in loaded.effects if e.user_id == thief_id],
    )
    move = Move()
    theft_id: str | None = rules.new_id()
    transaction_id = None
    if result.stolen_g > 0:
        move.balls_saved = [result.ball]
        move.ledger = _append(
            [
                transfer(
                    "steal",
                    debit=source_account(ball),
                    credit=user_account(thief_id, "available"),
                    energy_g=result.stolen_g,
                    shard=shard_of(ball.user_id),
                    refs={"ball": ball_id, "theft": theft_id},
                )
            ],
            loaded,
            now,
            rules,
        )
        transaction_id = move.ledger.transactions[0].id
        move.scores_g = {thief_id: result.stolen_g}
        move.counts = {thief_id: {"steals": 1}}
        counters = replace(loaded.counters[thief_id], steals=loaded.counters[thief_id].steals + 1)
        move.granted = _awards(thief_id, counters, loaded, rules, AFTER_STEAL, now)
    tried_before = any(t.thief_id == thief_id and reason == "protected" for t, reason in loaded.thefts)
    if result.stolen_g > 0 or not tried_before:
        move.thefts = [(result.theft, result.reason, theft_id, transaction_id)]
    else:
        theft_id = None
    return move, result, theft_id


def decide_water(
    loaded: Loaded, *, giver_id: str, friend_id: str, energy_g: int, now: datetime, rules: Rules
) -> tuple[Move, Ball, int]:
    """``giver_id`` waters a friend (the caller checked the friendship): a ripe ball for the
    friend, paid from the giver's available energy (kind ``water``, refs ``ball``, in the
    giver's shard), the watering's slot of the day. Returns the move, the ball and the
    number of waterings of this pair today, this one included."""
    plan = water(
        giver_id=giver_id,
        friend_id=friend_id,
        energy_g=energy_g,
        now=now,
        tz=rules.tz,
        earlier=loaded.waterings_today,
        ball_id="w-" + rules.new_id(),
    )
    move = Move()
    move.balls_new = [plan.ball]
    move.ledger = _append(
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
        loaded,
        now,
        rules,
    )
    slot = len(loaded.waterings_today) + 1
    move.waterings = [(plan.watering, local_date(now, rules.tz), slot, move.ledger.transactions[0].id)]
    move.counts = {giver_id: {"waterings_given": 1}}
    counters = replace(loaded.counters[giver_id], waterings_given=loaded.counters[giver_id].waterings_given + 1)
    move.granted = _awards(giver_id, counters, loaded, rules, AFTER_WATER, now)
    return move, plan.ball, slot


def decide_expiry(loaded: Loaded, *, now: datetime, rules: Rules) -> Move:
    """Sweep the loaded balls that are expired at ``now`` and were neither collected nor
    swept: each ball's ``expired_g`` and one transaction per ball (kind ``expire``, from
    ``source_account`` to ``sink:expired``, refs ``ball``, key ``expire:<ball_id>``)."""
    expiries = expire_due(loaded.balls.values(), now)
    move = Move()
    if not expiries:
        return move
    balls = dict(loaded.balls)
    move.balls_saved = [e.ball for e in expiries]
    move.ledger = _append(
        [
            transfer(
                "expire",
                debit=source_account(balls[e.ball_id]),
                credit=SINK_EXPIRED,
                energy_g=e.expired_g,
                shard=shard_of(e.user_id),
                refs={"ball": e.ball_id},
                idempotency_key=f"expire:{e.ball_id}",
            )
            for e in expiries
        ],
        loaded,
        now,
        rules,
    )
    return move
