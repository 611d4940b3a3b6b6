"""Scheduled jobs: `greenenergy tick --now` runs them as of a time, idempotently, and the
in-process scheduler runs them; each job is checked for the work it does (a ripened ball
reported, an expired ball's grams swept into ``sink:expired``, an overdue order marked),
not only for being registered."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from greenenergy.cli.main import app
from greenenergy.clock import ManualClock
from greenenergy.db import balls_repo
from greenenergy.db.engine import make_engine, read_tx
from greenenergy.ledger import SINK_EXPIRED
from greenenergy.scheduler.jobs import JOBS
from greenenergy.scheduler.runner import start_in_process
from greenenergy.services import ledger
from greenenergy.services.forest.jobs import ripened
from greenenergy.services.ingest import IncomingEvent, ingest
from greenenergy.services.planting import partner as planting_partner
from greenenergy.services.planting import redeem as planting_redeem
from greenenergy.services.planting.partner import OrderView
from greenenergy.services.runtime import Runtime, claim_scheduler
from tests.api.planting.conftest import SAXAUL_G, fund, use_catalog, write_catalog
from tests.conftest import PROJECT_ROOT
from tests.helpers import pending_g

OCCURRED = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)  # 09:30 local: ripens 2026-11-20 23:00 UTC
RIPENS = datetime(2026, 11, 20, 23, 0, tzinfo=UTC)
EXPIRES = RIPENS + timedelta(hours=72)
DEADLINE_DAYS = 30  # plot a-02 of the small planting catalog


def job_lines(output: str) -> dict[str, str]:
    """``{job: what it reported}`` from the output of `greenenergy tick`."""
    return {line.split(" ", 1)[0]: line.rsplit("): ", 1)[1] for line in output.splitlines() if "(as of " in line}


@pytest.fixture
def work(runtime: Runtime, tmp_path: Path) -> dict[str, str]:
    """Work for every job: one ingested ball of 74 g (waiting until ``RIPENS``) and one
    planting order of plot a-02, due ``DEADLINE_DAYS`` after now."""
    catalog = tmp_path / "catalog"
    for folder in ("rules", "achievements"):  # the shipped ones; the small planting catalog beside them
        shutil.copytree(PROJECT_ROOT / folder, catalog / folder)
    use_catalog(runtime, write_catalog(catalog))
    (result,) = ingest(
        runtime, source_id="s", events=[IncomingEvent("e1", "recycling.box", "u-1", OCCURRED, {"boxes": 2})]
    ).results
    fund(runtime, "u-2", SAXAUL_G)
    order = planting_redeem.redeem(runtime, "u-2", "saxaul", "a-02")
    return {"ball_id": result.ball_id, "tree_id": order.tree_id}


def order_of(runtime: Runtime, tree_id: str) -> OrderView:
    (order,) = [o for o in planting_partner.list_orders(runtime, "north") if o.tree_id == tree_id]
    return order


def tick(runtime: Runtime, now: str):
    return CliRunner().invoke(
        app, ["tick", "--now", now], env={"GREENENERGY_DATABASE_URL": runtime.settings.database_url}
    )


def test_tick_expires_balls_once_as_of_the_given_time(runtime: Runtime) -> None:
    occurred = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)  # ripens 2026-11-20 23:00 UTC
    ingest(runtime, source_id="s", events=[IncomingEvent("e1", "recycling.box", "u-1", occurred, {"boxes": 2})])
    before_expiry = tick(runtime, "2026-11-23T22:59:00+00:00")
    assert before_expiry.exit_code == 0, before_expiry.output
    assert "expire_balls (as of 2026-11-23T22:59:00+00:00): balls=0, expired_g=0" in before_expiry.output
    after = tick(runtime, "2026-11-23T23:00:00+00:00")
    assert "balls=1, expired_g=74" in after.output
    again = tick(runtime, "2026-11-24T23:00:00+00:00")
    assert "balls=0, expired_g=0" in again.output
    assert pending_g(runtime, "u-1") == 0
    assert ledger.balance(runtime, SINK_EXPIRED) == 74


def test_tick_refuses_a_time_without_an_offset(runtime: Runtime) -> None:
    result = tick(runtime, "2026-11-23T23:00:00")
    assert result.exit_code == 2
    assert "needs an offset" in result.output


def test_tick_runs_each_job_and_each_does_its_work(runtime: Runtime, work: dict[str, str]) -> None:
    deadline = runtime.clock.now() + timedelta(days=DEADLINE_DAYS)
    # Half an hour after the ball ripened: reported by ripen; nothing to expire or mark yet.
    first = tick(runtime, (RIPENS + timedelta(minutes=30)).isoformat())
    assert first.exit_code == 0, first.output
    assert job_lines(first.output) == {
        "ripen": "balls_ripened_last_hour=1",
        "expire_balls": "balls=0, expired_g=0",
        "mark_overdue_orders": "0",
    }
    assert job_lines(tick(runtime, (RIPENS + timedelta(minutes=61)).isoformat()).output)["ripen"] == (
        "balls_ripened_last_hour=0"
    )
    # At the expiry instant: the ball's 74 g leave it for sink:expired, once.
    expired = tick(runtime, EXPIRES.isoformat())
    assert job_lines(expired.output)["expire_balls"] == "balls=1, expired_g=74"
    with read_tx(runtime.engine) as connection:
        ball = balls_repo.get_ball(connection, work["ball_id"])
    assert (ball.expired_g, ball.remaining_g, ball.collected_g) == (74, 0, 0)
    assert ledger.balance(runtime, SINK_EXPIRED) == 74
    assert order_of(runtime, work["tree_id"]).overdue_at is None
    # Past the order's deadline: marked overdue, once, and the mark is kept.
    late = tick(runtime, (deadline + timedelta(seconds=1)).isoformat())
    assert job_lines(late.output) == {
        "ripen": "balls_ripened_last_hour=0",
        "expire_balls": "balls=0, expired_g=0",
        "mark_overdue_orders": "1",
    }
    order = order_of(runtime, work["tree_id"])
    assert order.status == "overdue" and order.overdue_at is not None
    assert job_lines(tick(runtime, (deadline + timedelta(days=1)).isoformat()).output)["mark_overdue_orders"] == "0"
    assert ledger.balance(runtime, SINK_EXPIRED) == 74


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"the scheduler did not {what} within {timeout_s} s")
        time.sleep(0.05)


@pytest.fixture
def running(runtime: Runtime) -> Iterator[Callable[[], object]]:
    """Start the in-process scheduler on demand; shut it down after the test."""
    started = []

    def start() -> object:
        started.append(start_in_process(runtime))
        return started[-1]

    yield start
    for scheduler in started:
        scheduler.shutdown(wait=True)


def test_the_in_process_scheduler_runs_the_jobs_and_they_do_their_work(
    runtime: Runtime,
    clock: ManualClock,
    work: dict[str, str],
    running: Callable[[], object],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The jobs run at start and then on their intervals, as of the runtime's clock."""
    clock.set(runtime.clock.now() + timedelta(days=DEADLINE_DAYS, seconds=1))  # past the expiry and the deadline
    caplog.set_level(logging.INFO, logger="greenenergy.scheduler")
    scheduler = running()
    wait_for(lambda: ledger.balance(runtime, SINK_EXPIRED) == 74, "sweep the expired ball at start")
    wait_for(lambda: order_of(runtime, work["tree_id"]).overdue_at is not None, "mark the order at start")
    assert pending_g(runtime, "u-1") == 0
    # A second ball expires; the interval job (not the one at start) sweeps it when it is due.
    ingest(
        runtime,
        source_id="s",
        events=[IncomingEvent("e2", "recycling.box", "u-1", clock.now() - timedelta(hours=1), {"boxes": 1})],
    )
    clock.advance(days=4)
    scheduler.get_job("expire_balls").modify(next_run_time=datetime.now(UTC))
    wait_for(lambda: ledger.balance(runtime, SINK_EXPIRED) == 74 + 37, "sweep the second ball on its interval")
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert failures == [], [r.getMessage() for r in failures]
    done = {r.getMessage().split(":", 1)[0] for r in caplog.records if r.getMessage().startswith("job ")}
    assert {f"job {job.name}" for job in JOBS} <= done


def test_the_in_process_scheduler_registers_every_job_and_stops(runtime: Runtime) -> None:
    scheduler = start_in_process(runtime)
    try:
        ids = {job.id for job in scheduler.get_jobs()}
        assert {job.name for job in JOBS} <= ids
        intervals = {job.id: job.trigger.interval for job in scheduler.get_jobs() if job.id in {j.name for j in JOBS}}
        assert intervals["expire_balls"] == timedelta(minutes=5)
    finally:
        scheduler.shutdown(wait=True)
    assert not scheduler.running


def test_one_process_at_a_time_holds_the_scheduler(runtime: Runtime) -> None:
    """PostgreSQL: a second claim waits while the first is held and gets it once released;
    SQLite (one process serves the file): every claim succeeds at once."""
    other = Runtime(settings=runtime.settings, engine=make_engine(runtime.settings.sqlalchemy_url), clock=runtime.clock)
    waits: list[int] = []
    try:
        assert claim_scheduler(runtime, attempts=1)
        held_elsewhere = runtime.engine.dialect.name == "postgresql"
        assert claim_scheduler(other, attempts=2, poll_s=0, on_wait=lambda: waits.append(1)) is not held_elsewhere
        assert len(waits) == (1 if held_elsewhere else 0)
        runtime.close()  # releases the lock
        assert claim_scheduler(other, attempts=1)
    finally:
        other.close()


def test_the_ripen_job_reports_balls_that_became_visible_in_the_last_hour(runtime: Runtime) -> None:
    occurred = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)  # visible from 2026-11-20 23:00 UTC
    ingest(runtime, source_id="s", events=[IncomingEvent("e1", "recycling.box", "u-1", occurred, {"boxes": 2})])
    visible = datetime(2026, 11, 20, 23, 0, tzinfo=UTC)
    assert ripened(runtime, visible - timedelta(seconds=1)).balls_ripened_last_hour == 0
    assert ripened(runtime, visible).balls_ripened_last_hour == 1
    assert ripened(runtime, visible + timedelta(minutes=59)).balls_ripened_last_hour == 1
    assert ripened(runtime, visible + timedelta(hours=1)).balls_ripened_last_hour == 0
