"""The pure batch decision (ingestion.prepare / ingestion.decide), without a database.

The rule file and the stored state each test needs are written inline; ``stored()`` builds
the ``Loaded`` value a repository would return.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from greenenergy.forest.balls import RipeningMemo, event_ball_id, new_event_ball
from greenenergy.ingestion import IncomingEvent, Loaded, StoredResult, UserIngestState, decide, prepare
from greenenergy.ledger.chain import GENESIS_HASH, verify_shard
from greenenergy.scoring import rules_from_yaml
from greenenergy.units import shard_of

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
RULES = rules_from_yaml(
    """
rules:
  - id: box
    version: 1
    event_type: box
    effective_from: 2026-01-01
    fields: {n: int}
    energy_g: 37 * n
    caps:
      - {per: day, max_count: 2}
    methodology: {source: test, verified: false}
  - id: pay
    version: 1
    event_type: pay
    effective_from: 2026-01-01
    fields: {fen: int}
    when: fen >= 100
    energy_g: 5
    methodology: {source: test, verified: false}
""",
    SHANGHAI,
)


def event(event_id: str, user: str = "u-1", kind: str = "box", at: datetime = NOW - timedelta(hours=1), **data: int):
    return IncomingEvent(event_id, kind, user, at, data or ({"n": 1} if kind == "box" else {"fen": 500}))


def prepared(*events: IncomingEvent, allowed: frozenset[str] | None = None):
    return prepare(RULES, source_id="src", events=list(events), now=NOW, ripening_of=RipeningMemo(SHANGHAI),
                   allowed=allowed, max_daily_steps=100_000)  # fmt: skip


def stored(p, *, users=None, balls=None, results=None, blocked=(), lane=0) -> Loaded:
    return Loaded(
        stored=results or {},
        users={u: (users or {}).get(u) for u in p.needs.user_ids},
        blocked=frozenset(blocked),
        balls=balls or {},
        lane=lane,
        heads=dict.fromkeys(p.needs.shards, (0, GENESIS_HASH)),
    )


def run(*events: IncomingEvent, limit: int = 120, **loaded):
    p = prepared(*events)
    return decide(RULES, p, stored(p, **loaded), max_events_per_hour=limit)


def test_events_of_one_user_type_and_ripening_share_one_new_ball_outside_the_ledger() -> None:
    decision = run(event("a"), event("b", at=NOW - timedelta(minutes=30), n=2))
    assert [r.status for r in decision.results] == ["accepted", "accepted"]
    (ball,) = decision.new_balls
    assert (ball.energy_g, ball.mint_rule, ball.user_id) == (111, "box", "u-1")
    assert {r.ball_id for r in decision.results} == {ball.ball_id}
    assert all(r.transaction_id is None for r in decision.results)  # no ledger movement at ingestion
    (user,) = decision.users
    assert (user.lifetime_g, user.counts, user.totals) == (111, {"box": 2}, {"box:n": 3})


def test_the_cap_holds_across_the_batch_and_the_stored_usage() -> None:
    earlier = UserIngestState("u-1")
    earlier.usage = {"2026-11-20|box|day|": [1, 37]}  # one box already counted today (local)
    decision = run(event("a"), event("b"), users={"u-1": (37, *earlier.to_texts())})
    assert [r.energy_g for r in decision.results] == [37, 0]
    assert decision.users[0].usage["2026-11-20|box|day|"] == [2, 74]


def test_a_shared_ball_that_no_longer_takes_energy_is_replaced_by_the_events_own_ball() -> None:
    p = prepared(event("a"))
    shared_id = p.candidates[0].ball_id
    shared = new_event_ball(ball_id=shared_id, user_id="u-1", event_type="box", energy_g=37,
                            occurred_at=NOW - timedelta(hours=2), ingested_at=NOW - timedelta(hours=2), tz=SHANGHAI,
                            mint_rule="box")  # fmt: skip
    open_decision = decide(RULES, p, stored(p, balls={shared_id: shared}), max_events_per_hour=120)
    assert open_decision.grown_balls == [(shared, 37)] and open_decision.new_balls == []

    stolen_from = replace(shared, stolen_g=5)  # a thief took some: it may not grow any more
    decision = decide(RULES, p, stored(p, balls={shared_id: stolen_from}), max_events_per_hour=120)
    (own,) = decision.new_balls
    assert own.ball_id != shared_id and decision.grown_balls == []
    assert own.ball_id == event_ball_id(user_id="u-1", event_type="box", ripening=shared.ripens_at, ingested_at=NOW,
                                        event_ref="src/a", own=True)  # fmt: skip
    assert decision.results[0].status == "accepted" and decision.results[0].ball_id == own.ball_id


def test_a_stored_event_answers_its_first_result_even_when_this_copy_would_be_rejected() -> None:
    first = StoredResult("a", 74, "box@1", None, "37 * n = 74", "b-x")
    decision = run(event("a", kind="box", n=-1), results={"a": first})  # invalid data this time
    (result,) = decision.results
    assert (result.status, result.energy_g, result.rule, result.ball_id) == ("duplicate", 74, "box@1", "b-x")
    assert decision.events == [] and decision.rejections == []


def test_a_repeated_event_id_in_the_request_answers_as_its_first_occurrence() -> None:
    decision = run(event("a"), event("a", n=3), event("r", n=0))
    assert [(r.event_id, r.status) for r in decision.results] == [("a", "accepted"), ("a", "duplicate"),
                                                                  ("r", "accepted")]  # fmt: skip
    assert decision.results[1].energy_g == decision.results[0].energy_g == 37
    assert len(decision.events) == 2  # the repeat stores nothing


def test_blocked_users_and_bursts_are_rejected_and_nothing_of_theirs_is_written() -> None:
    decision = run(event("a", user="u-2"), event("b"), event("c"), event("d"), limit=2, blocked={"u-2"})
    assert [(r.status, r.reason) for r in decision.results] == [
        ("rejected", "user_blocked"), ("accepted", None), ("accepted", None), ("rejected", "implausible"),
    ]  # fmt: skip
    assert {r.event_id for r in decision.rejections} == {"a", "d"}
    assert {e.event_id for e in decision.events} == {"b", "c"}


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        (event("x", kind="teleport"), "unknown_type"),
        (event("x", at=NOW + timedelta(minutes=6)), "in_future"),
        (event("x", at=NOW - timedelta(days=7, seconds=1)), "too_late"),
        (event("x", n="one"), "invalid_data"),  # type: ignore[arg-type]
        (IncomingEvent("x", "box", "u-1", NOW, {"n": 1, "s": "\ud800"}), "invalid_data"),
    ],
)
def test_each_check_that_needs_no_stored_state(item: IncomingEvent, reason: str) -> None:
    (result,) = run(item).results
    assert (result.status, result.reason) == ("rejected", reason)


def test_a_type_the_source_may_not_send() -> None:
    p = prepared(event("x", kind="pay"), allowed=frozenset({"box"}))
    (result,) = decide(RULES, p, stored(p), max_events_per_hour=120).results
    assert (result.status, result.reason) == ("rejected", "type_not_allowed")


def test_events_are_chained_per_shard_in_the_batchs_lane_and_the_chain_verifies() -> None:
    users = [f"u-{n}" for n in range(40)]
    decision = run(*[event(f"e{n}", user=u) for n, u in enumerate(users)], lane=3)
    assert {e.lane for e in decision.events} == {3}
    for shard in {e.shard for e in decision.events}:
        chain = [e for e in decision.events if e.shard == shard]
        assert [e.seq for e in chain] == list(range(1, len(chain) + 1))
        assert decision.heads[shard] == (len(chain), chain[-1].hash)
        assert list(verify_shard(shard, chain, decision.heads[shard], noun="event")) == []
    assert all(e.shard == shard_of(e.user_id) for e in decision.events)


def test_events_are_scored_in_occurred_at_order_whatever_the_request_order() -> None:
    late, early = event("late", at=NOW - timedelta(minutes=1)), event("early", at=NOW - timedelta(minutes=50))
    decision = run(late, early, event("third", at=NOW - timedelta(minutes=30)))
    assert [r.energy_g for r in decision.results] == [0, 37, 37]  # the cap of 2 a day takes the latest


def test_the_users_scoring_state_forgets_what_no_event_can_reach_again() -> None:
    old = UserIngestState("u-1")
    old.usage = {f"2026-09-{day:02d}|box|day|": [1, 37] for day in range(1, 29)}  # two months ago
    old.hourly = {f"2026-09-01T{hour:02d}|box": 1 for hour in range(24)} | {"2026-09-02T00|box": 1}
    (user,) = run(event("a"), users={"u-1": (0, *old.to_texts())}).users
    assert list(user.usage) == ["2026-11-20|box|day|"]
    assert list(user.hourly) == ["2026-11-20T01|box"]
