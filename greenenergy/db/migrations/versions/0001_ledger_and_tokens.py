"""Ledger (transactions, postings, balances, chain heads) and access tokens.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from greenenergy.db.types import UTCDateTime
from greenenergy.ledger.chain import GENESIS_HASH
from greenenergy.units import SHARD_COUNT

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("allowed_types", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("secret_sha256", name=op.f("uq_api_tokens_secret_sha256")),
    )
    op.create_table(
        "ledger_balances",
        sa.Column("account", sa.String(length=160), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("balance_g", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("balance_g >= 0", name=op.f("ck_ledger_balances_guarded_non_negative")),
        sa.PrimaryKeyConstraint("account", "shard", name=op.f("pk_ledger_balances")),
    )
    op.create_table(
        "chain_heads",
        sa.Column("chain", sa.String(length=16), nullable=False),
        sa.Column("shard", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("chain", "shard", name=op.f("pk_chain_heads")),
    )
    op.create_table(
        "ledger_transactions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("reverses", sa.String(length=32), nullable=True),
        sa.Column("refs", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["reverses"], ["ledger_transactions.id"], name=op.f("fk_ledger_transactions_reverses_ledger_transactions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_transactions")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_ledger_transactions_idempotency_key")),
        sa.UniqueConstraint("reverses", name=op.f("uq_ledger_transactions_reverses")),
        sa.UniqueConstraint("shard", "seq", name=op.f("uq_ledger_transactions_shard_seq")),
    )
    op.create_table(
        "ledger_postings",
        sa.Column("transaction_id", sa.String(length=32), nullable=False),
        sa.Column("idx", sa.SmallInteger(), nullable=False),
        sa.Column("account", sa.String(length=160), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("energy_g", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_ledger_postings_transaction_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("transaction_id", "idx", name=op.f("pk_ledger_postings")),
    )
    op.create_index("ix_ledger_postings_account_created", "ledger_postings", ["account", "created_at"])
    # One head per shard, created up front: appending to a chain locks only its own head row.
    heads = sa.table("chain_heads", sa.column("chain"), sa.column("shard"), sa.column("seq"), sa.column("head_hash"))
    op.bulk_insert(
        heads, [{"chain": "ledger", "shard": s, "seq": 0, "head_hash": GENESIS_HASH} for s in range(SHARD_COUNT)]
    )


def downgrade() -> None:
    op.drop_index("ix_ledger_postings_account_created", table_name="ledger_postings")
    op.drop_table("ledger_postings")
    op.drop_table("ledger_transactions")
    op.drop_table("chain_heads")
    op.drop_table("ledger_balances")
    op.drop_table("api_tokens")
