"""Canonical bytes of planting records, so anyone can recompute their hashes.

Format: the RFC 8785 (JCS) bytes (``greenenergy.canonical.jcs``) of a flat object whose
values are strings, integers, booleans or null. Instants are written as
``greenenergy.canonical.format_instant`` does (UTC, ``YYYY-MM-DDTHH:MM:SS.ffffffZ``), dates
``YYYY-MM-DD``. (Planting records hold no floats and ASCII keys, so their JCS bytes are also
the compact sorted JSON the first records were hashed over: every stored hash still
verifies.)

Floats are refused: their text differs between languages. Coordinates are therefore
written as decimal strings with exactly 7 fraction digits (about 1 cm), see
``coordinate_text``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime

from greenenergy.canonical import format_instant, jcs, sha256_hex

__all__ = ["COORDINATE_DIGITS", "canonical_bytes", "coordinate_text", "format_instant", "sha256_hex"]

COORDINATE_DIGITS = 7


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
        return format_instant(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"canonical records take str, int, bool, None, date or datetime; got {value!r}")


def canonical_bytes(record: Mapping[str, object]) -> bytes:
    """The documented canonical encoding of a flat record (see the module docstring)."""
    return jcs({str(key): _plain(value) for key, value in record.items()})
