"""The expiry job: moves what is left of each expired ball once, however often and however
concurrently it runs."""

from __future__ import annotations

from datetime import timedelta

from greenenergy.clock import ManualClock
from greenenergy.services import ledger as ledger_service
from greenenergy.services.audit.verify import verify
from greenenergy.services.forest import balls as forest_balls
from greenenergy.services.forest import jobs as forest_jobs
from greenenergy.services.forest import steal as forest_steal
from greenenergy.services.runtime import Runtime
from tests.api.forest.conftest import befriend, make_ball, make_ripe_ball, run_at_once


def test_expiry_moves_the_remaining_grams_of_expired_balls_only(runtime: Runtime, clock: ManualClock) -> None:
    befriend(runtime, "alice", "bob")
    stolen_from = make_ripe_ball(runtime, "alice", 200)
    taken = forest_steal.steal(runtime, thief_id="bob", victim_id="alice", ball_id=stolen_from.ball_id).stolen_g
    collected = make_ripe_ball(runtime, "alice", 30)
    forest_balls.collect(runtime, "alice", collected.ball_id)
    later = make_ball(runtime, "alice", 70)  # ripens tomorrow 07:00, expires 72 h after that

    clock.advance(hours=72)  # the two ripe balls' edge
    assert forest_jobs.expire_balls(runtime) == forest_jobs.ExpiryCounts(balls=1, expired_g=200 - taken)
    clock.advance(days=2)
    assert forest_jobs.expire_balls(runtime) == forest_jobs.ExpiryCounts(balls=1, expired_g=70)
    assert forest_jobs.expire_balls(runtime) == forest_jobs.ExpiryCounts(balls=0, expired_g=0)
    balls = {b.ball_id: b for b in forest_balls.list_balls(runtime, "alice", statuses=forest_balls.STATUSES)}
    assert (balls[stolen_from.ball_id].expired_g, balls[stolen_from.ball_id].stolen_g) == (200 - taken, taken)
    assert balls[collected.ball_id].expired_g == 0 and balls[later.ball_id].expired_g == 70
    assert ledger_service.balance(runtime, "sink:expired") == 270 - taken
    assert ledger_service.balance(runtime, "user:alice:pending") == 0


def test_an_explicit_now_sweeps_as_of_that_time(runtime: Runtime, clock: ManualClock) -> None:
    ball = make_ripe_ball(runtime, "alice", 10)
    assert forest_jobs.expire_balls(runtime, ball.expires_at - timedelta(seconds=1)).balls == 0
    assert forest_jobs.expire_balls(runtime, ball.expires_at).balls == 1


def test_four_concurrent_runs_move_each_ball_once(runtime: Runtime, clock: ManualClock) -> None:
    users = [f"u{n}" for n in range(12)]
    for n, user in enumerate(users):
        for grams in (5, 7 + n):
            make_ripe_ball(runtime, user, grams)
    total = sum(5 + 7 + n for n in range(12))
    clock.advance(hours=72)
    results = run_at_once(4, lambda _n: forest_jobs.expire_balls(runtime, batch=5))
    assert all(isinstance(r, forest_jobs.ExpiryCounts) for r in results), results
    assert sum(r.balls for r in results) == 24  # type: ignore[union-attr]
    assert sum(r.expired_g for r in results) == total  # type: ignore[union-attr]
    assert ledger_service.balance(runtime, "sink:expired") == total
    report = verify(runtime)
    assert report.ok, report.findings
