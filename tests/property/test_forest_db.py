"""Hypothesis stateful test of the forest against the real database (SQLite, and PostgreSQL
in the db pass).

Random interleavings of ball creation (as ingestion writes it), collect, collect-all,
steal, water, protection covers, the expiry job, bursts of concurrent collect + steals on
one ball, and the clock moving forward. After every step:

* every ledger transaction's postings sum to zero, and no guarded balance is negative;
* every ball row is a valid ``forest.Ball`` (``energy_g = collected + stolen + expired +
  remaining``, thieves at most half) and its parts equal the ledger: the grams credited to
  the owner's pending for it (mint / water) are ``energy_g``, and the collect / steal /
  expire debits referring to it are ``collected_g`` / ``stolen_g`` / ``expired_g``;
* each user's pending balance is the sum of ``remaining_g`` of their unswept, uncollected
  balls; each user's available balance is the model's (funding + collected + stolen -
  watered);
* every ball's thefts add up to its ``stolen_g``;
* each user's lifetime leaderboard score is the grams they collected and stole, and the
  kept global board size equals the number of lifetime score rows.
At the end the hash chains and cached balances verify.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from greenenergy.clock import ManualClock
from greenenergy.db import balls_repo, forest_repo
from greenenergy.db.engine import read_tx
from greenenergy.db.ledger_repo import BALANCES, POSTINGS, TX
from greenenergy.errors import Conflict, InvalidInput, NotFound
from greenenergy.forest import WATER_AMOUNTS_G
from greenenergy.services.audit.verify import verify
from greenenergy.services.forest import balls as forest_balls
from greenenergy.services.forest import items as forest_items
from greenenergy.services.forest import jobs as forest_jobs
from greenenergy.services.forest import steal as forest_steal
from greenenergy.services.forest import water as forest_water
from greenenergy.services.runtime import Runtime
from tests.api.forest.conftest import befriend, fund, make_ball, run_at_once

USERS = 4
FUNDING_G = 150
REFUSALS = (Conflict, InvalidInput, NotFound)  # a request the rules refuse: 409 / 422 / 404


def make_machine(runtime: Runtime, clock: ManualClock) -> type[RuleBasedStateMachine]:
    class ForestMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            run = uuid.uuid4().hex[:8]
            self.users = [f"f{run}-{n}" for n in range(USERS)]
            for n, user in enumerate(self.users):
                befriend(runtime, user, *self.users[n + 1 :])
                fund(runtime, user, FUNDING_G)
            self.ball_ids: list[str] = []
            self.available = dict.fromkeys(self.users, FUNDING_G)
            self.earned = dict.fromkeys(self.users, 0)  # collected + stolen: the lifetime score

        def _refusable(self, action) -> object | None:
            try:
                return action()
            except REFUSALS:
                return None

        def _ball(self, index: int) -> str | None:
            return self.ball_ids[index % len(self.ball_ids)] if self.ball_ids else None

        @rule(who=st.integers(0, USERS - 1), grams=st.integers(1, 400), hours_ago=st.integers(0, 40))
        def ingest_a_ball(self, who: int, grams: int, hours_ago: int) -> None:
            occurred = clock.now() - timedelta(hours=hours_ago)
            self.ball_ids.append(make_ball(runtime, self.users[who], grams, occurred_at=occurred).ball_id)

        @rule(index=st.integers(0, 100))
        def collect(self, index: int) -> None:
            ball_id = self._ball(index)
            if ball_id is None:
                return
            owner = self._owner(ball_id)
            done = self._refusable(lambda: forest_balls.collect(runtime, owner, ball_id))
            if isinstance(done, forest_balls.Collected):
                self._earn(owner, done.collected_g)

        @rule(who=st.integers(0, USERS - 1))
        def collect_all(self, who: int) -> None:
            done = forest_balls.collect_all(runtime, self.users[who])
            self._earn(self.users[who], done.collected_g)

        @rule(thief=st.integers(0, USERS - 1), index=st.integers(0, 100))
        def steal(self, thief: int, index: int) -> None:
            ball_id = self._ball(index)
            if ball_id is None:
                return
            done = self._refusable(
                lambda: forest_steal.steal(
                    runtime, thief_id=self.users[thief], victim_id=self._owner(ball_id), ball_id=ball_id
                )
            )
            if isinstance(done, forest_steal.Stolen):
                self._earn(self.users[thief], done.stolen_g)

        @rule(giver=st.integers(0, USERS - 1), friend=st.integers(0, USERS - 1), grams=st.sampled_from(WATER_AMOUNTS_G))
        def water(self, giver: int, friend: int, grams: int) -> None:
            done = self._refusable(
                lambda: forest_water.water(
                    runtime, giver_id=self.users[giver], friend_id=self.users[friend], energy_g=grams
                )
            )
            if isinstance(done, forest_water.Watered):
                self.available[self.users[giver]] -= grams
                self.ball_ids.append(done.ball_id)

        @rule(who=st.integers(0, USERS - 1))
        def use_a_cover(self, who: int) -> None:
            item = forest_items.grant(runtime, user_id=self.users[who], kind="protection_cover", granted_by="test")
            forest_items.use(runtime, user_id=self.users[who], item_id=item.item_id)

        @rule()
        def expire(self) -> None:
            forest_jobs.expire_balls(runtime)

        @rule(hours=st.integers(1, 40))
        def advance(self, hours: int) -> None:
            clock.advance(hours=hours)

        @rule(index=st.integers(0, 100))
        def burst_on_one_ball(self, index: int) -> None:
            """The owner collects while every friend steals, all at once; the expiry job too."""
            ball_id = self._ball(index)
            if ball_id is None:
                return
            owner = self._owner(ball_id)
            thieves = [u for u in self.users if u != owner]

            def act(n: int) -> object:
                if n == 0:
                    return forest_balls.collect(runtime, owner, ball_id)
                if n == len(thieves) + 1:
                    return forest_jobs.expire_balls(runtime)
                return forest_steal.steal(runtime, thief_id=thieves[n - 1], victim_id=owner, ball_id=ball_id)

            for result in run_at_once(len(thieves) + 2, act):
                if isinstance(result, forest_balls.Collected):
                    self._earn(owner, result.collected_g)
                elif isinstance(result, forest_steal.Stolen):
                    self._earn(result.thief_id, result.stolen_g)
                else:
                    assert isinstance(result, (forest_jobs.ExpiryCounts, *REFUSALS)), result

        def _earn(self, user: str, grams: int) -> None:
            self.available[user] += grams
            self.earned[user] += grams

        def _owner(self, ball_id: str) -> str:
            with read_tx(runtime.engine) as connection:
                ball = balls_repo.get_ball(connection, ball_id)
            assert ball is not None
            return ball.user_id

        @invariant()
        def ledger_balls_and_balances_agree(self) -> None:
            pending = [f"user:{u}:pending" for u in self.users]
            available = [f"user:{u}:available" for u in self.users]
            with read_tx(runtime.engine) as connection:
                unbalanced = connection.execute(
                    select(POSTINGS.c.transaction_id)
                    .group_by(POSTINGS.c.transaction_id)
                    .having(func.sum(POSTINGS.c.energy_g) != 0)
                ).all()
                balances = {
                    r.account: int(r.balance_g)
                    for r in connection.execute(
                        select(BALANCES.c.account, BALANCES.c.balance_g).where(
                            BALANCES.c.account.in_(pending + available)
                        )
                    )
                }
                balls = [
                    balls_repo.to_ball(r)
                    for r in connection.execute(  # Ball() checks its parts
                        select(balls_repo.BALLS).where(balls_repo.BALLS.c.user_id.in_(self.users))
                    )
                ]
                moves = connection.execute(
                    select(TX.c.kind, TX.c.refs, POSTINGS.c.energy_g)
                    .join(POSTINGS, POSTINGS.c.transaction_id == TX.c.id)
                    .where(POSTINGS.c.account.in_(pending))
                ).all()
                thefts = forest_repo.theft_rows(connection, [b.ball_id for b in balls])
                lifetime = forest_repo.scores_of(connection, self.users, forest_repo.LIFETIME)
                board_size = forest_repo.board_members(connection)
                lifetime_rows = connection.execute(
                    select(func.count())
                    .select_from(forest_repo.SCORES)
                    .where(forest_repo.SCORES.c.period == forest_repo.LIFETIME)
                ).scalar_one()
            assert unbalanced == []
            assert board_size == lifetime_rows
            assert {u: lifetime.get(u, 0) for u in self.users} == self.earned
            assert min(balances.values(), default=0) >= 0

            per_ball: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
            for kind, refs, grams in moves:
                per_ball[json.loads(refs)["ball"]][kind] += int(grams)
            for ball in balls:
                ledger = per_ball[ball.ball_id]
                assert ball.energy_g == ledger["mint"] + ledger["water"], ball
                assert (ball.collected_g, ball.stolen_g, ball.expired_g) == (
                    -ledger["collect"],
                    -ledger["steal"],
                    -ledger["expire"],
                ), ball
                assert ball.energy_g == ball.collected_g + ball.stolen_g + ball.expired_g + ball.remaining_g
                assert sum(int(t.stolen_g) for t in thefts[ball.ball_id]) == ball.stolen_g
            for user in self.users:
                open_g = sum(
                    b.remaining_g for b in balls if b.user_id == user and b.collected_g == 0 and b.expired_g == 0
                )
                assert balances.get(f"user:{user}:pending", 0) == open_g, user
                assert balances.get(f"user:{user}:available", 0) == self.available[user], user

    return ForestMachine


def test_any_interleaving_keeps_balls_and_ledger_consistent(runtime: Runtime, clock: ManualClock) -> None:
    machine = make_machine(runtime, clock)
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=30,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    report = verify(runtime)
    assert report.ok, report.findings
