"""Scheduled jobs: `greenenergy tick --now` runs them as of a time, idempotently."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from greenenergy.cli.main import app
from greenenergy.db.engine import make_engine
from greenenergy.ledger import SINK_EXPIRED
from greenenergy.scheduler.jobs import JOBS
from greenenergy.scheduler.runner import start_in_process
from greenenergy.services import ledger
from greenenergy.services.forest.jobs import ripened
from greenenergy.services.ingest import IncomingEvent, ingest
from greenenergy.services.runtime import Runtime, claim_scheduler
from tests.helpers import pending_g


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
