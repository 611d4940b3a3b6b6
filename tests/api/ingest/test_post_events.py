"""POST /v1/events: accepted / duplicate / rejected per item, one commit per batch."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from greenenergy.clock import ManualClock
from greenenergy.db import balls_repo
from greenenergy.db.engine import read_tx
from greenenergy.db.tables_events import EventRow
from greenenergy.db.tables_forest import BallRow
from greenenergy.errors import InvalidInput
from greenenergy.services import moderation
from greenenergy.services.audit.verify import verify
from greenenergy.services.runtime import Runtime
from tests.api.ingest.conftest import event
from tests.helpers import bearer, pending_g


def counts(runtime: Runtime) -> tuple[int, int]:
    """(events, balls): the rows accepted events wrote (a ball holds an event's grams until
    they reach the ledger when it is collected, stolen or expires)."""
    with read_tx(runtime.engine) as connection:
        events = connection.execute(select(func.count()).select_from(EventRow.__table__)).scalar_one()
        balls = connection.execute(select(func.count()).select_from(BallRow.__table__)).scalar_one()
    return events, balls


def test_accepted_event_puts_its_grams_in_a_ball_and_answers_the_contract_shape(
    post, runtime: Runtime, earlier
) -> None:
    answer = post(event("cn-81723", "recycling.box", "u-42", earlier(), boxes=2))
    assert (answer["accepted"], answer["duplicates"], answer["rejected"]) == (1, 0, 0)
    (result,) = answer["results"]
    assert result["event_id"] == "cn-81723"
    assert result["status"] == "accepted"
    assert result["energy_g"] == 74
    assert result["rule"].startswith("recycling.box@")
    assert result["reason"] is None
    assert pending_g(runtime, "u-42") == 74
    # The grams wait in the ball the result names; they reach the ledger when it is collected.
    assert result["transaction_id"] is None
    with read_tx(runtime.engine) as connection:
        ball = balls_repo.get_ball(connection, result["ball_id"])
        named = connection.execute(
            text("SELECT ball_id FROM events WHERE source_id = 'cainiao' AND event_id = 'cn-81723'")
        ).scalar_one()
    assert (ball.user_id, ball.energy_g, ball.mint_rule, named) == ("u-42", 74, "recycling.box", result["ball_id"])
    assert verify(runtime).ok


def test_resending_returns_the_first_result_and_changes_nothing(post, runtime: Runtime, earlier) -> None:
    first = post(event("e-1", "recycling.box", "u-1", earlier(), boxes=1))["results"][0]
    before = counts(runtime)
    again = post(event("e-1", "recycling.box", "u-1", earlier(), boxes=5))
    assert again["duplicates"] == 1
    (result,) = again["results"]
    assert result["status"] == "duplicate"
    assert (result["energy_g"], result["rule"], result["transaction_id"]) == (
        first["energy_g"],
        first["rule"],
        first["transaction_id"],
    )
    assert counts(runtime) == before
    assert pending_g(runtime, "u-1") == 37


def test_a_repeated_event_id_inside_one_batch_is_a_duplicate(post, earlier) -> None:
    answer = post(
        event("e-1", "recycling.box", "u-1", earlier(), boxes=1),
        event("e-1", "recycling.box", "u-1", earlier(), boxes=1),
    )
    assert [r["status"] for r in answer["results"]] == ["accepted", "duplicate"]
    assert answer["results"][1]["energy_g"] == 37


def test_the_same_event_id_from_another_source_is_a_different_event(post, runtime: Runtime, earlier) -> None:
    post(event("e-1", "recycling.box", "u-1", earlier(), boxes=1))
    other = post(event("e-1", "recycling.box", "u-1", earlier(), boxes=1), headers=bearer(runtime, "source", "xianyu"))
    assert other["accepted"] == 1


@pytest.mark.parametrize(
    ("item", "reason", "detail"),
    [
        (lambda t: event("x", "no.such.type", "u-1", t), "unknown_type", None),
        (lambda t: event("x", "recycling.box", "u-1", t), "invalid_data", ("boxes", "missing")),
        (lambda t: event("x", "recycling.box", "u-1", t, boxes="2"), "invalid_data", ("boxes", "wrong_type")),
        (lambda t: event("x", "recycling.box", "u-1", t, boxes=2.5), "invalid_data", ("boxes", "wrong_type")),
        (lambda t: event("x", "recycling.box", "u-1", t, boxes=True), "invalid_data", ("boxes", "wrong_type")),
        (
            lambda t: event("x", "recycling.box", "u-1", t, boxes=1, colour="red"),
            "invalid_data",
            ("colour", "unknown_field"),
        ),
        (lambda t: event("x", "recycling.box", "u-1", t, boxes=10**18), "invalid_data", ("boxes", "out_of_bounds")),
        (lambda t: event("x", "recycling.box", "u-1", t + timedelta(minutes=16), boxes=1), "in_future", None),
        (lambda t: event("x", "recycling.box", "u-1", t - timedelta(days=7, minutes=1), boxes=1), "too_late", None),
        (lambda t: event("x", "walking.steps", "u-1", t, steps=250_000), "implausible", None),
    ],
)
def test_each_rejection_reason(post, runtime: Runtime, earlier, item, reason: str, detail) -> None:
    answer = post(item(earlier()))
    (result,) = answer["results"]
    assert (result["status"], result["reason"]) == ("rejected", reason), result
    assert result["energy_g"] is None and result["transaction_id"] is None
    assert result["message"]
    if detail is not None:
        assert (result["details"]["field"], result["details"]["reason"]) == detail
    assert counts(runtime) == (0, 0)


def test_type_not_allowed_for_this_source(client: TestClient, runtime: Runtime, earlier) -> None:
    headers = bearer(runtime, "source", "hema", allow=["retail.no_bag"])
    body = {
        "events": [
            event("h-1", "retail.no_bag", "u-1", earlier()),
            event("h-2", "recycling.box", "u-1", earlier(), boxes=1),
        ]
    }
    results = client.post("/v1/events", json=body, headers=headers).json()["results"]
    assert [(r["status"], r["reason"]) for r in results] == [("accepted", None), ("rejected", "type_not_allowed")]


def test_blocked_user_is_rejected_and_unblocking_restores(post, runtime: Runtime, earlier) -> None:
    moderation.block(runtime, "u-bad", reason="fraud ring", by="ops")
    assert post(event("b-1", "recycling.box", "u-bad", earlier(), boxes=1))["results"][0]["reason"] == "user_blocked"
    moderation.unblock(runtime, "u-bad")
    assert post(event("b-1", "recycling.box", "u-bad", earlier(), boxes=1))["results"][0]["status"] == "accepted"


def test_burst_above_the_hourly_limit_is_implausible(post, runtime: Runtime, clock: ManualClock) -> None:
    hour = clock.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    limit = runtime.settings.max_events_per_hour
    items = [event(f"t-{n}", "transit.bus", "u-1", hour + timedelta(seconds=n)) for n in range(limit + 2)]
    results = post(*items)["results"]
    assert [r["status"] for r in results].count("accepted") == limit
    assert [r["reason"] for r in results[limit:]] == ["implausible", "implausible"]
    again = post(event("t-late", "transit.bus", "u-1", hour + timedelta(minutes=59)))["results"][0]
    assert again["reason"] == "implausible"  # counted across requests from what is stored


def test_a_batch_mixing_good_and_bad_keeps_every_good_one(post, runtime: Runtime, earlier) -> None:
    items = [
        event("g-1", "recycling.box", "u-1", earlier(), boxes=1),
        event("b-1", "recycling.box", "u-1", earlier(), boxes="one"),
        event("g-2", "payment.offline", "u-2", earlier(), amount_fen=1200),
        event("b-2", "teleport", "u-2", earlier()),
        event("g-3", "transit.metro", "u-3", earlier()),
        event("b-3", "transit.metro", "u-3", earlier() + timedelta(hours=1)),
    ]
    answer = post(*items)
    assert [r["status"] for r in answer["results"]] == [
        "accepted",
        "rejected",
        "accepted",
        "rejected",
        "accepted",
        "rejected",
    ]
    assert (answer["accepted"], answer["rejected"]) == (3, 3)
    assert counts(runtime) == (3, 3)
    assert pending_g(runtime, "u-3") == 52


def test_data_outside_the_contract_bounds_is_rejected_and_the_rest_kept(post, runtime: Runtime, earlier) -> None:
    answer = post(
        event("z-1", "recycling.box", "u-1", earlier(), boxes=0),
        event("g-1", "recycling.box", "u-1", earlier(), boxes=1),
    )
    zero, good = answer["results"]
    assert (zero["event_id"], zero["status"], zero["reason"]) == ("z-1", "rejected", "invalid_data")
    assert zero["details"] == {"field": "boxes", "reason": "out_of_bounds"}
    assert "field 'boxes' must be at least 1, got 0" in zero["message"]
    assert (zero["energy_g"], zero["transaction_id"]) == (None, None)
    assert (good["event_id"], good["status"], good["energy_g"]) == ("g-1", "accepted", 37)
    assert (answer["accepted"], answer["rejected"]) == (1, 1)
    assert counts(runtime) == (1, 1)
    assert pending_g(runtime, "u-1") == 37
    for kind, data in (
        ("recycling.clothes", {"weight_g": 0}),
        ("office.paperless", {"pages": 0}),
        ("payment.offline", {"amount_fen": -1}),
        ("toll.etc", {"amount_fen": -5}),
    ):
        (result,) = post(event(f"x-{kind}", kind, "u-2", earlier(), **data))["results"]
        assert (result["status"], result["reason"]) == ("rejected", "invalid_data"), kind
        assert result["details"] == {"field": next(iter(data)), "reason": "out_of_bounds"}, kind
    assert counts(runtime) == (1, 1)


def test_zero_gram_events_are_accepted_without_a_transaction(post, runtime: Runtime, earlier) -> None:
    result = post(event("p-1", "payment.offline", "u-1", earlier(), amount_fen=50))["results"][0]
    assert (result["status"], result["energy_g"], result["transaction_id"]) == ("accepted", 0, None)
    assert counts(runtime) == (1, 0)


def test_malformed_bodies_are_422_and_store_nothing(client: TestClient, source, runtime: Runtime, earlier) -> None:
    good = event("g-1", "recycling.box", "u-1", earlier(), boxes=1)
    naive = dict(good, event_id="n-1", occurred_at="2026-11-20T09:00:00")
    bad_bodies = [
        b"not json",
        b"[]",
        {"events": "nope"},
        {"evnts": [good]},
        {"events": [good, {"event_id": "x"}]},
        {"events": [good, naive]},
        {"events": [good, dict(good, event_id="bad id")]},
        {"events": [good, dict(good, event_id="y", user_id=42)]},
        {"events": [good, dict(good, event_id="z", data=[1, 2])]},
        # occurred_at must be an ISO 8601 string: lax parsing read numbers as Unix seconds.
        {"events": [good, dict(good, event_id="t-1", occurred_at=1763600000)]},
        {"events": [good, dict(good, event_id="t-2", occurred_at="1763600000")]},
        {"events": [good, dict(good, event_id=12345)]},
    ]
    for body in bad_bodies:
        if isinstance(body, bytes):
            response = client.post("/v1/events", content=body, headers={**source, "content-type": "application/json"})
        else:
            response = client.post("/v1/events", json=body, headers=source)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["code"] == ("invalid_json" if body == b"not json" else "invalid_request")
    assert counts(runtime) == (0, 0)


def test_more_than_ten_thousand_events_is_413(client: TestClient, source, runtime: Runtime, earlier) -> None:
    moment = earlier().isoformat()
    items = [
        {"event_id": f"e{n}", "type": "transit.bus", "user_id": "u-1", "occurred_at": moment} for n in range(10_001)
    ]
    response = client.post("/v1/events", json={"events": items}, headers=source)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_many_events"
    assert counts(runtime) == (0, 0)


def test_an_oversized_body_is_413(client: TestClient, source) -> None:
    response = client.post(
        "/v1/events",
        content=b"{" + b" " * (33 * 1024 * 1024) + b"}",
        headers={**source, "content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


def test_only_sources_may_post(client: TestClient, runtime: Runtime, earlier) -> None:
    body = {"events": [event("e", "recycling.box", "u-1", earlier(), boxes=1)]}
    assert client.post("/v1/events", json=body).status_code == 401
    response = client.post("/v1/events", json=body, headers=bearer(runtime, "user", "u-1"))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "wrong_role"


def test_a_failure_mid_batch_leaves_nothing(
    post, client: TestClient, source, runtime: Runtime, earlier, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_args, **_kwargs) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(balls_repo, "insert_balls", explode)
    body = {"events": [event(f"e{n}", "recycling.box", f"u-{n}", earlier(), boxes=1) for n in range(5)]}
    response = client.post("/v1/events", json=body, headers=source)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert counts(runtime) == (0, 0)
    monkeypatch.undo()
    assert post(*body["events"])["accepted"] == 5
    assert verify(runtime).ok


def test_event_result_can_be_read_back_by_its_source_and_auditors(
    post, client: TestClient, source, runtime: Runtime, earlier
) -> None:
    result = post(event("e-1", "recycling.box", "u-1", earlier(), boxes=3))["results"][0]
    read = client.get("/v1/sources/cainiao/events/e-1", headers=source).json()
    assert {k: read[k] for k in ("event_id", "status", "energy_g", "rule", "transaction_id", "reason")} == {
        "event_id": "e-1",
        "status": "accepted",
        "energy_g": 111,
        "rule": result["rule"],
        "transaction_id": result["transaction_id"],
        "reason": None,
    }
    assert client.get("/v1/sources/cainiao/events/e-1", headers=bearer(runtime, "auditor", "a")).status_code == 200
    other = client.get("/v1/sources/cainiao/events/e-1", headers=bearer(runtime, "source", "hema"))
    assert (other.status_code, other.json()["error"]["code"]) == (403, "not_yours")
    missing = client.get("/v1/sources/cainiao/events/nope", headers=source)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "event_not_found")


def test_a_rejected_event_reads_back_as_its_latest_rejection_until_accepted(
    post, client: TestClient, source, runtime: Runtime, earlier
) -> None:
    answer = post(event("r-1", "recycling.box", "u-1", earlier(), boxes="two"))["results"][0]
    read = client.get("/v1/sources/cainiao/events/r-1", headers=source)
    assert read.status_code == 200
    body = read.json()
    assert (body["status"], body["reason"], body["energy_g"], body["transaction_id"]) == (
        "rejected",
        "invalid_data",
        None,
        None,
    )
    assert body["message"] == answer["message"] and body["details"] == answer["details"]
    # Rejected again for another reason: the latest rejection is what reads back.
    post(event("r-1", "recycling.box", "u-1", earlier(minutes=60 * 24 * 8), boxes=1))
    assert client.get("/v1/sources/cainiao/events/r-1", headers=source).json()["reason"] == "too_late"
    # Corrected and re-sent: accepted, and from now on the accepted result reads back.
    accepted = post(event("r-1", "recycling.box", "u-1", earlier(), boxes=1))["results"][0]
    assert accepted["status"] == "accepted"
    read = client.get("/v1/sources/cainiao/events/r-1", headers=source).json()
    assert (read["status"], read["energy_g"], read["transaction_id"]) == ("accepted", 37, accepted["transaction_id"])
    # Another source's rejections are its own.
    hema = bearer(runtime, "source", "hema")
    assert client.get("/v1/sources/hema/events/r-1", headers=hema).status_code == 404


def test_admin_blocks_over_http(client: TestClient, runtime: Runtime, post, earlier) -> None:
    admin = bearer(runtime, "admin", "ops")
    response = client.post("/v1/admin/users/u-9/block", json={"reason": "bot"}, headers=admin)
    assert response.json() == {"user_id": "u-9", "blocked": True, "changed": True}
    assert client.post("/v1/admin/users/u-9/block", json={"reason": "bot"}, headers=admin).json()["changed"] is False
    assert client.post("/v1/admin/users/u-9/block", json={}, headers=admin).status_code == 422
    assert (
        client.post(
            "/v1/admin/users/u-9/block", json={"reason": "x"}, headers=bearer(runtime, "auditor", "a")
        ).status_code
        == 403
    )
    assert post(event("e", "recycling.box", "u-9", earlier(), boxes=1))["results"][0]["reason"] == "user_blocked"
    assert client.delete("/v1/admin/users/u-9/block", headers=admin).json()["blocked"] is False


@pytest.mark.parametrize(
    ("reason", "code", "details"),
    [
        ("   ", "invalid_reason", {"field": "reason"}),
        ("\t\n", "invalid_reason", {"field": "reason"}),
        (
            "x" * 301,
            "invalid_request",
            {"problems": [{"field": "reason", "problem": "String should have at most 300 characters"}]},
        ),
    ],
)
def test_a_block_without_a_usable_reason_is_refused_and_blocks_nothing(
    client: TestClient, runtime: Runtime, post, earlier, reason: str, code: str, details: dict
) -> None:
    admin = bearer(runtime, "admin", "ops")
    response = client.post("/v1/admin/users/u-9/block", json={"reason": reason}, headers=admin)
    assert response.status_code == 422
    assert (response.json()["error"]["code"], response.json()["error"]["details"]) == (code, details)
    assert post(event("e", "recycling.box", "u-9", earlier(), boxes=1))["results"][0]["status"] == "accepted"


def test_the_service_refuses_a_blank_reason_for_every_shell(runtime: Runtime) -> None:
    with pytest.raises(InvalidInput) as refused:
        moderation.block(runtime, "u-9", reason="  ", by="cli")
    assert (refused.value.code, refused.value.details) == ("invalid_reason", {"field": "reason"})
    assert moderation.block(runtime, "u-9", reason="chargeback fraud", by="cli") is True


def test_the_same_batch_sent_concurrently_is_scored_once(runtime: Runtime, earlier) -> None:
    """Duplicates are looked up before the write lock; a batch that loses the race to commit
    the same (source, event_id) is retried and answers duplicates -- never two mints."""
    import threading

    from greenenergy.services.ingest import IncomingEvent, ingest

    users = [f"u-{n}" for n in range(40)]  # many shards, so the batches overlap on most heads
    batch = [IncomingEvent(f"race-{n}", "recycling.box", user, earlier(), {"boxes": 1}) for n, user in enumerate(users)]
    answers: list[list[str]] = []
    barrier = threading.Barrier(6)

    def send() -> None:
        barrier.wait()
        summary = ingest(runtime, source_id="cainiao", events=batch)
        answers.append([r.status for r in summary.results])

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 6
    for position in range(len(batch)):
        assert sorted(a[position] for a in answers) == ["accepted"] + ["duplicate"] * 5
    assert counts(runtime) == (len(batch), len(batch))
    assert sum(pending_g(runtime, u) for u in users) == 37 * len(users)
    assert verify(runtime).ok
