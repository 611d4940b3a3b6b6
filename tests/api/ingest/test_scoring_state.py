"""Caps, running totals and balls persist between requests (stored scoring state)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from greenenergy.clock import ManualClock
from greenenergy.db import balls_repo
from greenenergy.db.engine import read_tx
from greenenergy.services.audit.verify import verify
from greenenergy.services.ingest import IncomingEvent, ingest
from greenenergy.services.runtime import Runtime
from tests.api.ingest.conftest import event
from tests.helpers import pending_g

SHANGHAI_0930 = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)  # 09:30 local, clock is 10:00 local


def test_the_eleventh_payment_of_a_day_earns_zero_even_across_requests(post) -> None:
    grams = []
    for n in range(11):
        result = post(event(f"p-{n}", "payment.offline", "u-1", SHANGHAI_0930 + timedelta(seconds=n), amount_fen=1000))[
            "results"
        ][0]
        grams.append(result["energy_g"])
    assert grams == [5] * 10 + [0]


def test_daily_cap_resets_at_local_midnight_not_utc_midnight(post, clock: ManualClock) -> None:
    # 15:59 UTC is 23:59 in Shanghai; 16:01 UTC is the next local day.
    clock.set(datetime(2026, 11, 20, 17, 0, tzinfo=UTC))
    late = datetime(2026, 11, 20, 15, 59, tzinfo=UTC)
    early = datetime(2026, 11, 20, 16, 1, tzinfo=UTC)
    got = [
        post(event(f"m-{n}", "transit.metro", "u-1", late + timedelta(seconds=n)))["results"][0]["energy_g"]
        for n in range(6)
    ]
    assert got == [52] * 5 + [0]
    assert post(event("m-next", "transit.metro", "u-1", early))["results"][0]["energy_g"] == 52


def test_walking_awards_only_increases_and_stops_at_296_across_syncs(post) -> None:
    syncs = [5_000, 12_000, 11_000, 20_000, 30_000]
    got = [
        post(event(f"w-{n}", "walking.steps", "u-1", SHANGHAI_0930 + timedelta(minutes=n), steps=s))["results"][0][
            "energy_g"
        ]
        for n, s in enumerate(syncs)
    ]
    assert got == [100, 140, 0, 56, 0]
    assert sum(got) == 296


def test_one_utility_bill_per_account_per_month(post) -> None:
    def bill(n: int, account: str) -> dict:
        return event(
            f"b-{n}", "bill.utility", "u-1", SHANGHAI_0930 + timedelta(minutes=n), amount_fen=8800, account_no=account
        )

    assert post(bill(1, "acct-1"))["results"][0]["energy_g"] == 262
    assert post(bill(2, "acct-1"))["results"][0]["energy_g"] == 0
    assert post(bill(3, "acct-2"))["results"][0]["energy_g"] == 262


def test_events_before_ripening_share_one_ball_and_late_ones_get_their_own(
    post, runtime: Runtime, clock: ManualClock
) -> None:
    yesterday = SHANGHAI_0930 - timedelta(days=1)  # ripened today 07:00 local, before "now" (10:00)
    post(event("r-1", "recycling.box", "u-1", SHANGHAI_0930, boxes=1))
    post(event("r-2", "recycling.box", "u-1", SHANGHAI_0930 + timedelta(minutes=1), boxes=2))
    post(event("r-3", "recycling.box", "u-1", yesterday, boxes=1))
    post(event("r-4", "recycling.box", "u-1", yesterday + timedelta(minutes=1), boxes=1))
    with read_tx(runtime.engine) as connection:
        balls = balls_repo.user_balls(connection, "u-1")
    on_time = [b for b in balls if b.visible_at == b.ripens_at]
    late = [b for b in balls if b.visible_at > b.ripens_at]
    assert [(b.energy_g, b.ripens_at) for b in on_time] == [(111, datetime(2026, 11, 20, 23, 0, tzinfo=UTC))]
    assert sorted(b.energy_g for b in late) == [37, 37]
    assert all(b.visible_at == clock.now() for b in late)
    assert sum(b.energy_g for b in balls) == pending_g(runtime, "u-1")


def test_concurrent_batches_for_one_user_respect_the_daily_cap(runtime: Runtime) -> None:
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def send(worker: int) -> None:
        events = [
            IncomingEvent(
                f"w{worker}-{n}", "payment.offline", "u-1", SHANGHAI_0930 + timedelta(seconds=n), {"amount_fen": 500}
            )
            for n in range(6)
        ]
        barrier.wait()
        try:
            ingest(runtime, source_id=f"src-{worker}", events=events)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert pending_g(runtime, "u-1") == 50  # 10 payments x 5 g, of 24 sent
    assert verify(runtime).ok


def test_the_same_batch_sent_twice_at_once_is_accepted_once(runtime: Runtime) -> None:
    events = [IncomingEvent(f"e-{n}", "recycling.box", f"u-{n}", SHANGHAI_0930, {"boxes": 1}) for n in range(30)]
    barrier = threading.Barrier(2)
    outcomes: list[tuple[int, int]] = []

    def send() -> None:
        barrier.wait()
        summary = ingest(runtime, source_id="cainiao", events=events)
        outcomes.append((summary.accepted, summary.duplicates))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [(0, 30), (30, 0)]
    assert sum(pending_g(runtime, f"u-{n}") for n in range(30)) == 30 * 37
    assert verify(runtime).ok


def test_balls_endpoint_data_matches_the_ledger(client: TestClient, post, runtime: Runtime) -> None:
    post(
        *[event(f"e-{n}", "recycling.box", "u-1", SHANGHAI_0930 + timedelta(minutes=n), boxes=n + 1) for n in range(3)]
    )
    with read_tx(runtime.engine) as connection:
        (ball,) = balls_repo.user_balls(connection, "u-1")
    assert ball.energy_g == 37 * 6 == pending_g(runtime, "u-1")
