"""What a JSON request body accepts: values of the declared JSON type, never a coercion.

Every request model derives from ``Input``: unknown fields are refused and pydantic runs in
strict mode, so ``"38.6"`` or ``true`` is not a number, ``10.0`` or ``true`` is not an
integer of grams, ``1`` is not a bool, and a number is not a text. A JSON integer is still a
valid number (``38`` for a latitude). The 422 answer names the field.

Times are the one JSON value without a JSON type: ``Instant`` takes an ISO 8601 *string*
(``2026-11-20T09:15:00+08:00``) and refuses numbers, which lax pydantic would read as Unix
timestamps. A time without an offset is passed on, so the service can refuse it with its
own code (``invalid_timestamp``).

Query parameters and CSV cells are text by nature and are parsed, not covered here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict

EXAMPLE_TIME = "2026-11-20T09:15:00+08:00"


class Input(BaseModel):  # the base of every request body model
    model_config = ConfigDict(extra="forbid", strict=True)


def iso_8601(value: object) -> object:
    if isinstance(value, datetime):  # built in Python (tests, services), not from JSON
        return value
    if not isinstance(value, str):
        raise ValueError(f"must be an ISO 8601 time as a JSON string, e.g. {EXAMPLE_TIME}")
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 time, e.g. {EXAMPLE_TIME}") from None


Instant = Annotated[datetime, BeforeValidator(iso_8601)]
