"""Account names.

An account is named ``<kind>:<owner>[:<bucket>]``:

- ``user:<user_id>:pending`` -- energy in balls not yet collected;
- ``user:<user_id>:available`` -- collected energy, spendable on trees and watering;
- ``mint:<rule_id>`` -- where a rule's energy comes from (always negative);
- ``sink:expired``, ``sink:trees``, ``sink:<name>`` -- where energy leaves the game;
- ``pool:<pool_id>`` -- energy held for a co-planting group (guarded like a user's).

User balances and pools are *guarded*: they never go below zero. System accounts (mint,
sink) are split per shard in storage and summed when read, so no per-event write touches a
row shared by every user.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from greenenergy.units import shard_of

UserBucket = Literal["pending", "available"]
USER_BUCKETS: tuple[str, ...] = ("pending", "available")
SINK_EXPIRED = "sink:expired"
SINK_TREES = "sink:trees"
GUARDED_KINDS = frozenset({"user", "pool"})
KINDS = frozenset({"user", "mint", "sink", "pool"})


@dataclass(frozen=True, slots=True)
class AccountName:
    kind: str
    owner: str
    bucket: str | None = None

    def __str__(self) -> str:
        if self.bucket is None:
            return f"{self.kind}:{self.owner}"
        return f"{self.kind}:{self.owner}:{self.bucket}"


def user_account(user_id: str, bucket: UserBucket) -> str:
    if bucket not in USER_BUCKETS:
        raise ValueError(f"unknown user bucket {bucket!r}; use pending or available")
    return f"user:{user_id}:{bucket}"


def mint_account(rule_id: str) -> str:
    return f"mint:{rule_id}"


def pool_account(pool_id: str) -> str:
    return f"pool:{pool_id}"


def parse_account(name: str) -> AccountName:
    """Split an account name; user ids may themselves contain colons."""
    kind, sep, rest = name.partition(":")
    if not sep or not rest or kind not in KINDS:
        raise ValueError(f"malformed account name {name!r}")
    if kind == "user":
        owner, sep, bucket = rest.rpartition(":")
        if not sep or not owner or bucket not in USER_BUCKETS:
            raise ValueError(f"malformed user account {name!r}; expected user:<id>:pending|available")
        return AccountName(kind, owner, bucket)
    return AccountName(kind, rest)


def is_guarded(name: str) -> bool:
    """True for accounts whose balance may never go below zero."""
    return name.split(":", 1)[0] in GUARDED_KINDS


def account_shard(name: str, transaction_shard: int) -> int:
    """The shard a posting to ``name`` is stored in.

    A user's accounts live in the user's shard and a pool's in the pool's (a guarded balance
    must be one row); mint and sink accounts are split per shard and take the shard of the
    transaction that posts to it.
    """
    # Hot paths first, without a full parse: the user and mint accounts of every ingested event.
    if name.startswith("user:"):
        owner, _, bucket = name[5:].rpartition(":")
        if owner and bucket in USER_BUCKETS:
            return shard_of(owner)
    elif name.startswith(("mint:", "sink:")) and len(name) > 5:
        return transaction_shard
    parsed = parse_account(name)
    if parsed.kind in GUARDED_KINDS:
        return shard_of(parsed.owner)
    return transaction_shard
