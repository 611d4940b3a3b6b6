"""What every service needs: settings, the database engine and the clock.

Built once by a shell (CLI command, API app factory, scheduler) and passed to services as
a value; tests build one with a ``ManualClock`` and a throw-away database.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from greenenergy.clock import Clock, SystemClock
from greenenergy.config import Settings
from greenenergy.db import scheduler_repo
from greenenergy.db.engine import Engine, make_engine, ping, read_tx

SCHEDULER_LOCK = "scheduler_lock"


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    clock: Clock
    # Catalogs (rules, species, plots) loaded once per process and cached here by services.
    cache: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock | None = None) -> Runtime:
        return cls(settings=settings, engine=make_engine(settings.sqlalchemy_url), clock=clock or SystemClock())

    def close(self) -> None:
        lock = self.cache.pop(SCHEDULER_LOCK, None)
        if lock is not None:
            lock.release()
        self.engine.dispose()


def check_database(runtime: Runtime) -> str:
    """One round trip to the database; its kind (``sqlite`` or ``postgresql``)."""
    with read_tx(runtime.engine) as connection:
        return ping(connection)


def claim_scheduler(
    runtime: Runtime, *, on_wait: Callable[[], None] = lambda: None, poll_s: float = 5.0, attempts: int | None = None
) -> bool:
    """Make this process the one that runs the scheduled jobs: wait (``on_wait`` once per
    try, ``poll_s`` apart) until no other process is; held until ``runtime.close()`` or the
    process ends. False if ``attempts`` tries all found it held elsewhere."""
    tries = 0
    while runtime.cache.get(SCHEDULER_LOCK) is None:
        lock = scheduler_repo.try_scheduler_lock(runtime.engine)
        if lock is not None:
            runtime.cache[SCHEDULER_LOCK] = lock
            break
        tries += 1
        if attempts is not None and tries >= attempts:
            return False
        on_wait()
        time.sleep(poll_s)
    return True
