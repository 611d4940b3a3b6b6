"""Leaderboards: a histogram of scores for exact global ranks; friends' scores in one probe

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08

* ``forest_score_buckets``: how many scores of each period fall in each bucket
  (greenenergy.db.score_buckets), so a global rank adds up a few hundred bucket rows and
  counts one bucket's index range instead of every score above it; backfilled from
  ``forest_scores``. SQLite: a WITHOUT ROWID table (the primary key is the table).
* ``forest_scores``' primary key carries the score, so each probe of a friends board is one
  index descent: SQLite rebuilds the table WITHOUT ROWID (the rows live in the primary-key
  b-tree); PostgreSQL's primary key INCLUDEs ``score_g`` (index-only scans).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from greenenergy.db.score_buckets import COARSE, FINE, coarse_bucket, fine_bucket, part_of

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "forest_score_buckets",
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("bucket", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("part", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("users", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("period", "level", "bucket", "part", name=op.f("pk_forest_score_buckets")),
        sqlite_with_rowid=False,
    )
    if bind.dialect.name == "sqlite":
        _scores_without_rowid()
    else:
        op.execute(
            "ALTER TABLE forest_scores DROP CONSTRAINT pk_forest_scores, "
            "ADD CONSTRAINT pk_forest_scores PRIMARY KEY (user_id, period) INCLUDE (score_g)"
        )
    _backfill_buckets(bind)


def _scores_without_rowid() -> None:
    op.execute(
        "CREATE TABLE forest_scores_new ("
        "user_id VARCHAR(64) NOT NULL, period VARCHAR(16) NOT NULL, shard SMALLINT NOT NULL, "
        "score_g BIGINT NOT NULL, "
        "CONSTRAINT pk_forest_scores PRIMARY KEY (user_id, period), "
        "CONSTRAINT ck_forest_scores_score_non_negative CHECK (score_g >= 0)) WITHOUT ROWID"
    )
    op.execute(
        "INSERT INTO forest_scores_new (user_id, period, shard, score_g) "
        "SELECT user_id, period, shard, score_g FROM forest_scores ORDER BY user_id, period"
    )
    op.execute("DROP TABLE forest_scores")
    op.execute("ALTER TABLE forest_scores_new RENAME TO forest_scores")
    op.create_index("ix_forest_scores_period_score", "forest_scores", ["period", "score_g"])


def _backfill_buckets(bind: sa.Connection) -> None:
    counts: dict[tuple[str, int, int, int], int] = {}
    rows = bind.execute(sa.text("SELECT user_id, period, score_g FROM forest_scores WHERE score_g > 0"))
    for user_id, period, score in rows:
        part = part_of(user_id)
        fine = fine_bucket(int(score))
        for key in ((period, FINE, fine, part), (period, COARSE, coarse_bucket(fine), part)):
            counts[key] = counts.get(key, 0) + 1
    table = sa.table(
        "forest_score_buckets", *(sa.column(name) for name in ("period", "level", "bucket", "part", "users"))
    )
    records = [
        {"period": period, "level": level, "bucket": bucket, "part": part, "users": users}
        for (period, level, bucket, part), users in sorted(counts.items())
    ]
    for start in range(0, len(records), 5000):
        op.bulk_insert(table, records[start : start + 5000])


def downgrade() -> None:
    op.drop_table("forest_score_buckets")
