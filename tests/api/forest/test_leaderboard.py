"""Leaderboards: the SQL ranks equal ``forest.leaderboard``'s definition on random data, the
scores follow collects and steals, weeks turn at local Monday 00:00, and bad queries fail.
The score buckets behind global ranks hold exactly the scores, however they got there
(collects, bulk loads, the migration that backfills them)."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from greenenergy.clock import ManualClock
from greenenergy.db import forest_repo, play_repo, score_buckets
from greenenergy.db.engine import make_engine, read_tx, write_tx
from greenenergy.db.ledger_repo import POSTINGS, TX
from greenenergy.db.migrate import alembic_config
from greenenergy.forest import Credit, board_entries, period_scores, rank_among, top, week_window
from greenenergy.services.forest import leaderboard as forest_leaderboard
from greenenergy.services.forest import steal as forest_steal
from greenenergy.services.runtime import Runtime
from tests.api.forest.conftest import befriend, make_ripe_ball
from tests.helpers import bearer

TZ = ZoneInfo("Asia/Shanghai")

WEEK = "week:2026-11-16"  # the local week of the test clock (Friday 2026-11-20)


def python_board(runtime: Runtime, user_id: str, scope: str, period_key: str) -> list[tuple[str, int]]:
    """The board's members and scores, read back as plain rows, for the pure definitions."""
    with read_tx(runtime.engine) as connection:
        rows = connection.execute(select(forest_repo.SCORES)).all()
        outgoing, incoming = forest_repo.edges_of(connection, user_id)
    scores = {r.user_id: int(r.score_g) for r in rows if r.period == period_key}
    if scope == "friends":
        members = [user_id, *sorted(outgoing.keys() & incoming.keys())]
    else:
        members = [user_id, *sorted({r.user_id for r in rows if r.period == forest_repo.LIFETIME})]
    return board_entries(members, scores)


scores = st.integers(min_value=0, max_value=60)  # small range: many ties


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), size=st.integers(min_value=1, max_value=12))
def test_sql_ranks_equal_the_python_definition(runtime: Runtime, data: st.DataObject, size: int) -> None:
    run = uuid.uuid4().hex[:6]
    users = [f"{run}-{n}" for n in range(size)]
    rows, asks = [], []
    for user in users:
        lifetime = data.draw(scores)
        week = data.draw(st.integers(0, lifetime))
        if lifetime > 0:  # rows exist only for users who ever scored, as the services write them
            rows.append((user, forest_repo.LIFETIME, lifetime))
            if week > 0:
                rows.append((user, WEEK, week))
    for a in users:
        for b in users:
            if a != b and data.draw(st.booleans()):
                asks.append((a, b))  # one-way asks are requests, not friendships
    with write_tx(runtime.engine) as connection:
        forest_repo.insert_scores(connection, rows)
        forest_repo.insert_asks(connection, asks, now=runtime.clock.now())

    limit = data.draw(st.integers(1, 15))
    for user in users[:3]:
        for scope in ("friends", "global"):
            for period, key in (("week", WEEK), ("lifetime", forest_repo.LIFETIME)):
                board = forest_leaderboard.leaderboard(runtime, user, scope=scope, period=period, limit=limit)
                entries = python_board(runtime, user, scope, key)
                assert (board.me.rank, board.total) == rank_among(entries, user), (scope, period)
                assert board.me.score == dict(entries)[user]
                expected = top(entries, limit)
                if scope == "global":  # members at 0 without a row are counted, not listed
                    expected = top([e for e in entries if e[1] > 0], limit)
                assert board.top == expected, (scope, period)


def test_scores_are_the_grams_collected_and_stolen_in_the_period(runtime: Runtime, client: TestClient) -> None:
    befriend(runtime, "alice", "bob", "carol")
    befriend(runtime, "bob", "carol")
    alices = make_ripe_ball(runtime, "alice", 500)
    bobs = make_ripe_ball(runtime, "bob", 300)
    forest_steal.steal(runtime, thief_id="carol", victim_id="alice", ball_id=alices.ball_id)
    forest_steal.steal(runtime, thief_id="carol", victim_id="bob", ball_id=bobs.ball_id)
    forest_steal.steal(runtime, thief_id="alice", victim_id="bob", ball_id=bobs.ball_id)
    for user in ("alice", "bob"):
        client.post(f"/v1/users/{user}/balls/collect-all", headers=bearer(runtime, "user", user))

    # The definition from the ledger: every credit to an available account by collect or steal.
    with read_tx(runtime.engine) as connection:
        ledger_credits = [
            Credit(r.account.split(":")[1], int(r.energy_g), r.created_at)
            for r in connection.execute(
                select(POSTINGS.c.account, POSTINGS.c.energy_g, POSTINGS.c.created_at)
                .join(TX, TX.c.id == POSTINGS.c.transaction_id)
                .where(TX.c.kind.in_(["collect", "steal"]), POSTINGS.c.account.like("user:%:available"))
            )
        ]
    since, until = week_window(runtime.clock.now(), runtime.settings.zone)
    expected = period_scores(ledger_credits, since=since, until=until)
    board = client.get(
        "/v1/users/alice/leaderboard?scope=friends&period=week&limit=5", headers=bearer(runtime, "user", "alice")
    ).json()
    assert {row["user_id"]: row["score"] for row in board["top"]} == expected
    assert board["total"] == 3 and board["period_key"] == WEEK
    assert board["me"] == next(row for row in board["top"] if row["user_id"] == "alice")
    everyone = client.get(
        "/v1/users/dave/leaderboard?scope=global&period=lifetime", headers=bearer(runtime, "user", "dave")
    ).json()
    assert (everyone["total"], everyone["me"]["rank"]) == (4, 4)  # three scorers, and dave at 0
    assert {row["user_id"] for row in everyone["top"]} == {"alice", "bob", "carol"}


def test_the_week_turns_at_local_monday_midnight(runtime: Runtime, client: TestClient, clock: ManualClock) -> None:
    alice = bearer(runtime, "user", "alice")
    clock.set(datetime.fromisoformat("2026-11-22T23:59:59+08:00"))  # Sunday
    ball = make_ripe_ball(runtime, "alice", 40)
    client.post(f"/v1/users/alice/balls/{ball.ball_id}/collect", headers=alice)
    sunday = client.get("/v1/users/alice/leaderboard?period=week", headers=alice).json()
    assert (sunday["period_key"], sunday["me"]["score"]) == (WEEK, 40)
    clock.set(datetime.fromisoformat("2026-11-23T00:00:00+08:00"))  # Monday
    monday = client.get("/v1/users/alice/leaderboard?period=week", headers=alice).json()
    assert (monday["period_key"], monday["me"]["score"], monday["me"]["rank"]) == ("week:2026-11-23", 0, 1)
    lifetime = client.get("/v1/users/alice/leaderboard?period=lifetime&scope=global", headers=alice).json()
    assert (lifetime["me"], lifetime["total"]) == ({"rank": 1, "user_id": "alice", "score": 40}, 1)


def test_leaderboard_refuses_bad_queries(runtime: Runtime, client: TestClient) -> None:
    alice = bearer(runtime, "user", "alice")
    for query in ("scope=enemies", "period=month", "limit=0", "limit=101", "limit=ten"):
        answer = client.get(f"/v1/users/alice/leaderboard?{query}", headers=alice)
        assert (answer.status_code, answer.json()["error"]["code"]) == (422, "invalid_request"), query
    other = client.get("/v1/users/alice/leaderboard", headers=bearer(runtime, "user", "bob"))
    assert (other.status_code, other.json()["error"]["code"]) == (403, "not_yours")
    lonely = client.get("/v1/users/alice/leaderboard", headers=alice).json()
    assert lonely == {
        "scope": "friends",
        "period": "week",
        "period_key": WEEK,
        "total": 1,
        "me": {"rank": 1, "user_id": "alice", "score": 0},
        "top": [{"rank": 1, "user_id": "alice", "score": 0}],
    }


# --- the score buckets ------------------------------------------------------------------------

# Scores at and around bucket edges (widths 1, 2, 4, ... 2**20) and wide buckets' insides.
EDGES = sorted({1, 2, 254, 255, 256, 257, 383, 384, 511, 512, 513, 1023, 1024, 1025, 2**20 - 1, 2**20, 2**20 + 1,
                123_456, 123_457, 123_460, 499_999, 500_000, 2**31 + 5})  # fmt: skip


def test_buckets_cover_every_score_once_in_order() -> None:
    previous = 0
    for score in sorted({*range(1, 5000), *EDGES, 10**12, 10**15}):
        fine = score_buckets.fine_bucket(score)
        lowest, highest = score_buckets.fine_range(fine)
        assert lowest <= score <= highest, score
        assert score_buckets.fine_bucket(lowest) == score_buckets.fine_bucket(highest) == fine
        assert score_buckets.fine_bucket(highest + 1) > fine  # the next score starts the next bucket
        assert fine >= previous
        previous = fine
        assert score_buckets.coarse_bucket(fine) == fine >> score_buckets.FINE_BITS
    assert score_buckets.fine_range(score_buckets.fine_bucket(2**20 + 1)) == (2**20, 2**20 + 2**13 - 1)


def stored_buckets(runtime: Runtime) -> Counter:
    with read_tx(runtime.engine) as connection:
        rows = connection.execute(select(score_buckets.BUCKETS)).all()
    return Counter({(r.period, r.level, r.bucket, r.part): int(r.users) for r in rows if r.users})


def expected_buckets(runtime: Runtime) -> Counter:
    """The buckets recounted from the score rows, by the definition."""
    with read_tx(runtime.engine) as connection:
        rows = connection.execute(select(forest_repo.SCORES)).all()
    return Counter(score_buckets.deltas((r.user_id, r.period, 0, int(r.score_g)) for r in rows))


def direct_count_above(runtime: Runtime, period: str, score: int) -> int:
    with read_tx(runtime.engine) as connection:
        rows = connection.execute(select(forest_repo.SCORES.c.score_g).where(forest_repo.SCORES.c.period == period))
        return sum(1 for (value,) in rows if value > score)


def test_bucket_ranks_are_exact_at_bucket_edges_and_ties(runtime: Runtime) -> None:
    """Scores credited in several commits (a score moves from bucket to bucket), ties included:
    the buckets hold every score once, and the count above any score equals a direct count."""
    now = runtime.clock.now()
    batches = [{f"u{n}": score for n, score in enumerate(EDGES)}, {f"t{n}": 384 for n in range(5)}]
    batches.append({f"u{n}": 1 for n in range(0, len(EDGES), 2)})  # moves some across an edge
    batches.append({f"u{n}": 2**9 for n in range(1, len(EDGES), 3)})
    for batch in batches:
        with write_tx(runtime.engine) as connection:
            play_repo.add_scores(connection, batch, now=now, tz=TZ)
    assert stored_buckets(runtime) == expected_buckets(runtime)
    with read_tx(runtime.engine) as connection:
        scores = sorted(
            set(forest_repo.scores_of(connection, [f"u{n}" for n in range(len(EDGES))], "lifetime").values())
        )
        for score in sorted({0, *scores, *(s - 1 for s in scores), *(s + 1 for s in scores), 2**40}):
            expected = direct_count_above(runtime, forest_repo.LIFETIME, score)
            assert score_buckets.count_above(connection, forest_repo.LIFETIME, score) == expected, score
    ties = forest_leaderboard.leaderboard(runtime, "t0", scope="global", period="lifetime", limit=3)
    assert ties.me.rank == 1 + direct_count_above(runtime, forest_repo.LIFETIME, 384)


def test_bulk_loads_and_rebuilds_keep_the_buckets(runtime: Runtime) -> None:
    rows = [(f"b{n}", forest_repo.LIFETIME, 1000 + 7 * n) for n in range(300)] + [
        (f"b{n}", WEEK, n + 1) for n in range(90)
    ]
    with write_tx(runtime.engine) as connection:
        forest_repo.insert_scores(connection, rows)
    assert stored_buckets(runtime) == expected_buckets(runtime)
    with write_tx(runtime.engine) as connection:
        connection.execute(score_buckets.BUCKETS.delete())
        forest_repo.rebuild_boards(connection)
        assert forest_repo.board_members(connection) == 300
    assert stored_buckets(runtime) == expected_buckets(runtime)
    board = forest_leaderboard.leaderboard(runtime, "b0", scope="global", period="lifetime", limit=2)
    assert (board.me.rank, board.total, board.top[0].user_id) == (300, 300, "b299")


def test_the_migration_backfills_the_buckets_from_existing_scores(tmp_path, runtime: Runtime) -> None:
    """A database at 0006 with scores, upgraded: the buckets hold those scores, ranks follow."""
    from alembic import command

    engine = runtime.engine
    if engine.dialect.name == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    else:  # a fresh database of its own, created empty
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        admin = create_engine(runtime.settings.sqlalchemy_url, isolation_level="AUTOCOMMIT")
        name = f"ge_mig_{uuid.uuid4().hex[:10]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        engine = make_engine(make_url(runtime.settings.sqlalchemy_url).set(database=name).render_as_string(False))
    try:
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0006")
            connection.exec_driver_sql(
                "INSERT INTO forest_scores (user_id, period, shard, score_g) VALUES "
                "('a', 'lifetime', 1, 900), ('b', 'lifetime', 2, 300), ('c', 'lifetime', 3, 300), "
                "('a', 'week:2026-11-16', 1, 40)"
            )
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        with engine.connect() as connection:
            stored = Counter(
                {
                    (r.period, r.level, r.bucket, r.part): r.users
                    for r in connection.execute(select(score_buckets.BUCKETS))
                }
            )
            expected = score_buckets.deltas(
                [("a", "lifetime", 0, 900), ("b", "lifetime", 0, 300), ("c", "lifetime", 0, 300), ("a", WEEK, 0, 40)]
            )
            assert stored == Counter(expected)
            assert score_buckets.count_above(connection, "lifetime", 300) == 1
            assert score_buckets.count_above(connection, "lifetime", 0) == 3
            assert forest_repo.scores_of(connection, ["a", "b"], "lifetime") == {"a": 900, "b": 300}
    finally:
        engine.dispose()
        if engine is not runtime.engine and engine.dialect.name == "postgresql":
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
