"""Canonical bytes of planting records, so anyone can recompute their hashes.

Format (the same conventions as the ledger's transactions): the UTF-8 bytes of compact
JSON -- ``separators=(",", ":")``, keys sorted, non-ASCII kept as is -- of a flat object
whose values are strings, integers, booleans or null. Instants are UTC written
``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (always six fraction digits), dates ``YYYY-MM-DD``.

Floats are refused: their text differs between languages. Coordinates are therefore
written as decimal strings with exactly 7 fraction digits (about 1 cm), see
``coordinate_text``.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from datetime import date, datetime

from greenenergy.clock import ensure_utc

COORDINATE_DIGITS = 7


def instant_text(moment: datetime) -> str:
    """UTC with microseconds and a Z: the one textual form of an instant that is hashed."""
    return ensure_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def coordinate_text(value: float) -> str:
    """A latitude or longitude as a fixed 7-decimal string (``-0`` written as ``0``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"coordinate must be a finite number, got {value!r}")
    text = f"{value:.{COORDINATE_DIGITS}f}"
    # -0.0000000 and 0.0000000 are the same point; keep one spelling.
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _plain(value: object) -> object:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, datetime):
        return instant_text(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"canonical records take str, int, bool, None, date or datetime; got {value!r}")


def canonical_bytes(record: Mapping[str, object]) -> bytes:
    """The documented canonical encoding of a flat record (see the module docstring)."""
    plain = {str(key): _plain(value) for key, value in record.items()}
    return json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
