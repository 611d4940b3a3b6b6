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
from greenenergy.db.driver import Sql
from greenenergy.db.tables import ChainHead
from greenenergy.units import EVENT_LANES

HEADS = ChainHead.__table__
LANE_LOCK_CLASS = 0x6765  # the advisory lock class of the events lanes ("ge")


def acquire_event_lane(connection: Connection) -> int:
    """A lane of the ``events`` chains no other open transaction holds (PostgreSQL), waiting
    for one only when all are taken; lane 0 on SQLite, whose writers are serialised anyway."""
    if connection.dialect.name != "postgresql":
        return 0
    sql = Sql(connection)
    start = random.randrange(EVENT_LANES)  # spread batches over the lanes
    for step in range(EVENT_LANES):
        lane = (start + step) % EVENT_LANES
        if sql.one("SELECT pg_try_advisory_xact_lock(?, ?)", (LANE_LOCK_CLASS, lane))[0]:  # type: ignore[index]
            return lane
    sql.run("SELECT pg_advisory_xact_lock(?, ?)", (LANE_LOCK_CLASS, start))
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
    sql = Sql(connection)
    if sql.postgres:
        rows = sql.all(
            "SELECT shard, seq, head_hash FROM chain_heads WHERE chain = ? AND lane = ? AND shard = ANY(?) "
            "ORDER BY shard" + (" FOR UPDATE" if lock else ""),
            (chain, lane, wanted),
        )
    else:
        rows = sql.all(
            f"SELECT shard, seq, head_hash FROM chain_heads WHERE chain = ? AND lane = ? AND shard IN "
            f"({', '.join('?' * len(wanted))})",
            (chain, lane, *wanted),
        )
    heads = {int(shard): (int(seq), head_hash) for shard, seq, head_hash in rows}
    missing = set(wanted) - heads.keys()
    if missing:
        raise RuntimeError(
            f"chain {chain!r} lane {lane} has no head for shards {sorted(missing)}; run `greenenergy init`"
        )
    return heads


def store_heads(connection: Connection, chain: str, heads: dict[int, tuple[int, str]], *, lane: int = 0) -> None:
    """Advance the heads of ``chain``'s ``lane`` to ``{shard: (seq, head_hash)}``."""
    rows = [(seq, digest, chain, shard, lane) for shard, (seq, digest) in sorted(heads.items())]
    if len(rows) > 8 and connection.dialect.name == "postgresql":  # a batch: one statement, not one per shard
        update_tuples(connection, HEADS, ("seq", "head_hash"), ("chain", "shard", "lane"), rows)
    else:
        Sql(connection).many(
            "UPDATE chain_heads SET seq = ?, head_hash = ? WHERE chain = ? AND shard = ? AND lane = ?", rows
        )


def read_heads(connection: Connection, chain: str, *, lane: int = 0) -> dict[int, tuple[int, str]]:
    query = select(HEADS.c.shard, HEADS.c.seq, HEADS.c.head_hash).where(HEADS.c.chain == chain, HEADS.c.lane == lane)
    return {row.shard: (row.seq, row.head_hash) for row in connection.execute(query)}
