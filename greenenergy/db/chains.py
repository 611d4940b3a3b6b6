"""Chain heads: read, lock and advance the heads of the per-shard (and per-lane) hash chains.

Every writer takes the heads it appends to before anything else it locks, in (chain, shard)
order -- ``events`` before ``ledger`` -- so concurrent writers cannot deadlock. An ingestion
batch first takes one of the ``events`` chain's lanes (``acquire_event_lane``: a PostgreSQL
advisory lock per lane, held to the end of the transaction); the heads of that lane are then
its own, read without row locks.
"""

from __future__ import annotations

import random

from sqlalchemy import Connection, select

from greenenergy.db.bulk import update_tuples
from greenenergy.db.tables import ChainHead
from greenenergy.units import EVENT_LANES

HEADS = ChainHead.__table__
LANE_LOCK_CLASS = 0x6765  # the advisory lock class of the events lanes ("ge")


def acquire_event_lane(connection: Connection) -> int:
    """A lane of the ``events`` chains no other open transaction holds (PostgreSQL), waiting
    for one only when all are taken; lane 0 on SQLite, whose writers are serialised anyway."""
    if connection.dialect.name != "postgresql":
        return 0
    start = random.randrange(EVENT_LANES)  # spread batches over the lanes
    for step in range(EVENT_LANES):
        lane = (start + step) % EVENT_LANES
        if connection.exec_driver_sql("SELECT pg_try_advisory_xact_lock(%s, %s)", (LANE_LOCK_CLASS, lane)).scalar():
            return lane
    connection.exec_driver_sql("SELECT pg_advisory_xact_lock(%s, %s)", (LANE_LOCK_CLASS, start))
    return start


def lock_heads(
    connection: Connection, chain: str, shards: list[int], *, lane: int = 0, lock: bool = True
) -> dict[int, tuple[int, str]]:
    """``{shard: (seq, head_hash)}`` of ``chain``'s ``lane`` for ``shards``; locked
    (PostgreSQL ``FOR UPDATE``, in shard order) unless ``lock`` is False (the caller holds the
    lane). SQLite: the caller's write lock. Plain driver SQL: this runs per write, with up to
    256 shards."""
    wanted = sorted(set(shards))
    if not wanted:
        return {}
    if connection.dialect.name == "postgresql":
        sql = (
            "SELECT shard, seq, head_hash FROM chain_heads WHERE chain = %s AND lane = %s AND shard = ANY(%s) "
            "ORDER BY shard" + (" FOR UPDATE" if lock else "")
        )
        params: tuple = (chain, lane, wanted)
    else:
        sql = "SELECT shard, seq, head_hash FROM chain_heads WHERE chain = ? AND lane = ? AND shard IN (" + ", ".join(
            "?" * len(wanted)
        ) + ")"
        params = (chain, lane, *wanted)
    heads = {int(shard): (int(seq), head_hash) for shard, seq, head_hash in connection.exec_driver_sql(sql, params)}
    missing = set(wanted) - heads.keys()
    if missing:
        raise RuntimeError(f"chain {chain!r} lane {lane} has no head for shards {sorted(missing)}; run `greenenergy init`")
    return heads


def store_heads(connection: Connection, chain: str, heads: dict[int, tuple[int, str]], *, lane: int = 0) -> None:
    """Advance the heads of ``chain``'s ``lane`` to ``{shard: (seq, head_hash)}``."""
    update_tuples(
        connection,
        HEADS,
        ("seq", "head_hash"),
        ("chain", "shard", "lane"),
        [(seq, digest, chain, shard, lane) for shard, (seq, digest) in sorted(heads.items())],
    )


def read_heads(connection: Connection, chain: str, *, lane: int = 0) -> dict[int, tuple[int, str]]:
    query = select(HEADS.c.shard, HEADS.c.seq, HEADS.c.head_hash).where(HEADS.c.chain == chain, HEADS.c.lane == lane)
    return {row.shard: (row.seq, row.head_hash) for row in connection.execute(query)}
