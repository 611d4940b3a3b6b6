"""Forest: friend asks and friendships, thefts, waterings, items and effects, achievement awards, leaderboard scores and board sizes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from greenenergy.db.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "friendships",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("friend_id", sa.String(length=64), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "friend_id", name=op.f("pk_friendships")),
    )
    op.create_table(
        "forest_board_members",
        sa.Column("shard", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("members", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("members >= 0", name=op.f("ck_forest_board_members_members_non_negative")),
        sa.PrimaryKeyConstraint("shard", name=op.f("pk_forest_board_members")),
    )
    op.create_table(
        "achievement_awards",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("achievement_id", sa.String(length=64), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("threshold", sa.BigInteger(), nullable=False),
        sa.Column("awarded_at", UTCDateTime(), nullable=False),
        sa.Column("item_id", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("user_id", "achievement_id", name=op.f("pk_achievement_awards")),
    )
    op.create_table(
        "forest_items",
        sa.Column("item_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("granted_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.Column("granted_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_forest_items")),
    )
    op.create_index("ix_forest_items_user", "forest_items", ["user_id", "granted_at"])
    op.create_table(
        "forest_scores",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("score_g", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("score_g >= 0", name=op.f("ck_forest_scores_score_non_negative")),
        sa.PrimaryKeyConstraint("user_id", "period", name=op.f("pk_forest_scores")),
    )
    op.create_index("ix_forest_scores_period_score", "forest_scores", ["period", "score_g"])
    op.create_table(
        "friend_edges",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("friend_id", sa.String(length=64), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "friend_id", name=op.f("pk_friend_edges")),
    )
    op.create_index("ix_friend_edges_friend", "friend_edges", ["friend_id", "user_id"])
    op.create_table(
        "forest_effects",
        sa.Column("item_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["forest_items.item_id"], name=op.f("fk_forest_effects_item_id_forest_items")
        ),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_forest_effects")),
    )
    op.create_index("ix_forest_effects_user_ends", "forest_effects", ["user_id", "ends_at"])
    op.create_table(
        "thefts",
        sa.Column("theft_id", sa.String(length=32), nullable=False),
        sa.Column("ball_id", sa.String(length=40), nullable=False),
        sa.Column("victim_id", sa.String(length=64), nullable=False),
        sa.Column("thief_id", sa.String(length=64), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("stolen_g", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("stolen_at", UTCDateTime(), nullable=False),
        sa.Column("transaction_id", sa.String(length=32), nullable=True),
        sa.CheckConstraint("stolen_g >= 0", name=op.f("ck_thefts_stolen_non_negative")),
        sa.ForeignKeyConstraint(["ball_id"], ["balls.ball_id"], name=op.f("fk_thefts_ball_id_balls")),
        sa.PrimaryKeyConstraint("theft_id", name=op.f("pk_thefts")),
    )
    op.create_index("ix_thefts_ball", "thefts", ["ball_id"])
    op.create_index("ix_thefts_thief_stolen", "thefts", ["thief_id", "stolen_at"])
    op.create_index("ix_thefts_victim_stolen", "thefts", ["victim_id", "stolen_at"])
    op.create_table(
        "waterings",
        sa.Column("ball_id", sa.String(length=40), nullable=False),
        sa.Column("giver_id", sa.String(length=64), nullable=False),
        sa.Column("friend_id", sa.String(length=64), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("energy_g", sa.BigInteger(), nullable=False),
        sa.Column("watered_at", UTCDateTime(), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("slot", sa.SmallInteger(), nullable=False),
        sa.Column("transaction_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["ball_id"], ["balls.ball_id"], name=op.f("fk_waterings_ball_id_balls")),
        sa.PrimaryKeyConstraint("ball_id", name=op.f("pk_waterings")),
        sa.UniqueConstraint(
            "giver_id", "friend_id", "local_day", "slot", name=op.f("uq_waterings_giver_id_friend_id_local_day_slot")
        ),
    )
    op.create_index("ix_waterings_friend", "waterings", ["friend_id", "watered_at"])


def downgrade() -> None:
    op.drop_index("ix_waterings_friend", table_name="waterings")
    op.drop_table("waterings")
    op.drop_index("ix_thefts_victim_stolen", table_name="thefts")
    op.drop_index("ix_thefts_thief_stolen", table_name="thefts")
    op.drop_index("ix_thefts_ball", table_name="thefts")
    op.drop_table("thefts")
    op.drop_index("ix_forest_effects_user_ends", table_name="forest_effects")
    op.drop_table("forest_effects")
    op.drop_index("ix_friend_edges_friend", table_name="friend_edges")
    op.drop_table("friend_edges")
    op.drop_index("ix_forest_scores_period_score", table_name="forest_scores")
    op.drop_table("forest_scores")
    op.drop_index("ix_forest_items_user", table_name="forest_items")
    op.drop_table("forest_items")
    op.drop_table("achievement_awards")
    op.drop_table("forest_board_members")
    op.drop_table("friendships")
