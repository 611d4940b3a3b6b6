"""The scheduled jobs, each one call of a service, and how they are run.

Jobs are idempotent (running one twice, or in two processes at once, moves nothing twice),
so the in-process scheduler of the embedded default, `greenenergy tick` and a dedicated
`greenenergy scheduler` process can all run them safely.

- ``ripen``: nothing to move -- a ball's status is derived from the clock when read; the
  job reports how many balls became visible since the previous hour for the log.
- ``expire_balls``: remaining grams of expired balls -> ``sink:expired``.
- ``mark_overdue_orders``: planting orders past their deadline -> ``overdue``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, is_dataclass
from datetime import datetime, timedelta

from greenenergy.services.forest import jobs as forest_jobs
from greenenergy.services.planting import jobs as planting_jobs
from greenenergy.services.runtime import Runtime

log = logging.getLogger("greenenergy.scheduler")


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[Runtime, datetime], object]
    every: timedelta


JOBS: tuple[Job, ...] = (
    Job("ripen", forest_jobs.ripened, timedelta(hours=1)),
    Job("expire_balls", forest_jobs.expire_balls, timedelta(minutes=5)),
    Job("mark_overdue_orders", planting_jobs.mark_overdue, timedelta(hours=1)),
)


def describe(result: object) -> str:
    if is_dataclass(result) and not isinstance(result, type):
        result = asdict(result)
    if isinstance(result, dict):
        return ", ".join(f"{k}={v}" for k, v in result.items())
    return str(result)


def run_all(runtime: Runtime, now: datetime | None = None) -> list[tuple[str, object]]:
    """Run every job once as of ``now`` (default: the runtime's clock)."""
    moment = now or runtime.clock.now()
    return [(job.name, job.run(runtime, moment)) for job in JOBS]


def run_one(runtime: Runtime, job: Job) -> None:
    """One scheduled run; a failure is logged and retried at the next interval."""
    try:
        result = job.run(runtime, runtime.clock.now())
        log.info("job %s: %s", job.name, describe(result))
    except Exception:  # a job must never kill the scheduler thread; it runs again next time
        log.exception("job %s failed", job.name)
