"""Errors of the scoring core.

Request errors (an event the rules cannot score) are ``InvalidInput`` subclasses with the
snake_case codes of CONTRACT.md (``unknown_type``, ``invalid_data``). A bad rule file is a
``greenenergy.errors.CatalogError`` listing every problem; ``ExpressionError`` is the
loader's internal signal for one bad expression and never reaches an API caller.
"""

from __future__ import annotations

from typing import Any

from greenenergy.errors import GreenEnergyError, InvalidInput


class UnknownEventType(InvalidInput):
    """No rule scores this event type (or none is in force at the event's time)."""

    code = "unknown_type"

    def __init__(self, message: str, *, event_type: str, **details: Any) -> None:
        super().__init__(message, event_type=event_type, **details)


class NoRuleInForce(UnknownEventType):
    """The event type has rules, but no version is in force at ``occurred_at``."""


class InvalidEventData(InvalidInput):
    """The event's ``data`` does not fit the declared fields of the rule in force.

    ``details`` carries ``field`` (the offending field name) and ``reason`` (one of
    ``missing``, ``unknown_field``, ``wrong_type``, ``out_of_bounds``, ``not_a_mapping``).
    """

    code = "invalid_data"

    def __init__(self, message: str, *, field: str, reason: str) -> None:
        super().__init__(message, field=field, reason=reason)
        self.field = field
        self.reason = reason


class ExpressionError(GreenEnergyError):
    """An expression of a rule is refused; the message says what to write instead."""

    code = "invalid_expression"
