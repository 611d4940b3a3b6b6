"""A histogram of leaderboard scores, so a global rank never counts a million index entries.

A user's global rank is ``1 + the number of scores above theirs`` in the period. Counting
those on the ``(period, score_g)`` index costs one index entry per user ahead: a million for
the last of a million users. ``forest_score_buckets`` keeps, per period, how many score rows
fall in each bucket of scores, at two levels, so the count becomes

    users in coarse buckets above mine                          (one row per coarse bucket and part)
  + users in the fine buckets of my coarse bucket above mine    (at most 2**FINE_BITS per part)
  + COUNT(score > mine) inside my own fine bucket (an index range of one bucket's users)

and the rank stays EXACT (ties: only strictly greater scores count).

Buckets grow with the score like a floating-point number: scores below ``2**FINE_BITS`` have
a bucket each (width 1); above, a score ``s`` with ``e = bit_length(s) - FINE_BITS`` falls in
fine bucket ``(e << FINE_BITS) | (s >> e)``, of width ``2**e`` (relative width under
``2**(1 - FINE_BITS)``), and in coarse bucket ``e``. Bucket ids grow with the scores they
hold, so "above" is ``bucket >`` on both levels. A score of 0 (or no row) is in no bucket.

Rows are spread over ``PARTS`` parts (by the user's shard): at the 07:00 rush on PostgreSQL,
concurrent collects that move users across the same bucket update different rows instead of
queueing on one row lock until each commit. Reads add the parts up: a rank reads at most
``PARTS * (coarse buckets + 2**FINE_BITS)`` small rows, typically a few hundred (0.2-0.3 ms
of CPU on SQLite at a million users). Worst case measured (16 PostgreSQL writers, durable,
each committing only a first score of the same size, so all hit the same buckets): 4 parts
cost 35 % of the writers' throughput against no buckets, 16 parts 15 %, 64 parts 12 %.

Maintained in the commit that changes the scores (``play_repo.add_scores``; the bulk loads
call ``rebuild``). A row whose count went back to 0 stays (bounded by the number of buckets).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import Connection, delete, select

from greenenergy.db.driver import Sql
from greenenergy.db.tables_forest import ScoreBucketRow, ScoreRow
from greenenergy.units import shard_of

BUCKETS = ScoreBucketRow.__table__
SCORES = ScoreRow.__table__
FINE_BITS = 8
PARTS = 16
FINE, COARSE = 0, 1  # levels

BucketKey = tuple[str, int, int, int]  # (period, level, bucket, part)


def fine_bucket(score_g: int) -> int:
    """The fine bucket of a score >= 1."""
    exponent = max(0, score_g.bit_length() - FINE_BITS)
    return (exponent << FINE_BITS) | (score_g >> exponent)


def coarse_bucket(fine: int) -> int:
    return fine >> FINE_BITS


def fine_range(fine: int) -> tuple[int, int]:
    """``(lowest, highest)`` score of a fine bucket."""
    exponent = fine >> FINE_BITS
    lowest = (fine & ((1 << FINE_BITS) - 1)) << exponent
    return lowest, lowest + (1 << exponent) - 1


def part_of(user_id: str) -> int:
    return shard_of(user_id) % PARTS


def deltas(changes: Iterable[tuple[str, str, int, int]]) -> dict[BucketKey, int]:
    """Net changes of bucket counts for score changes ``(user_id, period, before_g, after_g)``
    (0: no score), without the zeros, in key order (the order rows are locked in)."""
    out: dict[BucketKey, int] = {}
    for user_id, period, before, after in changes:
        part = part_of(user_id)
        for score, step in ((before, -1), (after, 1)):
            if score > 0:
                fine = fine_bucket(score)
                for key in ((period, FINE, fine, part), (period, COARSE, coarse_bucket(fine), part)):
                    out[key] = out.get(key, 0) + step
    return {key: out[key] for key in sorted(out) if out[key]}


def store_deltas(connection: Connection, changes: Mapping[BucketKey, int]) -> None:
    """Add ``changes`` to the bucket counts: one upsert, rows in key order."""
    if not changes:
        return
    rows = sorted(changes.items())
    values = ", ".join("(?, ?, ?, ?, ?)" for _ in rows)
    Sql(connection).run(
        f"INSERT INTO forest_score_buckets (period, level, bucket, part, users) VALUES {values} "
        "ON CONFLICT (period, level, bucket, part) DO UPDATE SET users = forest_score_buckets.users + excluded.users",
        tuple(value for (period, level, bucket, part), users in rows for value in (period, level, bucket, part, users)),
    )


def count_above(connection: Connection, period: str, score_g: int) -> int:
    """How many scores of ``period`` are strictly above ``score_g`` (exact). One statement:
    the coarse buckets above, the fine buckets above in the same coarse bucket, and the
    scores above inside the score's own fine bucket."""
    sql = Sql(connection)
    if score_g <= 0:
        row = sql.one("SELECT COALESCE(SUM(users), 0) FROM forest_score_buckets WHERE period = ? AND level = ?",
                      (period, COARSE))  # fmt: skip
        return int(row[0]) if row else 0
    fine = fine_bucket(score_g)
    coarse = coarse_bucket(fine)
    _lowest, highest = fine_range(fine)
    row = sql.one(
        "SELECT "
        "(SELECT COALESCE(SUM(users), 0) FROM forest_score_buckets WHERE period = ? AND level = ? AND bucket > ?), "
        "(SELECT COALESCE(SUM(users), 0) FROM forest_score_buckets WHERE period = ? AND level = ? "
        "AND bucket > ? AND bucket < ?), "
        "(SELECT COUNT(*) FROM forest_scores WHERE period = ? AND score_g > ? AND score_g <= ?)",
        (period, COARSE, coarse, period, FINE, fine, (coarse + 1) << FINE_BITS, period, score_g, highest),
    )
    return sum(int(value) for value in row) if row else 0


def rebuild(connection: Connection) -> None:
    """Recount every bucket from the score rows (after a bulk load that bypassed them)."""
    connection.execute(delete(BUCKETS))
    counts: dict[BucketKey, int] = {}
    query = select(SCORES.c.user_id, SCORES.c.period, SCORES.c.score_g).where(SCORES.c.score_g > 0)
    for user_id, period, score in connection.execute(query):
        part = part_of(user_id)
        fine = fine_bucket(int(score))
        for key in ((period, FINE, fine, part), (period, COARSE, coarse_bucket(fine), part)):
            counts[key] = counts.get(key, 0) + 1
    rows = sorted(counts.items())
    for start in range(0, len(rows), 5000):
        store_deltas(connection, dict(rows[start : start + 5000]))
