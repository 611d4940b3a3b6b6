"""Planting: plot occupancy, trees, orders, confirmations (a hash chain), certificates, co-planting

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23

Seeds the 256 heads of the ``confirmations`` chain. Creates no foreign key to the forest
tables of 0003 (only to ledger_transactions of 0001).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from greenenergy.db.types import UTCDateTime
from greenenergy.ledger.chain import GENESIS_HASH
from greenenergy.units import SHARD_COUNT

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coplant_pools",
        sa.Column("pool_id", sa.String(length=32), nullable=False),
        sa.Column("species_id", sa.String(length=48), nullable=False),
        sa.Column("plot_id", sa.String(length=48), nullable=True),
        sa.Column("price_g", sa.BigInteger(), nullable=False),
        sa.Column("daily_cap_g", sa.BigInteger(), nullable=False),
        sa.Column("max_members", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("founder_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("redeemed_at", UTCDateTime(), nullable=True),
        sa.Column("tree_id", sa.String(length=32), nullable=True),
        sa.Column("joined", sa.Integer(), nullable=False),
        sa.CheckConstraint("status IN ('open', 'redeemed')", name=op.f("ck_coplant_pools_known_status")),
        sa.PrimaryKeyConstraint("pool_id", name=op.f("pk_coplant_pools")),
    )
    op.create_table(
        "national_certificates",
        sa.Column("national_no", sa.String(length=32), nullable=False),
        sa.Column("holder_id", sa.String(length=64), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("national_no", name=op.f("pk_national_certificates")),
    )
    op.create_index("ix_national_certificates_holder", "national_certificates", ["holder_id"])
    op.create_table(
        "plot_occupancy",
        sa.Column("plot_id", sa.String(length=48), nullable=False),
        sa.Column("species_id", sa.String(length=48), nullable=False),
        sa.Column("capacity", sa.BigInteger(), nullable=False),
        sa.Column("occupied", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("occupied >= 0 AND occupied <= capacity", name=op.f("ck_plot_occupancy_within_capacity")),
        sa.PrimaryKeyConstraint("plot_id", "species_id", name=op.f("pk_plot_occupancy")),
    )
    op.create_table(
        "coplant_contributions",
        sa.Column("pool_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("energy_g", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pool_id"], ["coplant_pools.pool_id"], name=op.f("fk_coplant_contributions_pool_id_coplant_pools")
        ),
        sa.PrimaryKeyConstraint("pool_id", "user_id", "local_day", name=op.f("pk_coplant_contributions")),
    )
    op.create_table(
        "coplant_members",
        sa.Column("pool_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("joined_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pool_id"], ["coplant_pools.pool_id"], name=op.f("fk_coplant_members_pool_id_coplant_pools")
        ),
        sa.PrimaryKeyConstraint("pool_id", "user_id", name=op.f("pk_coplant_members")),
    )
    op.create_index("ix_coplant_members_user", "coplant_members", ["user_id"])
    op.create_table(
        "trees",
        sa.Column("tree_id", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("species_id", sa.String(length=48), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("energy_g", sa.BigInteger(), nullable=False),
        sa.Column("plot_id", sa.String(length=48), nullable=False),
        sa.Column("partner_id", sa.String(length=48), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("redeemed_at", UTCDateTime(), nullable=False),
        sa.Column("redeem_tx_id", sa.String(length=32), nullable=False),
        sa.Column("redeem_tx_hash", sa.String(length=64), nullable=False),
        sa.Column("pool_id", sa.String(length=32), nullable=True),
        sa.Column("plantings", sa.Integer(), nullable=False),
        sa.Column("last_planted_at", UTCDateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('awaiting_planting', 'planted', 'alive', 'dead', 'replanted')",
            name=op.f("ck_trees_known_status"),
        ),
        sa.CheckConstraint("quantity >= 1 AND energy_g >= 1", name=op.f("ck_trees_positive")),
        sa.ForeignKeyConstraint(
            ["redeem_tx_id"], ["ledger_transactions.id"], name=op.f("fk_trees_redeem_tx_id_ledger_transactions")
        ),
        sa.PrimaryKeyConstraint("tree_id", name=op.f("pk_trees")),
        sa.UniqueConstraint("redeem_tx_id", name=op.f("uq_trees_redeem_tx_id")),
    )
    op.create_index("ix_trees_owner", "trees", ["owner_id"])
    op.create_index("ix_trees_plot_species_status", "trees", ["plot_id", "species_id", "status"])
    op.create_table(
        "planting_confirmations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("tree_id", sa.String(length=32), nullable=False),
        sa.Column("partner_id", sa.String(length=48), nullable=False),
        sa.Column("plot_id", sa.String(length=48), nullable=False),
        sa.Column("species_id", sa.String(length=48), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("photo_sha256", sa.String(length=64), nullable=False),
        sa.Column("latitude", sa.String(length=16), nullable=True),
        sa.Column("longitude", sa.String(length=16), nullable=True),
        sa.Column("tag", sa.String(length=64), nullable=True),
        sa.Column("location_key", sa.String(length=48), nullable=True),
        sa.Column("alive", sa.Boolean(), nullable=True),
        sa.Column("planting_no", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.String(length=32), nullable=True),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("kind IN ('planting', 'survival')", name=op.f("ck_planting_confirmations_known_kind")),
        sa.ForeignKeyConstraint(["tree_id"], ["trees.tree_id"], name=op.f("fk_planting_confirmations_tree_id_trees")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planting_confirmations")),
        sa.UniqueConstraint("location_key", name=op.f("uq_planting_confirmations_location_key")),
        sa.UniqueConstraint("order_id", name=op.f("uq_planting_confirmations_order_id")),
        sa.UniqueConstraint("photo_sha256", name=op.f("uq_planting_confirmations_photo_sha256")),
        sa.UniqueConstraint("shard", "seq", name=op.f("uq_planting_confirmations_shard_seq")),
        sa.UniqueConstraint("tag", name=op.f("uq_planting_confirmations_tag")),
    )
    op.create_index("ix_planting_confirmations_tree", "planting_confirmations", ["tree_id"])
    op.create_table(
        "planting_orders",
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("tree_id", sa.String(length=32), nullable=False),
        sa.Column("planting_no", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.String(length=48), nullable=False),
        sa.Column("plot_id", sa.String(length=48), nullable=False),
        sa.Column("species_id", sa.String(length=48), nullable=False),
        sa.Column("ordered_at", UTCDateTime(), nullable=False),
        sa.Column("deadline", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("overdue_at", UTCDateTime(), nullable=True),
        sa.Column("planted_at", UTCDateTime(), nullable=True),
        sa.Column("confirmation_id", sa.String(length=32), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'overdue', 'planted')", name=op.f("ck_planting_orders_known_status")),
        sa.ForeignKeyConstraint(["tree_id"], ["trees.tree_id"], name=op.f("fk_planting_orders_tree_id_trees")),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_planting_orders")),
        sa.UniqueConstraint("tree_id", "planting_no", name=op.f("uq_planting_orders_tree_id_planting_no")),
    )
    op.create_index(
        "ix_planting_orders_partner_status_ordered", "planting_orders", ["partner_id", "status", "ordered_at"]
    )
    op.create_index("ix_planting_orders_status_deadline", "planting_orders", ["status", "deadline"])
    op.create_table(
        "tree_events",
        sa.Column("tree_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=True),
        sa.Column("confirmation_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["tree_id"], ["trees.tree_id"], name=op.f("fk_tree_events_tree_id_trees")),
        sa.PrimaryKeyConstraint("tree_id", "seq", name=op.f("pk_tree_events")),
    )
    op.create_table(
        "tree_holders",
        sa.Column("tree_id", sa.String(length=32), nullable=False),
        sa.Column("holder_id", sa.String(length=64), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("share_g", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["tree_id"], ["trees.tree_id"], name=op.f("fk_tree_holders_tree_id_trees")),
        sa.PrimaryKeyConstraint("tree_id", "holder_id", name=op.f("pk_tree_holders")),
    )
    op.create_index("ix_tree_holders_holder", "tree_holders", ["holder_id"])
    op.create_table(
        "planting_certificates",
        sa.Column("certificate_no", sa.String(length=32), nullable=False),
        sa.Column("holder_id", sa.String(length=64), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("tree_id", sa.String(length=32), nullable=False),
        sa.Column("confirmation_id", sa.String(length=32), nullable=False),
        sa.Column("species_id", sa.String(length=48), nullable=False),
        sa.Column("plot_id", sa.String(length=48), nullable=False),
        sa.Column("partner_id", sa.String(length=48), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("energy_g", sa.BigInteger(), nullable=False),
        sa.Column("share_g", sa.BigInteger(), nullable=False),
        sa.Column("redeemed_at", UTCDateTime(), nullable=False),
        sa.Column("planted_at", UTCDateTime(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("planting_no", sa.Integer(), nullable=False),
        sa.Column("ledger_tx_id", sa.String(length=32), nullable=False),
        sa.Column("ledger_tx_hash", sa.String(length=64), nullable=False),
        sa.Column("confirmation_hash", sa.String(length=64), nullable=False),
        sa.Column("certificate_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["confirmation_id"],
            ["planting_confirmations.id"],
            name=op.f("fk_planting_certificates_confirmation_id_planting_confirmations"),
        ),
        sa.ForeignKeyConstraint(["tree_id"], ["trees.tree_id"], name=op.f("fk_planting_certificates_tree_id_trees")),
        sa.PrimaryKeyConstraint("certificate_no", name=op.f("pk_planting_certificates")),
    )
    op.create_index("ix_planting_certificates_holder_issued", "planting_certificates", ["holder_id", "issued_on"])
    op.create_table(
        "national_certificate_parts",
        sa.Column("certificate_no", sa.String(length=32), nullable=False),
        sa.Column("national_no", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["certificate_no"],
            ["planting_certificates.certificate_no"],
            name=op.f("fk_national_certificate_parts_certificate_no_planting_certificates"),
        ),
        sa.ForeignKeyConstraint(
            ["national_no"],
            ["national_certificates.national_no"],
            name=op.f("fk_national_certificate_parts_national_no_national_certificates"),
        ),
        sa.PrimaryKeyConstraint("certificate_no", name=op.f("pk_national_certificate_parts")),
    )
    heads = sa.table("chain_heads", sa.column("chain"), sa.column("shard"), sa.column("seq"), sa.column("head_hash"))
    op.bulk_insert(
        heads, [{"chain": "confirmations", "shard": s, "seq": 0, "head_hash": GENESIS_HASH} for s in range(SHARD_COUNT)]
    )


def downgrade() -> None:
    op.execute("DELETE FROM chain_heads WHERE chain = 'confirmations'")
    op.drop_table("national_certificate_parts")
    op.drop_index("ix_planting_certificates_holder_issued", table_name="planting_certificates")
    op.drop_table("planting_certificates")
    op.drop_index("ix_tree_holders_holder", table_name="tree_holders")
    op.drop_table("tree_holders")
    op.drop_table("tree_events")
    op.drop_index("ix_planting_orders_status_deadline", table_name="planting_orders")
    op.drop_index("ix_planting_orders_partner_status_ordered", table_name="planting_orders")
    op.drop_table("planting_orders")
    op.drop_index("ix_planting_confirmations_tree", table_name="planting_confirmations")
    op.drop_table("planting_confirmations")
    op.drop_index("ix_trees_plot_species_status", table_name="trees")
    op.drop_index("ix_trees_owner", table_name="trees")
    op.drop_table("trees")
    op.drop_index("ix_coplant_members_user", table_name="coplant_members")
    op.drop_table("coplant_members")
    op.drop_table("coplant_contributions")
    op.drop_table("plot_occupancy")
    op.drop_index("ix_national_certificates_holder", table_name="national_certificates")
    op.drop_table("national_certificates")
    op.drop_table("coplant_pools")
