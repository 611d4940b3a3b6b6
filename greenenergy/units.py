"""Units and the shard key.

Energy is integer grams of CO2e (``energy_g``), never a float. The shard of a user is
``crc32(user_id as UTF-8) mod 256``: every row that belongs to a user carries it, so that
everything serial for one user (caps, balances, balls) lives in one shard and writers of
different shards never wait on each other.
"""

from __future__ import annotations

import zlib

SHARD_COUNT = 256
# Lanes of each shard's ``events`` chain: concurrent ingestion batches each hold one lane, so
# they append side by side instead of queueing on the shard's one chain head.
EVENT_LANES = 8


def shard_of(user_id: str) -> int:
    """The shard (0..255) of a user id: crc32 of its UTF-8 bytes, mod 256."""
    return zlib.crc32(user_id.encode("utf-8")) % SHARD_COUNT


def require_grams(value: object, *, what: str = "energy_g") -> int:
    """Return ``value`` if it is an integer number of grams; refuse floats and bools."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an integer number of grams, got {value!r}")
    return value
