"""Energy waits in the ball; one state row per user; lanes for the events chain

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08

* ``user_states``: one row per user with ingestion's scoring state (cap usage, running
  totals, hourly bursts), tallies (events per type, integer data totals), lifetime grams and
  the achievement counters; backfilled from the history, then ``cap_usage`` and
  ``running_totals`` are dropped.
* ``balls.mint_rule``: the rule whose mint account pays a ball's grams when they leave it.
  Existing balls keep NULL: their grams were minted to the owner's pending account when their
  events were ingested, and leave from there.
* ``events.lane`` / ``events.format`` and ``chain_heads.lane``: the events chain of each
  shard gets ``EVENT_LANES`` lanes; existing events are lane 0, format 1.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

from greenenergy.clock import ensure_utc
from greenenergy.forest.achievements import streak_days
from greenenergy.ledger.chain import GENESIS_HASH
from greenenergy.periods import local_date
from greenenergy.units import EVENT_LANES, SHARD_COUNT, shard_of

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("chain_heads", recreate="always" if bind.dialect.name == "sqlite" else "auto") as batch:
        batch.add_column(sa.Column("lane", sa.SmallInteger(), nullable=False, server_default="0"))
        batch.drop_constraint("pk_chain_heads", type_="primary")
        batch.create_primary_key("pk_chain_heads", ["chain", "shard", "lane"])
    heads = sa.table(
        "chain_heads",
        sa.column("chain"),
        sa.column("shard"),
        sa.column("lane"),
        sa.column("seq"),
        sa.column("head_hash"),
    )
    op.bulk_insert(
        heads,
        [
            {"chain": "events", "shard": shard, "lane": lane, "seq": 0, "head_hash": GENESIS_HASH}
            for shard in range(SHARD_COUNT)
            for lane in range(1, EVENT_LANES)
        ],
    )

    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("lane", sa.SmallInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("format", sa.SmallInteger(), nullable=False, server_default="1"))
        batch.drop_constraint("uq_events_shard_seq", type_="unique")
        batch.create_unique_constraint("uq_events_shard_lane_seq", ["shard", "lane", "seq"])
    with op.batch_alter_table("balls") as batch:
        batch.add_column(sa.Column("mint_rule", sa.String(length=64), nullable=True))

    op.create_table(
        "user_states",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("lifetime_g", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("scoring", sa.Text(), nullable=False, server_default="{}"),
        sa.Column("tallies", sa.Text(), nullable=False, server_default="{}"),
        sa.Column("balls_collected", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("steals", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("waterings_given", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("trees", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_collect_day", sa.Date(), nullable=True),
        sa.Column("collect_run_days", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("collect_best_days", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("awards", sa.Text(), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_states")),
    )
    _backfill(bind)
    op.drop_table("cap_usage")
    op.drop_table("running_totals")


def _backfill(bind: sa.Connection) -> None:
    """One state row for every user the history names, computed from that history."""
    tz = ZoneInfo(os.environ.get("GREENENERGY_TZ") or "Asia/Shanghai")
    users: dict[str, dict] = defaultdict(
        lambda: {
            "lifetime_g": 0,
            "u": {},
            "r": {},
            "h": {},
            "n": {},
            "t": {},
            "balls_collected": 0,
            "steals": 0,
            "waterings_given": 0,
            "trees": 0,
            "days": set(),
            "awards": [],
        }
    )
    latest = bind.execute(sa.text("SELECT max(occurred_at) FROM events")).scalar()
    since = None
    if latest is not None:
        since = _instant(latest) - timedelta(days=8)
    for user_id, event_type, occurred_at, data, energy_g in bind.execute(
        sa.text("SELECT user_id, event_type, occurred_at, data, energy_g FROM events")
    ):
        state = users[user_id]
        state["lifetime_g"] += int(energy_g)
        state["n"][event_type] = state["n"].get(event_type, 0) + 1
        for name, value in json.loads(data).items():
            if type(value) is int:
                key = f"{event_type}:{name}"
                state["t"][key] = state["t"].get(key, 0) + value
        moment = _instant(occurred_at)
        if since is not None and moment >= since:
            hour = moment.isoformat()[:13] + "|" + event_type
            state["h"][hour] = state["h"].get(hour, 0) + 1
    for user_id, rule_id, per, start, key, count, energy_g in bind.execute(
        sa.text("SELECT user_id, rule_id, per, period_start, key_value, count, energy_g FROM cap_usage")
    ):
        users[user_id]["u"][f"{str(start)[:10]}|{rule_id}|{per}|{key}"] = [int(count), int(energy_g)]
    for user_id, rule_id, day, total in bind.execute(
        sa.text("SELECT user_id, rule_id, local_date, total FROM running_totals")
    ):
        users[user_id]["r"][f"{str(day)[:10]}|{rule_id}"] = int(total)
    for user_id, collected_at in bind.execute(
        sa.text("SELECT user_id, collected_at FROM balls WHERE collected_g > 0 AND collected_at IS NOT NULL")
    ):
        state = users[user_id]
        state["balls_collected"] += 1
        moment = _instant(collected_at)
        state["days"].add(local_date(moment, tz))
    for column, table, condition in (
        ("steals", "thefts", "stolen_g > 0"),
        ("waterings_given", "waterings", "1 = 1"),
        ("trees", "tree_holders", "1 = 1"),
    ):
        who = {"thefts": "thief_id", "waterings": "giver_id", "tree_holders": "holder_id"}[table]
        for user_id, count in bind.execute(
            sa.text(f"SELECT {who}, count(*) FROM {table} WHERE {condition} GROUP BY {who}")
        ):
            users[user_id][column] = int(count)
    for user_id, achievement_id in bind.execute(
        sa.text("SELECT user_id, achievement_id FROM achievement_awards ORDER BY user_id, achievement_id")
    ):
        users[user_id]["awards"].append(achievement_id)
    rows = []
    for user_id, s in sorted(users.items()):
        days = sorted(s["days"])
        run, best = streak_days(days, today=days[-1]) if days else (0, 0)
        rows.append(
            {
                "user_id": user_id,
                "shard": shard_of(user_id),
                "lifetime_g": s["lifetime_g"],
                "scoring": json.dumps({"h": s["h"], "r": s["r"], "u": s["u"]}, separators=(",", ":"), sort_keys=True),
                "tallies": json.dumps({"n": s["n"], "t": s["t"]}, separators=(",", ":"), sort_keys=True),
                "balls_collected": s["balls_collected"],
                "steals": s["steals"],
                "waterings_given": s["waterings_given"],
                "trees": s["trees"],
                "last_collect_day": days[-1] if days else None,
                "collect_run_days": run,
                "collect_best_days": best,
                "awards": ",".join(s["awards"]),
            }
        )
    table = sa.table(
        "user_states",
        *(
            sa.column(name)
            for name in (
                "user_id",
                "shard",
                "lifetime_g",
                "scoring",
                "tallies",
                "balls_collected",
                "steals",
                "waterings_given",
                "trees",
                "last_collect_day",
                "collect_run_days",
                "collect_best_days",
                "awards",
            )
        ),
    )
    for start in range(0, len(rows), 1000):
        op.bulk_insert(table, rows[start : start + 1000])


def _instant(value: object) -> datetime:
    """A stored instant: a datetime (PostgreSQL) or SQLite's naive UTC text."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return ensure_utc(value)


def downgrade() -> None:
    raise NotImplementedError("0006 moves history into user_states; restore a backup to go back")
