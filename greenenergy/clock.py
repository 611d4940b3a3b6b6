"""The injected clock.

Core code never reads the wall clock: it receives a ``Clock`` (or a timestamp) as an
argument. ``SystemClock`` is built once in the shells; tests use ``ManualClock`` to move
time across 07:00, the 72-hour edge or a month boundary.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


def ensure_utc(moment: datetime, *, what: str = "timestamp") -> datetime:
    """Return ``moment`` converted to UTC; refuse naive datetimes."""
    if moment.tzinfo is UTC:
        return moment  # the common case on hot paths: already UTC, nothing to convert
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        raise ValueError(f"{what} must carry a time zone offset, got {moment.isoformat()}")
    return moment.astimezone(UTC)


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, tz-aware UTC."""
        ...


class SystemClock:
    """The real clock; built only by the shells."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime) -> None:
        self._now = ensure_utc(start)

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = ensure_utc(moment)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        self._now = self._now + (delta if delta is not None else timedelta(**kwargs))
        return self._now
