"""Chain heads: lock, read and advance the per-shard heads of a hash chain.

Every writer locks the heads it appends to before anything else it locks, in
(chain, shard) order -- ``events`` before ``ledger`` -- so concurrent writers cannot deadlock.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from greenenergy.db.tables import ChainHead

HEADS = ChainHead.__table__


def lock_heads(connection: Connection, chain: str, shards: list[int]) -> dict[int, tuple[int, str]]:
    """Lock and return ``{shard: (seq, head_hash)}`` for ``shards`` of ``chain``."""
    query = (
        select(HEADS.c.shard, HEADS.c.seq, HEADS.c.head_hash)
        .where(HEADS.c.chain == chain, HEADS.c.shard.in_(sorted(shards)))
        .order_by(HEADS.c.shard)
        .with_for_update()
    )
    heads = {row.shard: (row.seq, row.head_hash) for row in connection.execute(query)}
    missing = set(shards) - heads.keys()
    if missing:
        raise RuntimeError(f"chain {chain!r} has no head for shards {sorted(missing)}; run `greenenergy init`")
    return heads


def store_heads(connection: Connection, chain: str, heads: dict[int, tuple[int, str]]) -> None:
    """Advance the (locked) heads of ``chain`` to ``{shard: (seq, head_hash)}``."""
    if not heads:
        return
    mark = "?" if connection.dialect.name == "sqlite" else "%s"
    connection.exec_driver_sql(
        f"UPDATE chain_heads SET seq = {mark}, head_hash = {mark} WHERE chain = {mark} AND shard = {mark}",
        [(seq, digest, chain, shard) for shard, (seq, digest) in sorted(heads.items())],
    )


def read_heads(connection: Connection, chain: str) -> dict[int, tuple[int, str]]:
    query = select(HEADS.c.shard, HEADS.c.seq, HEADS.c.head_hash).where(HEADS.c.chain == chain)
    return {row.shard: (row.seq, row.head_hash) for row in connection.execute(query)}
