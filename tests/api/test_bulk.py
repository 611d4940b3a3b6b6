"""The bulk primitives of the hot write paths, on SQLite and PostgreSQL.

insert_tuples (executemany / COPY), upsert_tuples and update_tuples (executemany / one
statement over unnest()), select_by_keys (VALUES join / LATERAL probes): same rows read
back through the tables, errors translated to SQLAlchemy's, more keys than one chunk.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from greenenergy.db.bulk import (
    SQLITE_PARAMETERS,
    db_instant,
    insert_tuples,
    select_by_keys,
    update_tuples,
    upsert_tuples,
)
from greenenergy.db.engine import read_tx, write_tx
from greenenergy.db.forest_repo import SCORES
from greenenergy.db.tables_forest import BallRow
from greenenergy.services.runtime import Runtime

BALLS = BallRow.__table__
COLUMNS = (
    "ball_id",
    "user_id",
    "shard",
    "event_type",
    "source",
    "energy_g",
    "collected_g",
    "stolen_g",
    "expired_g",
    "ripens_at",
    "visible_at",
    "expires_at",
    "collected_at",
    "giver_id",
    "created_at",
)
T0 = datetime(2026, 11, 20, 23, 0, 0, 250_000, tzinfo=UTC)


def ball_rows(connection, count: int) -> list[tuple]:
    at = db_instant(connection, T0)
    later = db_instant(connection, T0 + timedelta(hours=72))
    return [
        (f"b-{n:05d}", f"u-{n % 7}", n % 256, "recycling.box", "event", 10 + n, 0, 0, 0, at, at, later, None, None, at)
        for n in range(count)
    ]


def test_inserted_rows_read_back_through_the_table_types(runtime: Runtime) -> None:
    with write_tx(runtime.engine) as connection:
        insert_tuples(connection, BALLS, COLUMNS, ball_rows(connection, 2_500))
    with read_tx(runtime.engine) as connection:
        rows = connection.execute(select(BALLS).order_by(BALLS.c.ball_id)).all()
    assert len(rows) == 2_500
    first = rows[0]
    assert (first.ball_id, first.energy_g, first.ripens_at, first.collected_at) == ("b-00000", 10, T0, None)
    assert first.expires_at == T0 + timedelta(hours=72) and first.expires_at.tzinfo is not None


def test_a_duplicate_key_is_sqlalchemys_integrity_error_and_nothing_is_kept(runtime: Runtime) -> None:
    with write_tx(runtime.engine) as connection:
        insert_tuples(connection, BALLS, COLUMNS, ball_rows(connection, 3))
    with pytest.raises(IntegrityError), write_tx(runtime.engine) as connection:
        rows = ball_rows(connection, 5)
        insert_tuples(connection, BALLS, COLUMNS, rows[3:] + rows[:1])  # two new, then a taken id
    with read_tx(runtime.engine) as connection:
        assert len(connection.execute(select(BALLS.c.ball_id)).all()) == 3


def test_upsert_then_update_then_select_by_keys_across_chunks(runtime: Runtime) -> None:
    count = SQLITE_PARAMETERS + 100  # more keys than one SQLite statement takes
    period = f"week:{date(2026, 11, 16).isoformat()}"
    with write_tx(runtime.engine) as connection:
        key = ("user_id", "period")
        columns = (*key, "shard", "score_g")
        upsert_tuples(connection, SCORES, columns, key, [(f"u-{n}", period, n % 256, 5) for n in range(count)])
        # Half again: existing keys are overwritten, not duplicated.
        upsert_tuples(connection, SCORES, columns, key, [(f"u-{n}", period, n % 256, 10) for n in range(0, count, 2)])
        update_tuples(connection, SCORES, ("score_g",), key, [(99, f"u-{n}", period) for n in range(0, 30, 3)])
    with read_tx(runtime.engine) as connection:
        wanted = [(f"u-{n}", period) for n in range(count + 50)]
        found = {
            k[0]: (shard, grams)
            for k, shard, grams in select_by_keys(connection, SCORES, key, ("shard", "score_g"), wanted)
        }
    assert len(found) == count  # the 50 keys never written are simply absent
    assert found["u-1"] == (1, 5)
    assert found["u-2"] == (2, 10)
    assert found["u-3"] == (3, 99) and found["u-6"] == (6, 99)
