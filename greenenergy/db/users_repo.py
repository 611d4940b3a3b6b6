"""Storing the per-user state row (``user_states``): ingestion's part, the counters, the awards held.

Ingestion locks the rows of a batch's users (PostgreSQL: created if missing, then ``FOR
UPDATE`` in user order; SQLite: the caller's write lock) before it reads anything else it
decides on, so two batches for one user are scored one after the other and the second sees
what the first stored. The counters are changed by increments inside the commit of what they
count, so they never need a read first; the collecting streak and the awards held are written
by the one use case that changes them, on the row it read (``save_counters``).
Statements go to the driver (``db.driver``): these are the hot paths.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date

from sqlalchemy import Connection

from greenenergy.db.bulk import upsert_tuples
from greenenergy.db.driver import Sql
from greenenergy.db.tables_users import UserStateRow
from greenenergy.forest.counters import COUNTER_COLUMNS, Counters
from greenenergy.ingestion.userstate import UserIngestState
from greenenergy.units import shard_of

USERS = UserStateRow.__table__
_INGEST_COLUMNS = ("user_id", "shard", "lifetime_g", "scoring", "tallies")
StoredIngest = tuple[int, str | None, str | None]  # (lifetime_g, scoring, tallies)


def _create_missing(sql: Sql, user_ids: Sequence[str]) -> None:
    """Create the rows of users who have none (PostgreSQL), so that every row exists to be
    locked: two writers that both saw a user as new would otherwise both insert it."""
    sql.run(
        "INSERT INTO user_states (user_id, shard) SELECT k->>0, (k->>1)::smallint "
        "FROM json_array_elements(?::json) AS x(k) ON CONFLICT (user_id) DO NOTHING",
        (json.dumps([(u, shard_of(u)) for u in user_ids]),),
    )


def _read(sql: Sql, columns: str, user_ids: Sequence[str], *, lock: bool) -> list[tuple]:
    """``columns`` of the rows of ``user_ids`` (sorted), locked in that order if ``lock``."""
    if sql.postgres:
        # One primary-key probe per user, locking in the order of the sorted ids.
        return sql.all(
            "SELECT s.* FROM json_array_elements_text(?::json) WITH ORDINALITY AS w(id, i) CROSS JOIN LATERAL "
            f"(SELECT {columns} FROM user_states WHERE user_id = w.id{' FOR UPDATE' if lock else ''}) AS s "
            "ORDER BY w.i",
            (json.dumps(list(user_ids)),),
        )
    rows: list[tuple] = []
    for start in range(0, len(user_ids), 900):
        chunk = user_ids[start : start + 900]
        rows.extend(
            sql.all(f"SELECT {columns} FROM user_states WHERE user_id IN ({', '.join('?' * len(chunk))})", chunk)
        )
    return rows


def lock_ingest_states(connection: Connection, user_ids: Sequence[str]) -> dict[str, StoredIngest | None]:
    """The stored ingestion state ``(lifetime_g, scoring, tallies)`` of every user in
    ``user_ids`` (None for a user without a row), locked."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return {}
    sql = Sql(connection)
    if sql.postgres:
        _create_missing(sql, wanted)
    rows = _read(sql, "user_id, lifetime_g, scoring, tallies", wanted, lock=True)
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
    "collect_run_days, collect_best_days, awards"
)


def _counters(row: Sequence) -> Counters:
    user_id, lifetime_g, tallies, collected, steals, waterings, trees, last_day, run, best, awards = row
    counted = json.loads(tallies) if tallies and tallies != "{}" else {}
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
        awards=frozenset(awards.split(",")) if awards else frozenset(),
    )


def counters(connection: Connection, user_ids: Sequence[str], *, lock: bool = False) -> dict[str, Counters]:
    """The counters and awards held of ``user_ids`` (a user without a row: zeros); ``lock``
    locks the rows (PostgreSQL: created if missing, then ``FOR UPDATE`` in user order)."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return {}
    sql = Sql(connection)
    if lock and sql.postgres:
        _create_missing(sql, wanted)
    found = {row[0]: _counters(row) for row in _read(sql, _COUNTER_READ, wanted, lock=lock)}
    return {u: found.get(u) or Counters(u) for u in wanted}


def add_counts(connection: Connection, increments: Mapping[str, Mapping[str, int]]) -> None:
    """Add ``{user: {column: delta}}`` to the counters (creating rows of new users)."""
    save_counters(connection, increments, [], {})


def save_counters(
    connection: Connection,
    increments: Mapping[str, Mapping[str, int]],
    streaks: Sequence[Counters],
    awarded: Mapping[str, Sequence[str]],
) -> None:
    """In one statement per user: add ``increments`` (``{user: {column: delta}}``) to the
    counters, write the collecting streak of ``streaks`` (rows the caller locked), and add the
    achievement ids ``awarded`` (``{user: ids}``) to the awards held; new users' rows created."""
    by_user: dict[str, list] = {}
    for user_id, deltas in increments.items():
        by_user[user_id] = [
            user_id,
            shard_of(user_id),
            *(int(deltas.get(c, 0)) for c in COUNTER_COLUMNS),
            None,
            0,
            0,
            "",
        ]
    for state in streaks:
        row = by_user.setdefault(state.user_id, [state.user_id, shard_of(state.user_id), *([0] * len(COUNTER_COLUMNS)),
                                                 None, 0, 0, ""])  # fmt: skip
        last = state.last_collect_day
        row[-4:-1] = [last.isoformat() if last and not Sql(connection).postgres else last, state.collect_run_days,
                      state.collect_best_days]  # fmt: skip
    for user_id, ids in awarded.items():
        row = by_user.setdefault(user_id, [user_id, shard_of(user_id), *([0] * len(COUNTER_COLUMNS)), None, 0, 0, ""])
        row[-1] = ",".join(sorted(ids))
    if not by_user:
        return
    columns = ", ".join(COUNTER_COLUMNS)
    increments_sql = ", ".join(f"{c} = user_states.{c} + excluded.{c}" for c in COUNTER_COLUMNS)
    Sql(connection).many(
        f"INSERT INTO user_states (user_id, shard, {columns}, last_collect_day, collect_run_days, collect_best_days, "
        f"awards) VALUES ({', '.join('?' * (2 + len(COUNTER_COLUMNS) + 4))}) ON CONFLICT (user_id) DO UPDATE SET "
        f"{increments_sql}, "
        "last_collect_day = COALESCE(excluded.last_collect_day, user_states.last_collect_day), "
        "collect_run_days = CASE WHEN excluded.last_collect_day IS NULL THEN user_states.collect_run_days "
        "ELSE excluded.collect_run_days END, "
        "collect_best_days = CASE WHEN excluded.last_collect_day IS NULL THEN user_states.collect_best_days "
        "ELSE excluded.collect_best_days END, "
        "awards = CASE WHEN excluded.awards = '' THEN user_states.awards WHEN user_states.awards = '' "
        "THEN excluded.awards ELSE user_states.awards || ',' || excluded.awards END",
        [tuple(row) for _user, row in sorted(by_user.items())],
    )
