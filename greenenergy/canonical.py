"""Canonical bytes of every hashed record, and the one textual form of an instant.

A record (ledger transaction, accepted event, planting confirmation, checkpoint leaf) is
hashed over its **canonical bytes**: the RFC 8785 JSON Canonicalization Scheme (JCS) of a
JSON object, UTF-8. Anyone holding a record can recompute its hash with any JCS
implementation; the object of each record kind is documented where it is built
(``ledger/chain.py``, ``ingestion/records.py``, ``planting/canonical.py``).

* ``jcs(value)`` is RFC 8785. Values made of strings, integers, booleans, null, lists and
  objects with keys inside the Basic Multilingual Plane -- every record this engine writes
  unless an event's data carries a float -- take ``orjson`` with sorted keys, which for that
  domain writes exactly the JCS bytes, ten times faster than the standard library
  (tests/unit/test_canonical.py proves the equality against the ``rfc8785`` package);
  anything else (a float, a key outside the BMP) goes through ``rfc8785`` itself.
* ``legacy_json(value)``: records stored before format 2 were hashed over Python's compact
  sorted JSON, which differs from JCS only in how floats are written (``1e-07`` vs
  ``1e-7``, ``5.0`` vs ``5``); they still verify with it.
* ``format_instant`` is the only textual form of an instant inside a hashed record:
  ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import orjson
import rfc8785

from greenenergy.errors import InvalidInput

MAX_SAFE_INTEGER = 2**53 - 1  # RFC 8785 numbers are IEEE 754 doubles: larger integers are refused
_SORTED = orjson.OPT_SORT_KEYS
_BMP_END = "\uffff"


class NotCanonical(InvalidInput):
    """A value that has no canonical JSON form (a lone surrogate, NaN, a non-string key)."""

    code = "not_canonical"


def jcs(value: Any) -> bytes:
    """RFC 8785 canonical JSON bytes of ``value`` (see the module docstring)."""
    try:
        if _fast_ok(value):
            return orjson.dumps(value, option=_SORTED)
        return rfc8785.dumps(value)
    except (orjson.JSONEncodeError, UnicodeEncodeError, ValueError, TypeError, rfc8785.CanonicalizationError) as error:
        raise NotCanonical(f"value has no canonical JSON form: {error}") from error


def jcs_plain(value: Any) -> bytes:
    """``jcs(value)`` for a value the caller knows to be plain -- no float, integers within
    +-(2**53 - 1), object keys inside the BMP -- without checking it. A lone surrogate is
    still refused (``NotCanonical``)."""
    try:
        return orjson.dumps(value, option=_SORTED)
    except orjson.JSONEncodeError as error:
        raise NotCanonical(f"value has no canonical JSON form: {error}") from error


def legacy_json(value: Any) -> bytes:
    """The canonical bytes of format-1 records: Python's compact sorted JSON, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record_hash(record: dict[str, Any]) -> str:
    """SHA-256 (hex) of the record's canonical bytes."""
    return hashlib.sha256(jcs(record)).hexdigest()


def format_instant(moment: datetime) -> str:
    """UTC with microseconds and a Z: the one textual form of an instant that is hashed."""
    if moment.tzinfo is None:
        raise ValueError(f"refusing a naive datetime {moment.isoformat()}")
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    # isoformat is the C fast path; for a UTC instant it ends in "+00:00", replaced by "Z".
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"


def _fast_ok(value: Any) -> bool:
    """True when the standard encoder gives the JCS bytes of ``value``: no float anywhere
    and every object key a string inside the BMP (JCS sorts keys by UTF-16 code units,
    Python by code points; the two orders agree inside the BMP)."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or (key and max(key) > _BMP_END):
                return False
            if not _fast_ok(item):
                return False
        return True
    if kind is list or kind is tuple:
        return all(_fast_ok(item) for item in value)
    return False
