"""Ingestion (events chain, cap usage, running totals, blocked users) and energy balls.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from greenenergy.db.types import UTCDateTime
from greenenergy.ledger.chain import GENESIS_HASH
from greenenergy.units import SHARD_COUNT

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "balls",
        sa.Column("ball_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("energy_g", sa.BigInteger(), nullable=False),
        sa.Column("collected_g", sa.BigInteger(), nullable=False),
        sa.Column("stolen_g", sa.BigInteger(), nullable=False),
        sa.Column("expired_g", sa.BigInteger(), nullable=False),
        sa.Column("ripens_at", UTCDateTime(), nullable=False),
        sa.Column("visible_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("collected_at", UTCDateTime(), nullable=True),
        sa.Column("giver_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "collected_g >= 0 AND stolen_g >= 0 AND expired_g >= 0 AND collected_g + stolen_g + expired_g <= energy_g",
            name=op.f("ck_balls_grams_whole"),
        ),
        sa.PrimaryKeyConstraint("ball_id", name=op.f("pk_balls")),
    )
    op.create_index("ix_balls_expires", "balls", ["expires_at"])
    op.create_index("ix_balls_user_expires", "balls", ["user_id", "expires_at"])
    op.create_table(
        "cap_usage",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("per", sa.String(length=8), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("key_value", sa.String(length=128), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("energy_g", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "rule_id", "per", "period_start", "key_value", name=op.f("pk_cap_usage")),
    )
    op.create_table(
        "events",
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("ingested_at", UTCDateTime(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("energy_g", sa.BigInteger(), nullable=False),
        sa.Column("rule_ref", sa.String(length=96), nullable=False),
        sa.Column("explanation", sa.String(length=300), nullable=False),
        sa.Column("transaction_id", sa.String(length=32), nullable=True),
        sa.Column("ball_id", sa.String(length=40), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("source_id", "event_id", name=op.f("pk_events")),
        sa.UniqueConstraint("shard", "seq", name=op.f("uq_events_shard_seq")),
    )
    op.create_index("ix_events_user_occurred", "events", ["user_id", "occurred_at"])
    op.create_table(
        "running_totals",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "rule_id", "local_date", name=op.f("pk_running_totals")),
    )
    op.create_table(
        "user_blocks",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("blocked_at", UTCDateTime(), nullable=False),
        sa.Column("blocked_by", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_blocks")),
    )
    heads = sa.table("chain_heads", sa.column("chain"), sa.column("shard"), sa.column("seq"), sa.column("head_hash"))
    op.bulk_insert(
        heads, [{"chain": "events", "shard": s, "seq": 0, "head_hash": GENESIS_HASH} for s in range(SHARD_COUNT)]
    )


def downgrade() -> None:
    op.execute("DELETE FROM chain_heads WHERE chain = 'events'")
    op.drop_table("user_blocks")
    op.drop_table("running_totals")
    op.drop_index("ix_events_user_occurred", table_name="events")
    op.drop_table("events")
    op.drop_table("cap_usage")
    op.drop_index("ix_balls_user_expires", table_name="balls")
    op.drop_index("ix_balls_expires", table_name="balls")
    op.drop_table("balls")
