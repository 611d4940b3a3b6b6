"""Concurrent batches (issue 19): a batch racing its own re-send, batches of other sources and
ids contending for the same users' balls and caps, and a re-send of part of a batch while
the original is being written -- many rounds, on SQLite and on PostgreSQL.

Every round has fresh users and ids, and posts these batches at once:

- ``A``: for each user, ``PAYMENTS`` ``payment.offline`` and ``BOXES`` ``recycling.box``;
- ``A2``: ``A`` again, in reverse order (a client retrying after a timeout);
- ``B``: the same users and types with other event ids, from the same source;
- ``C``: every other event of ``A`` and of ``B``, sent a moment later (a partial re-send
  while the originals are being written);
- ``D``: ``A``'s event ids from another source: other events, for the same users;
- ``E``: the first ids of ``A``, from ``A``'s source but for a user no other batch names (a
  client that re-sends ids for the wrong user): the two batches lock different users, so
  on PostgreSQL both may insert the id and the second commit fails on the primary key; it
  must be run again and answer ``duplicate``. Whichever arrives first is the event.

Each (source, event_id) must be answered ``accepted`` exactly once and ``duplicate`` with
that first result (grams, rule, ball, transaction) everywhere else; no request may fail.
Every user of ``A`` is offered more than the daily caps allow, so each ends the round with
exactly the capped grams (``EXPECTED_G``); every user's balls hold exactly what the user's
accepted events earned, and the store holds exactly the events answered ``accepted``.
"""

from __future__ import annotations

import gc
import multiprocessing
import random
import threading
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from greenenergy.clock import ManualClock
from greenenergy.config import load_settings
from greenenergy.db import balls_repo
from greenenergy.db.engine import make_engine, read_tx
from greenenergy.ingestion import EventResult, IncomingEvent
from greenenergy.scoring.expr import compile_expression
from greenenergy.services.audit.verify import verify
from greenenergy.services.forest import balls as forest_balls
from greenenergy.services.ingest import batch as ingest_batch
from greenenergy.services.ingest import ingest
from greenenergy.services.runtime import Runtime
from tests.conftest import BACKEND, PROJECT_ROOT, START
from tests.helpers import bearer, pending_g

SOURCE, OTHER_SOURCE = "race-a", "race-b"
USERS_PER_ROUND = 8
PAYMENTS = 6  # payment.offline, 5 g each, at most 10 a local day
BOXES = 4  # recycling.box with 2 boxes (74 g each), at most 10 a day and 370 g a day
MISROUTED = 6  # ids of A that batch E sends for another user
PAYMENT_CAP_G, BOX_CAP_G = 10 * 5, 370
EXPECTED_G = PAYMENT_CAP_G + BOX_CAP_G  # every user is offered more than both caps allow
THREAD_ROUNDS = 50
PROCESS_ROUNDS = 40
PROCESS_KINDS = ("A", "A2", "B", "C", "D", "E")

Answer = dict[str, Any]  # one result, as POST /v1/events answers it
FIELDS = {"weight_g": "int", "boxes": "int"}


@dataclass(frozen=True)
class Batch:
    kind: str
    source: str
    events: list[IncomingEvent]
    delay_s: float = 0.0  # how long after the others it is posted


def round_batches(round_no: int, tag: str) -> dict[str, Batch]:
    """The batches of one round (module docstring); deterministic, so that worker processes
    build the same ones as the test that checks their answers."""
    users = [f"u-{tag}{round_no}-{k}" for k in range(USERS_PER_ROUND)]

    def events(prefix: str) -> list[IncomingEvent]:
        out = []
        for k, user in enumerate(users):
            for i in range(PAYMENTS + BOXES):
                occurred = START - timedelta(minutes=2 + i, seconds=k)  # one local day, within the hour
                if i < PAYMENTS:
                    out.append(
                        IncomingEvent(f"{prefix}-{k}-{i}", "payment.offline", user, occurred, {"amount_fen": 500})
                    )
                else:
                    out.append(IncomingEvent(f"{prefix}-{k}-{i}", "recycling.box", user, occurred, {"boxes": 2}))
        return out

    a = events(f"{tag}{round_no}-a")
    b = events(f"{tag}{round_no}-b")
    stray = f"u-{tag}{round_no}-stray"
    misrouted = [IncomingEvent(e.event_id, e.event_type, stray, e.occurred_at, e.data) for e in a[:MISROUTED]]
    rng = random.Random(round_no)
    return {
        "A": Batch("A", SOURCE, a),
        "A2": Batch("A2", SOURCE, a[::-1], delay_s=rng.choice((0.0, 0.002, 0.01))),
        "B": Batch("B", SOURCE, b),
        "C": Batch("C", SOURCE, a[::2] + b[1::2], delay_s=rng.choice((0.001, 0.005, 0.02))),
        "D": Batch("D", OTHER_SOURCE, a),
        "E": Batch("E", SOURCE, misrouted, delay_s=rng.choice((0.0, 0.003))),
    }


def as_answer(result: EventResult) -> Answer:
    return {
        "event_id": result.event_id,
        "status": result.status,
        "energy_g": result.energy_g,
        "rule": result.rule,
        "ball_id": result.ball_id,
        "transaction_id": result.transaction_id,
        "reason": result.reason,
    }


def check_round(runtime: Runtime, batches: dict[str, Batch], answers: dict[str, list[Answer]]) -> int:
    """Check every answer of one round and its totals; the number of events accepted."""
    firsts: dict[tuple[str, str], tuple[Answer, IncomingEvent]] = {}
    seen: dict[tuple[str, str], list[Answer]] = defaultdict(list)
    for kind, batch in batches.items():
        got = answers[kind]
        assert [a["event_id"] for a in got] == [e.event_id for e in batch.events], f"{kind}: results out of order"
        for event, answer in zip(batch.events, got, strict=True):
            key = (batch.source, event.event_id)
            assert answer["status"] in ("accepted", "duplicate"), (kind, answer)
            seen[key].append(answer)
            if answer["status"] == "accepted":
                assert key not in firsts, f"{key} accepted twice: {firsts[key][0]} and {answer}"
                firsts[key] = (answer, event)
    for key, all_answers in seen.items():
        assert key in firsts, f"{key} was never accepted: {all_answers}"
        first = firsts[key][0]
        for answer in all_answers:
            if answer is not first:
                assert answer == {**first, "status": "duplicate"}, (key, first, answer)

    earned: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    earning: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    per_ball: dict[str, int] = defaultdict(int)
    for answer, event in firsts.values():
        assert answer["energy_g"] is not None and answer["energy_g"] >= 0, answer
        earned[event.user_id][event.event_type] += answer["energy_g"]
        if answer["energy_g"] > 0:
            earning[event.user_id][event.event_type] += 1
            per_ball[answer["ball_id"]] += answer["energy_g"]
        else:
            assert answer["ball_id"] is None, answer
    capped = sorted({e.user_id for e in batches["A"].events})
    users = sorted({e.user_id for b in batches.values() for e in b.events})
    with read_tx(runtime.engine) as connection:
        balls = {u: balls_repo.user_balls(connection, u) for u in users}
    for user in users:
        total_g = sum(earned[user].values())
        if user in capped:
            assert earned[user] == {"payment.offline": PAYMENT_CAP_G, "recycling.box": BOX_CAP_G}, (user, earned[user])
            assert earning[user]["payment.offline"] == 10  # the daily count cap, not more
            assert earning[user]["recycling.box"] <= 10
            assert total_g == EXPECTED_G
        assert pending_g(runtime, user) == total_g
        assert sum(b.energy_g for b in balls[user]) == total_g
        for ball in balls[user]:
            assert per_ball.pop(ball.ball_id) == ball.energy_g == ball.remaining_g, ball
    assert per_ball == {}, f"answers name balls that hold other grams or do not exist: {per_ball}"
    # Stored: exactly the events answered accepted, each as answered and for the user it was sent for.
    stored = stored_events(runtime, users)
    assert stored.keys() == firsts.keys()
    for key, (answer, event) in firsts.items():
        assert stored[key] == (event.user_id, answer["energy_g"], answer["rule"], answer["ball_id"]), key
    return len(firsts)


def stored_events(runtime: Runtime, users: list[str]) -> dict[tuple[str, str], tuple]:
    """(source, event_id) -> (user, grams, rule, ball) of the events stored for ``users``."""
    marks = ", ".join(f":u{n}" for n in range(len(users)))
    query = text(
        f"SELECT source_id, event_id, user_id, energy_g, rule_ref, ball_id FROM events WHERE user_id IN ({marks})"
    )
    with read_tx(runtime.engine) as connection:
        rows = connection.execute(query, {f"u{n}": user for n, user in enumerate(users)}).all()
    return {(r.source_id, r.event_id): (r.user_id, int(r.energy_g), r.rule_ref, r.ball_id) for r in rows}


def run_at_once(jobs: dict[str, Callable[[], list[Answer]]], delays: dict[str, float]) -> dict[str, list[Answer]]:
    """Run ``jobs`` in threads released together (each after its delay); their answers, or
    the test fails naming every job that raised."""
    barrier = threading.Barrier(len(jobs))
    answers: dict[str, list[Answer]] = {}
    errors: dict[str, str] = {}

    def run(kind: str, job: Callable[[], list[Answer]]) -> None:
        barrier.wait()
        time.sleep(delays.get(kind, 0.0))
        try:
            answers[kind] = job()
        except BaseException as error:
            errors[kind] = repr(error)

    threads = [threading.Thread(target=run, args=item) for item in jobs.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert answers.keys() == jobs.keys(), f"threads still running: {jobs.keys() - answers.keys()}"
    return answers


def test_batches_racing_their_resends_and_each_other_over_http(
    client: TestClient, runtime: Runtime, report: Callable[[str], None]
) -> None:
    headers = {SOURCE: bearer(runtime, "source", SOURCE), OTHER_SOURCE: bearer(runtime, "source", OTHER_SOURCE)}

    def poster(batch: Batch) -> Callable[[], list[Answer]]:
        body = {
            "events": [
                {
                    "event_id": e.event_id,
                    "type": e.event_type,
                    "user_id": e.user_id,
                    "occurred_at": e.occurred_at.isoformat(),
                    "data": e.data,
                }
                for e in batch.events
            ]
        }

        def post() -> list[Answer]:
            response = client.post("/v1/events", json=body, headers=headers[batch.source])
            assert response.status_code == 200, f"{batch.kind}: {response.status_code} {response.text[:300]}"
            answer = response.json()
            results = answer["results"]
            assert (answer["accepted"], answer["duplicates"], answer["rejected"]) == (
                sum(r["status"] == "accepted" for r in results),
                sum(r["status"] == "duplicate" for r in results),
                0,
            )
            return [
                {k: r.get(k) for k in ("event_id", "status", "energy_g", "rule", "ball_id", "transaction_id", "reason")}
                for r in results
            ]

        return post

    started = time.perf_counter()
    accepted = 0
    for round_no in range(THREAD_ROUNDS):
        batches = round_batches(round_no, "t")
        answers = run_at_once(
            {kind: poster(batch) for kind, batch in batches.items()},
            {kind: batch.delay_s for kind, batch in batches.items()},
        )
        accepted += check_round(runtime, batches, answers)
    elapsed = time.perf_counter() - started
    report(
        f"{BACKEND}: {THREAD_ROUNDS} rounds of 6 concurrent HTTP batches, {accepted} events accepted, {elapsed:.1f} s"
    )
    result = verify(runtime)
    assert result.ok, result.findings


def process_worker(
    database_url: str, kind: str, rounds: int, barrier: Any, out: Any
) -> None:  # pragma: no cover - runs in a child process
    """Post this worker's batch of every round through the service, in step with the others."""
    settings_ = load_settings(database_url=database_url, catalog_dir=PROJECT_ROOT)
    runtime = Runtime(settings=settings_, engine=make_engine(settings_.sqlalchemy_url), clock=ManualClock(START))
    try:
        for round_no in range(rounds):
            batch = round_batches(round_no, "p")[kind]
            barrier.wait(timeout=60)
            time.sleep(batch.delay_s)
            try:
                summary = ingest(runtime, source_id=batch.source, events=batch.events)
                out.put((round_no, kind, [as_answer(r) for r in summary.results], None))
            except Exception as error:
                out.put((round_no, kind, None, repr(error)))
    finally:
        runtime.close()


def test_batches_racing_in_separate_processes(
    runtime: Runtime, database_url: str, report: Callable[[str], None]
) -> None:
    """OS processes, each with its own engine and pool, post one batch kind each, every
    round together.

    Forked, so a worker starts in milliseconds rather than importing the application again;
    it opens its own engine and never touches the connections of this process."""
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(len(PROCESS_KINDS))
    out = context.Queue()
    workers = [
        context.Process(target=process_worker, args=(database_url, kind, PROCESS_ROUNDS, barrier, out), daemon=True)
        for kind in PROCESS_KINDS
    ]
    started = time.perf_counter()
    with warnings.catch_warnings():  # Python 3.12+ warns of fork() in a threaded process; the workers share no lock
        warnings.simplefilter("ignore", DeprecationWarning)
        for worker in workers:
            worker.start()
    got: dict[int, dict[str, list[Answer]]] = defaultdict(dict)
    errors = []
    try:
        for _ in range(PROCESS_ROUNDS * len(PROCESS_KINDS)):
            round_no, kind, answers, error = out.get(timeout=120)
            if error is not None:
                errors.append((round_no, kind, error))
            else:
                got[round_no][kind] = answers
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()
    elapsed = time.perf_counter() - started
    assert not errors, errors
    assert all(worker.exitcode == 0 for worker in workers), [w.exitcode for w in workers]
    accepted = 0
    for round_no in range(PROCESS_ROUNDS):
        batches = {kind: batch for kind, batch in round_batches(round_no, "p").items() if kind in PROCESS_KINDS}
        accepted += check_round(runtime, batches, got[round_no])
    report(
        f"{BACKEND}: {PROCESS_ROUNDS} rounds of {len(PROCESS_KINDS)} batches in {len(PROCESS_KINDS)} processes, "
        f"{accepted} events accepted, {elapsed:.1f} s (with process start-up)"
    )
    result = verify(runtime)
    assert result.ok, result.findings


def test_a_shared_ball_collected_while_the_batch_was_planned_gets_the_event_its_own_ball(
    runtime: Runtime, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The interleaving behind the 409 ``ball_closed`` of issue 19, made deterministic: the
    batch is planned (its ball is the shared one, still waiting) and, before it writes, the
    clock passes the ripening and the owner collects that ball. The event is accepted into a
    ball of its own; the request does not fail."""
    occurred = clock.now() - timedelta(minutes=30)
    (first,) = ingest(
        runtime,
        source_id=SOURCE,
        events=[IncomingEvent("x-1", "recycling.box", "u-late", occurred, {"boxes": 1})],
    ).results
    real_in_write_tx = ingest_batch.in_write_tx
    collected = []

    def collect_first(engine: Any, work: Any, **kwargs: Any) -> Any:
        if not collected:
            clock.set(datetime(2026, 11, 21, 0, 0, tzinfo=UTC))  # 08:00 local: the shared ball is ripe
            collected.append(forest_balls.collect(runtime, "u-late", first.ball_id))
        return real_in_write_tx(engine, work, **kwargs)

    monkeypatch.setattr(ingest_batch, "in_write_tx", collect_first)
    (second,) = ingest(
        runtime,
        source_id=SOURCE,
        events=[IncomingEvent("x-2", "recycling.box", "u-late", occurred, {"boxes": 2})],
    ).results
    assert collected and collected[0].collected_g == 37
    assert (second.status, second.energy_g) == ("accepted", 74)
    assert second.ball_id not in (None, first.ball_id)
    with read_tx(runtime.engine) as connection:
        shared = balls_repo.get_ball(connection, first.ball_id)
        own = balls_repo.get_ball(connection, second.ball_id)
    assert (shared.energy_g, shared.collected_g) == (37, 37)  # the collected ball took no grams after
    assert (own.user_id, own.energy_g, own.remaining_g) == ("u-late", 74, 74)
    assert pending_g(runtime, "u-late") == 74
    assert verify(runtime).ok


class _FreedLate:
    """Garbage whose finaliser releases the GIL, as a dropped connection's does."""

    def __init__(self) -> None:
        self.cycle = self  # freed by the cyclic GC, at an allocation of whichever thread

    def __del__(self) -> None:
        time.sleep(0)


def test_rule_expressions_compile_safely_from_many_threads() -> None:
    """Found by the PostgreSQL run of these races: concurrent first requests each loaded the
    rules, and CPython 3.11's AST constructor, whose recursion count all threads share,
    failed one of them with SystemError (a 500) when a finaliser let another thread parse
    mid-tree. Expressions are now parsed one at a time. A collection at every allocation
    makes the interleaving happen at once (it did, every run, before the fix)."""
    errors: list[str] = []
    barrier = threading.Barrier(4)

    def compile_many() -> None:
        barrier.wait()
        for _ in range(300):
            _FreedLate()
            try:
                compile_expression("floor(weight_g * 36 / 10) + max(boxes, 2) * (3 if boxes > 1 else 4)", FIELDS)
            except Exception as error:
                errors.append(repr(error))
                return

    thresholds = gc.get_threshold()
    gc.set_threshold(1, 1, 1)
    try:
        threads = [threading.Thread(target=compile_many) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        gc.set_threshold(*thresholds)
    assert errors == []


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Iterator[Callable[[str], None]]:
    """Print a figure in the test summary (``-rP`` or ``-s`` shows it)."""
    lines: list[str] = []
    yield lines.append
    for line in lines:
        print(f"\n[race] {line}")
