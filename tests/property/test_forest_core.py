"""Any interleaving of ingest, collect, steal, water, items and expiry over moving time keeps
every ball whole and every gram accounted for.

The machine keeps a miniature ledger beside the balls: ``pending`` and ``available`` per
user and ``sink:expired``. After every step it checks that each ball's
``energy_g = collected_g + stolen_g + expired_g + remaining_g`` (all parts >= 0), that
thieves took at most half and were at most six, that each user's pending equals the
remaining grams of their balls, that no balance is negative, and that the grams moved
(collected + stolen + expired) equal what the balls lost.

Every refusal must be deserved, and every move that is due must happen: the machine works
out on its own (``status_of``, ``steal_refusals``, ``water_refusals``: the rules written
out here, not imported) which refusals the inputs justify; a refusal outside that set, a
success where a refusal was due, a ripe ball ``collect_all`` left or a due ball the expiry
left, fails the test -- so a core that refused everything, or did nothing, would fail.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from greenenergy.errors import GreenEnergyError
from greenenergy.forest import (
    MAX_THIEVES_PER_BALL,
    ActiveEffect,
    AlreadyCollected,
    AlreadyStolen,
    Ball,
    BallExpired,
    InvalidAmount,
    NothingLeft,
    NotRipe,
    OwnBall,
    Theft,
    TooManyThieves,
    Watering,
    WateringLimit,
    ball_status,
    can_join,
    collect,
    collect_all,
    event_ball_id,
    expire_due,
    grant_item,
    join,
    new_event_ball,
    ripens_at,
    steal,
    use_item,
    water,
)

TZ = ZoneInfo("Asia/Shanghai")
USERS = [f"u{i}" for i in range(9)]  # eight possible thieves per ball: the six-thief limit bites
START = datetime.fromisoformat("2026-11-27T05:00:00+08:00")  # days before a month boundary

users = st.sampled_from(USERS)
picks = st.integers(min_value=0, max_value=10**6)
STATUS_OF_ERROR = {NotRipe: "waiting", BallExpired: "expired", AlreadyCollected: "collected"}
REFUSAL_OF_STATUS = {"waiting": "not_ripe", "expired": "expired", "collected": "already_collected"}
AMOUNTS_G = (10, 18, 33, 66)  # what a watering may send


def status_of(ball: Ball, now: datetime) -> str:
    """A ball's status by the rules of the module docstring of ``forest.balls``."""
    if ball.collected_g > 0:
        return "collected"
    if ball.expired_g > 0 or now >= ball.expires_at:
        return "expired"
    return "waiting" if now < ball.visible_at else "ripe"


def active(effects: list[ActiveEffect], kind: str, user: str, now: datetime) -> bool:
    return any(e.kind == kind and e.user_id == user and e.starts_at <= now < e.ends_at for e in effects)


class ForestMachine(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        self.now = START
        self.balls: dict[str, Ball] = {}
        self.thefts: dict[str, list[Theft]] = {}
        self.effects: list[ActiveEffect] = []
        self.waterings: list[Watering] = []
        self.pending = dict.fromkeys(USERS, 0)
        self.available = dict.fromkeys(USERS, 0)
        self.sink_expired = 0
        self.minted = 0
        self.moved = 0  # grams that left balls: collected + stolen + expired
        self.serial = 0

    def pick(self, index: int) -> Ball | None:
        if not self.balls:
            return None
        return self.balls[sorted(self.balls)[index % len(self.balls)]]

    @rule(minutes=st.integers(min_value=1, max_value=80 * 60))
    def advance(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    @rule(
        user=users,
        event_type=st.sampled_from(["transit.bus", "recycling.box"]),
        energy_g=st.integers(min_value=1, max_value=400),
        hours_ago=st.integers(min_value=0, max_value=60),
    )
    def ingest(self, user: str, event_type: str, energy_g: int, hours_ago: int) -> None:
        occurred = self.now - timedelta(hours=hours_ago)
        self.serial += 1
        ripening = ripens_at(occurred, TZ)
        ball_id = event_ball_id(
            user_id=user, event_type=event_type, ripening=ripening, ingested_at=self.now, event_ref=f"src:{self.serial}"
        )
        existing = self.balls.get(ball_id)
        if existing is not None:
            # A shared id is only handed out while the ball is still waiting: it must take the grams.
            assert can_join(existing, user_id=user, event_type=event_type, ripening=ripening, ingested_at=self.now)
            ball = join(existing, energy_g=energy_g, occurred_at=occurred, ingested_at=self.now, tz=TZ)
        else:
            ball = new_event_ball(
                ball_id=ball_id,
                user_id=user,
                event_type=event_type,
                energy_g=energy_g,
                occurred_at=occurred,
                ingested_at=self.now,
                tz=TZ,
            )
            self.thefts[ball_id] = []
        self.balls[ball_id] = ball
        self.pending[user] += energy_g
        self.minted += energy_g

    @rule(index=picks)
    def collect_one(self, index: int) -> None:
        ball = self.pick(index)
        if ball is None:
            return
        status = status_of(ball, self.now)
        try:
            done = collect(ball, self.now)
        except GreenEnergyError as error:
            assert STATUS_OF_ERROR[type(error)] == ball_status(ball, self.now) == status
            assert error.code == REFUSAL_OF_STATUS[status]
            return
        assert status == "ripe", f"collected a {status} ball"
        assert done.collected_g == ball.remaining_g > 0
        self.balls[ball.ball_id] = done.ball
        self.pending[ball.user_id] -= done.collected_g
        self.available[ball.user_id] += done.collected_g
        self.moved += done.collected_g

    @rule(user=users)
    def collect_everything(self, user: str) -> None:
        mine = [b for b in self.balls.values() if b.user_id == user]
        ripe = {b.ball_id for b in mine if status_of(b, self.now) == "ripe"}
        collected = collect_all(mine, self.now)
        assert {done.ball_id for done in collected} == ripe  # every ripe ball, and only those
        for done in collected:
            self.balls[done.ball_id] = done.ball
            self.pending[user] -= done.collected_g
            self.available[user] += done.collected_g
            self.moved += done.collected_g

    @rule(thief=users, index=picks)
    def steal_one(self, thief: str, index: int) -> None:
        ball = self.pick(index)
        if ball is not None:
            self.attempt(thief, ball)

    @rule(index=picks)
    def raid(self, index: int) -> None:
        """Every user tries to steal from one ball in turn: the per-ball limits must bite."""
        ball = self.pick(index)
        if ball is None:
            return
        for thief in USERS:
            self.attempt(thief, self.balls[ball.ball_id])

    def steal_refusals(self, thief: str, ball: Ball) -> set[str]:
        """The refusals this attempt deserves (``forest.theft``'s limits, written out): the
        core must raise one of them, and must not refuse when there is none."""
        deserved = set()
        if thief == ball.user_id:
            deserved.add("own_ball")
        status = status_of(ball, self.now)
        if status != "ripe":
            deserved.add(REFUSAL_OF_STATUS[status])
        real = [t for t in self.thefts[ball.ball_id] if t.stolen_g > 0]
        mine = sum(1 for t in real if t.thief_id == thief)
        if mine >= (2 if active(self.effects, "double_collect_card", thief, self.now) else 1):
            deserved.add("already_stolen")
        if mine == 0 and len({t.thief_id for t in real}) >= MAX_THIEVES_PER_BALL:
            deserved.add("too_many_thieves")
        if ball.stolen_g >= ball.energy_g // 2:
            deserved.add("nothing_left")
        return deserved

    def attempt(self, thief: str, ball: Ball) -> None:
        deserved = self.steal_refusals(thief, ball)
        try:
            result = steal(
                ball,
                self.thefts[ball.ball_id],
                thief_id=thief,
                now=self.now,
                victim_effects=self.effects,
                thief_effects=self.effects,
            )
        except OwnBall:
            assert thief == ball.user_id
            return
        except (NotRipe, BallExpired, AlreadyCollected) as error:
            assert STATUS_OF_ERROR[type(error)] == ball_status(ball, self.now)
            assert error.code in deserved, (error.code, deserved)
            return
        except (AlreadyStolen, TooManyThieves, NothingLeft) as error:
            assert error.code in deserved, (error.code, deserved)
            event(f"steal refused: {error.code}")
            return
        assert not deserved, f"the steal went through though it deserved {sorted(deserved)}"
        covered = active(self.effects, "protection_cover", ball.user_id, self.now)
        assert result.reason == ("protected" if covered else "stolen")
        assert (result.stolen_g == 0) == covered
        second = any(t.thief_id == thief and t.stolen_g > 0 for t in self.thefts[ball.ball_id])
        event(f"steal: {result.reason}" + (" (second, double card)" if second and result.stolen_g else ""))
        # Record protected attempts too: they must not count against anyone.
        self.thefts[ball.ball_id].append(result.theft)
        self.balls[ball.ball_id] = result.ball
        assert result.ball.stolen_g - ball.stolen_g == result.stolen_g
        self.pending[ball.user_id] -= result.stolen_g
        self.available[thief] += result.stolen_g
        self.moved += result.stolen_g

    @rule(giver=users, friend=users, energy_g=st.sampled_from([10, 18, 33, 66, 20]))
    def water_friend(self, giver: str, friend: str, energy_g: int) -> None:
        if self.available[giver] < energy_g and energy_g != 20:
            return  # the ledger would refuse: InsufficientEnergy
        self.serial += 1
        deserved = self.water_refusals(giver, friend, energy_g)
        try:
            plan = water(
                giver_id=giver,
                friend_id=friend,
                energy_g=energy_g,
                now=self.now,
                tz=TZ,
                earlier=self.waterings,
                ball_id=f"w-{self.serial}",
            )
        except InvalidAmount as error:
            assert energy_g == 20
            assert error.code in deserved, (error.code, deserved)
            return
        except WateringLimit as error:
            assert error.code in deserved, (error.code, deserved)
            event("watering_limit")
            return
        except GreenEnergyError as error:
            assert giver == friend
            assert error.code in deserved, (error.code, deserved)
            return
        assert not deserved, f"the watering went through though it deserved {sorted(deserved)}"
        assert (plan.ball.user_id, plan.ball.energy_g, plan.ball.visible_at) == (friend, energy_g, self.now)
        self.waterings.append(plan.watering)
        self.balls[plan.ball.ball_id] = plan.ball
        self.thefts[plan.ball.ball_id] = []
        self.available[giver] -= energy_g
        self.pending[friend] += energy_g

    def water_refusals(self, giver: str, friend: str, energy_g: int) -> set[str]:
        """The refusals this watering deserves (``forest.watering``'s rules, written out)."""
        deserved = set()
        if energy_g not in AMOUNTS_G:
            deserved.add("invalid_amount")
        if giver == friend:
            deserved.add("self_watering")
        today = self.now.astimezone(TZ).date()
        done = sum(
            1
            for w in self.waterings
            if (w.giver_id, w.friend_id) == (giver, friend) and w.watered_at.astimezone(TZ).date() == today
        )
        if done >= 3:
            deserved.add("watering_limit")
        return deserved

    @rule(giver=users, friend=users)
    def water_four_times(self, giver: str, friend: str) -> None:
        for _ in range(4):
            self.water_friend(giver, friend, 10)

    @rule(user=users, kind=st.sampled_from(["protection_cover", "double_collect_card"]))
    def use_an_item(self, user: str, kind: str) -> None:
        self.serial += 1
        item = grant_item(item_id=f"i-{self.serial}", user_id=user, kind=kind, now=self.now)
        self.effects.append(use_item(item, self.now))

    @rule()
    def run_expiry(self) -> None:
        due = {
            b.ball_id
            for b in self.balls.values()
            if self.now >= b.expires_at and b.collected_g == 0 and b.expired_g == 0 and b.remaining_g > 0
        }
        expiries = expire_due(self.balls.values(), self.now)
        assert {e.ball_id for e in expiries} == due  # every due ball, once
        for expiry in expiries:
            assert expiry.expired_g == self.balls[expiry.ball_id].remaining_g
            self.balls[expiry.ball_id] = expiry.ball
            self.pending[expiry.user_id] -= expiry.expired_g
            self.sink_expired += expiry.expired_g
            self.moved += expiry.expired_g
            event("expired a ball")
        # A second run at the same instant moves nothing.
        assert expire_due(self.balls.values(), self.now) == []

    @invariant()
    def balls_are_whole(self) -> None:
        for ball in getattr(self, "balls", {}).values():
            parts = (ball.collected_g, ball.stolen_g, ball.expired_g, ball.remaining_g)
            assert all(part >= 0 for part in parts)
            assert ball.energy_g == sum(parts)
            assert ball.stolen_g <= ball.energy_g // 2
            real = [t for t in self.thefts[ball.ball_id] if t.stolen_g > 0]
            assert sum(t.stolen_g for t in real) == ball.stolen_g
            assert len({t.thief_id for t in real}) <= MAX_THIEVES_PER_BALL
            assert all(sum(1 for t in real if t.thief_id == thief) <= 2 for thief in USERS)
            assert ball.user_id not in {t.thief_id for t in real}

    @invariant()
    def grams_are_accounted_for(self) -> None:
        if not hasattr(self, "balls"):
            return
        for user in USERS:
            assert self.pending[user] == sum(b.remaining_g for b in self.balls.values() if b.user_id == user)
            assert self.pending[user] >= 0 and self.available[user] >= 0
        lost = sum(b.energy_g - b.remaining_g for b in self.balls.values())
        assert self.moved == lost
        assert sum(self.pending.values()) + sum(self.available.values()) + self.sink_expired == self.minted


ForestMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=60, deadline=None)
TestForestCore = ForestMachine.TestCase
