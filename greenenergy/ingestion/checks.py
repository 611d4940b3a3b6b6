"""Checks of one event that need no stored state, in the order the contract lists them.

``type_not_allowed`` (the source's token), ``unknown_type``, ``in_future`` (more than 5
minutes ahead), ``too_late`` (more than 7 days old), ``invalid_data`` (the fields of the rule
version in force, or data with no canonical JSON form), ``implausible`` (a day's steps above
the plausible maximum). The checks that read stored state (``user_blocked``, the hourly
burst) run in ``decide``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from greenenergy.canonical import NotCanonical, jcs
from greenenergy.clock import ensure_utc
from greenenergy.errors import GreenEnergyError
from greenenergy.ingestion.model import EventResult, IncomingEvent
from greenenergy.scoring import RuleBook

FUTURE_SKEW = timedelta(minutes=5)
MAX_AGE = timedelta(days=7)
STEPS_TYPE = "walking.steps"


def rejected(event_id: str, reason: str, message: str, details: dict[str, Any] | None = None) -> EventResult:
    return EventResult(event_id, "rejected", reason=reason, message=message, details=details or None)


def check_event(
    rules: RuleBook,
    event: IncomingEvent,
    allowed: frozenset[str] | None,
    now: datetime,
    max_daily_steps: int,
) -> EventResult | tuple[datetime, dict[str, Any]]:
    """The rejection of ``event``, or its UTC time and typed data."""
    event_id = event.event_id
    if allowed is not None and event.event_type not in allowed:
        return rejected(event_id, "type_not_allowed", f"this source may not emit {event.event_type!r} events")
    if event.event_type not in rules.by_type:
        return rejected(event_id, "unknown_type", f"no rule scores event type {event.event_type!r}")
    occurred_at = ensure_utc(event.occurred_at, what="occurred_at")
    if occurred_at > now + FUTURE_SKEW:
        return rejected(
            event_id, "in_future", f"occurred_at {occurred_at.isoformat()} is more than 5 minutes in the future"
        )
    if occurred_at < now - MAX_AGE:
        return rejected(event_id, "too_late", f"occurred_at {occurred_at.isoformat()} is more than 7 days old")
    try:
        data = rules.validate(event.event_type, occurred_at, event.data)
    except GreenEnergyError as error:
        return rejected(event_id, error.code, error.message, dict(error.details))
    if any(type(value) is str for value in data.values()):
        try:
            jcs(data)
        except NotCanonical:
            return rejected(
                event_id,
                "invalid_data",
                "data holds text that is not valid Unicode (a lone surrogate)",
                {"field": "data", "reason": "not_unicode"},
            )
    if event.event_type == STEPS_TYPE and int(data.get("steps", 0)) > max_daily_steps:
        return rejected(
            event_id,
            "implausible",
            f"{data['steps']} steps in a day is above the plausible {max_daily_steps}",
            {"field": "steps"},
        )
    return occurred_at, data
