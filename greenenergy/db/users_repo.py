"""Storing the per-user state row (``user_states``): ingestion's part and the counters.

Ingestion locks the rows of a batch's users (PostgreSQL: created if missing, then ``FOR
UPDATE`` in user order; SQLite: the caller's write lock) before it reads anything else it
decides on, so two batches for one user are scored one after the other and the second sees
what the first stored. The counters are changed by increments inside the commit of what they
count, so they never need a read first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date

from sqlalchemy import Connection

from greenenergy.db.bulk import select_by_keys, upsert_tuples
from greenenergy.db.tables_users import UserStateRow
from greenenergy.forest.counters import COUNTER_COLUMNS, Counters
from greenenergy.ingestion.userstate import UserIngestState
from greenenergy.units import shard_of

USERS = UserStateRow.__table__
_INGEST_COLUMNS = ("user_id", "shard", "lifetime_g", "scoring", "tallies")


def lock_ingest_states(
    connection: Connection, user_ids: Sequence[str]
) -> dict[str, tuple[int, str | None, str | None] | None]:
    """The stored ingestion state ``(lifetime_g, scoring, tallies)`` of every user in
    ``user_ids`` (None for a user without a row), locked."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return {}
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        # Create the missing rows first (no write for existing ones), so that every row exists
        # to be locked: two batches that both saw a user as new would otherwise both insert.
        connection.exec_driver_sql(
            "INSERT INTO user_states (user_id, shard) SELECT k->>0, (k->>1)::smallint "
            "FROM json_array_elements(%s::json) AS x(k) ON CONFLICT (user_id) DO NOTHING",
            (json.dumps([(u, shard_of(u)) for u in wanted]),),
        )
    if postgres:
        # One primary-key probe per user, locking in the order of the sorted ids.
        rows = connection.exec_driver_sql(
            "SELECT s.* FROM json_array_elements_text(%s::json) WITH ORDINALITY AS w(id, i) CROSS JOIN LATERAL "
            "(SELECT user_id, lifetime_g, scoring, tallies FROM user_states WHERE user_id = w.id FOR UPDATE) AS s "
            "ORDER BY w.i",
            (json.dumps(wanted),),
        )
    else:
        rows = (
            (user_id, *values)
            for (user_id,), *values in select_by_keys(
                connection, USERS, ("user_id",), ("lifetime_g", "scoring", "tallies"), [(u,) for u in wanted]
            )
        )
    found = {user_id: (int(lifetime_g), scoring, tallies) for user_id, lifetime_g, scoring, tallies in rows}
    return {u: found.get(u) for u in wanted}


def save_ingest_states(connection: Connection, states: Sequence[UserIngestState]) -> None:
    """Write ingestion's columns of ``states`` (creating rows of new users)."""
    rows = []
    for state in states:
        scoring, tallies = state.to_texts()
        rows.append((state.user_id, shard_of(state.user_id), state.lifetime_g, scoring, tallies))
    upsert_tuples(connection, USERS, _INGEST_COLUMNS, ("user_id",), rows)


_COUNTER_READ = (
    "user_id, lifetime_g, tallies, balls_collected, steals, waterings_given, trees, last_collect_day, "
    "collect_run_days, collect_best_days"
)


def _counters(row: Sequence) -> Counters:
    user_id, lifetime_g, tallies, collected, steals, waterings, trees, last_day, run, best = row
    counted = json.loads(tallies) if tallies else {}
    if isinstance(last_day, str):
        last_day = date.fromisoformat(last_day)
    return Counters(
        user_id=user_id,
        lifetime_g=int(lifetime_g),
        balls_collected=int(collected),
        steals=int(steals),
        waterings_given=int(waterings),
        trees=int(trees),
        last_collect_day=last_day,
        collect_run_days=int(run),
        collect_best_days=int(best),
        event_counts=counted.get("n", {}),
        data_totals=counted.get("t", {}),
    )


def counters(connection: Connection, user_ids: Sequence[str], *, lock: bool = False) -> dict[str, Counters]:
    """The counters of ``user_ids`` (a user without a row: zeros); ``lock`` locks the rows
    (PostgreSQL: created if missing, then ``FOR UPDATE`` in user order)."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return {}
    if connection.dialect.name == "postgresql":
        if lock:
            connection.exec_driver_sql(
                "INSERT INTO user_states (user_id, shard) SELECT k->>0, (k->>1)::smallint "
                "FROM json_array_elements(%s::json) AS x(k) ON CONFLICT (user_id) DO NOTHING",
                (json.dumps([(u, shard_of(u)) for u in wanted]),),
            )
        rows = connection.exec_driver_sql(
            f"SELECT s.* FROM json_array_elements_text(%s::json) WITH ORDINALITY AS w(id, i) CROSS JOIN LATERAL "
            f"(SELECT {_COUNTER_READ} FROM user_states WHERE user_id = w.id{' FOR UPDATE' if lock else ''}) AS s "
            "ORDER BY w.i",
            (json.dumps(wanted),),
        )
    else:
        marks = ", ".join("?" * len(wanted))
        rows = connection.exec_driver_sql(
            f"SELECT {_COUNTER_READ} FROM user_states WHERE user_id IN ({marks})", tuple(wanted)
        )
    found = {row[0]: _counters(row) for row in rows}
    return {u: found.get(u) or Counters(u) for u in wanted}


def add_counts(connection: Connection, increments: Mapping[str, Mapping[str, int]]) -> None:
    """Add ``{user: {column: delta}}`` to the counters (creating rows of new users)."""
    rows = [
        (user_id, shard_of(user_id), *(int(deltas.get(c, 0)) for c in COUNTER_COLUMNS))
        for user_id, deltas in sorted(increments.items())
        if any(deltas.get(c, 0) for c in COUNTER_COLUMNS)
    ]
    if not rows:
        return
    mark = "?" if connection.dialect.name == "sqlite" else "%s"
    columns = ", ".join(COUNTER_COLUMNS)
    updates = ", ".join(f"{c} = user_states.{c} + excluded.{c}" for c in COUNTER_COLUMNS)
    connection.exec_driver_sql(
        f"INSERT INTO user_states (user_id, shard, {columns}) VALUES ({', '.join([mark] * (2 + len(COUNTER_COLUMNS)))}) "
        f"ON CONFLICT (user_id) DO UPDATE SET {updates}",
        rows,
    )


def save_streak(connection: Connection, state: Counters) -> None:
    """Write the collecting streak of a user whose row the caller locked (or SQLite)."""
    mark = "?" if connection.dialect.name == "sqlite" else "%s"
    last = state.last_collect_day
    connection.exec_driver_sql(
        f"INSERT INTO user_states (user_id, shard, last_collect_day, collect_run_days, collect_best_days) "
        f"VALUES ({mark}, {mark}, {mark}, {mark}, {mark}) ON CONFLICT (user_id) DO UPDATE SET "
        "last_collect_day = excluded.last_collect_day, collect_run_days = excluded.collect_run_days, "
        "collect_best_days = excluded.collect_best_days",
        (state.user_id, shard_of(state.user_id), last.isoformat() if last and mark == "?" else last,
         state.collect_run_days, state.collect_best_days),
    )  # fmt: skip
