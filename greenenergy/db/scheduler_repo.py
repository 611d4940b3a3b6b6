"""What the scheduler keeps in the database: the lock that makes one process the scheduler.

PostgreSQL: a session-level advisory lock, held by a connection the scheduler process keeps
open for its whole life (the server releases it when that connection ends, however the
process ends). SQLite: no lock; an embedded database is served by one process.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, text

ADVISORY_LOCK_KEY = 0x67726565  # "gree"


class SchedulerLock:
    """The held lock; ``release`` ends it (closing the connection that holds it)."""

    def __init__(self, connection: Connection | None) -> None:
        self._connection = connection

    def release(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def try_scheduler_lock(engine: Engine) -> SchedulerLock | None:
    """Take the scheduler lock, or None when another process holds it."""
    if engine.dialect.name != "postgresql":
        return SchedulerLock(None)
    connection = engine.connect()
    try:
        held = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY}).scalar()
        connection.commit()  # a session-level lock outlives the transaction that took it
    except BaseException:
        connection.close()
        raise
    if not held:
        connection.close()
        return None
    return SchedulerLock(connection)
