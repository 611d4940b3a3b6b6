"""APScheduler wiring: in-process (embedded default) or a dedicated process.

With several API workers, set ``GREENENERGY_SCHEDULER=off`` and run ``greenenergy
scheduler`` in one process; on PostgreSQL a second scheduler process waits on an advisory
lock, so exactly one runs the jobs at a time.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from greenenergy.scheduler.jobs import JOBS, run_one
from greenenergy.services.runtime import Runtime, claim_scheduler

log = logging.getLogger("greenenergy.scheduler")


def _add_jobs(scheduler: BackgroundScheduler | BlockingScheduler, runtime: Runtime) -> None:
    for job in JOBS:
        scheduler.add_job(
            run_one,
            "interval",
            args=(runtime, job),
            seconds=job.every.total_seconds(),
            id=job.name,
            coalesce=True,
            max_instances=1,
            next_run_time=None,
        )
        scheduler.add_job(run_one, "date", args=(runtime, job), id=f"{job.name}-at-start")


def start_in_process(runtime: Runtime) -> BackgroundScheduler:
    """Start the jobs in a background thread of this process; the caller shuts it down."""
    scheduler = BackgroundScheduler(timezone="UTC")
    _add_jobs(scheduler, runtime)
    scheduler.start()
    return scheduler


def run_dedicated(runtime: Runtime) -> None:
    """Run the jobs in this process until interrupted, one such process at a time."""
    claim_scheduler(runtime, on_wait=lambda: log.info("another scheduler holds the lock; waiting"))
    scheduler = BlockingScheduler(timezone="UTC")
    _add_jobs(scheduler, runtime)
    scheduler.start()
