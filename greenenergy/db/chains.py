"""Chain heads: lock, read and advance the per-shard heads of a hash chain.

Every writer locks the heads it appends to before anything else it locks, in
(chain, shard) order -- ``events`` before ``ledger`` -- so concurrent writers cannot deadlock.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from greenenergy.db.bulk import update_tuples
from greenenergy.db.tables import ChainHead

HEADS = ChainHead.__table__


def lock_heads(connection: Connection, chain: str, shards: list[int]) -> dict[int, tuple[int, str]]:
    """Lock and return ``{shard: (seq, head_hash)}`` for ``shards`` of ``chain``.

    PostgreSQL: ``FOR UPDATE`` in shard order; SQLite: the caller's write lock. Plain
    driver SQL: this runs twice per ingested batch, with up to 256 shards.
    """
    wanted = sorted(set(shards))
    if not wanted:
        return {}
    if connection.dialect.name == "postgresql":
        sql = (
            "SELECT shard, seq, head_hash FROM chain_heads WHERE chain = %s AND shard = ANY(%s) "
            "ORDER BY shard FOR UPDATE"
        )
        params: tuple = (chain, wanted)
    else:
        sql = (
            "SELECT shard, seq, head_hash FROM chain_heads WHERE chain = ? AND shard IN ("
            + ", ".join("?" * len(wanted))
            + ")"
        )
        params = (chain, *wanted)
    heads = {int(shard): (int(seq), head_hash) for shard, seq, head_hash in connection.exec_driver_sql(sql, params)}
    missing = set(wanted) - heads.keys()
    if missing:
        raise RuntimeError(f"chain {chain!r} has no head for shards {sorted(missing)}; run `greenenergy init`")
    return heads


def store_heads(connection: Connection, chain: str, heads: dict[int, tuple[int, str]]) -> None:
    """Advance the (locked) heads of ``chain`` to ``{shard: (seq, head_hash)}``."""
    update_tuples(
        connection,
        HEADS,
        ("seq", "head_hash"),
        ("chain", "shard"),
        [(seq, digest, chain, shard) for shard, (seq, digest) in sorted(heads.items())],
    )


def read_heads(connection: Connection, chain: str) -> dict[int, tuple[int, str]]:
    query = select(HEADS.c.shard, HEADS.c.seq, HEADS.c.head_hash).where(HEADS.c.chain == chain)
    return {row.shard: (row.seq, row.head_hash) for row in connection.execute(query)}
