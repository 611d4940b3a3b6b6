"""CONTRACT.md end to end over real HTTP: a uvicorn server, the real clock, one story.

A source sends events; the user sees energy and ripe balls, collects, befriends a friend
who steals and waters; the user plants a saxaul; the partner sees the order and confirms
it with a point inside the plot; the certificate is public; the auditor reads; the ledger
verifies. Every answer is checked against the shapes CONTRACT.md promises.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2 as httpx
import pytest

from greenenergy.ledger import transfer, user_account
from greenenergy.services import ledger
from greenenergy.services.audit.verify import verify
from greenenergy.services.planting import catalog as planting_catalog
from greenenergy.services.runtime import Runtime
from greenenergy.services.tokens import create_token
from greenenergy.units import shard_of

PROJECT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(runtime: Runtime) -> Iterator[str]:
    port = free_port()
    env = dict(
        os.environ,
        GREENENERGY_DATABASE_URL=runtime.settings.database_url,
        GREENENERGY_SCHEDULER="off",
        GREENENERGY_CATALOG_DIR=str(PROJECT),
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "greenenergy.api.asgi:app_from_env",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=PROJECT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            raise AssertionError("the server did not start")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def auth(runtime: Runtime, role: str, subject: str) -> dict[str, str]:
    token, _ = create_token(runtime, role=role, subject=subject)
    return {"Authorization": f"Bearer {token}"}


def test_the_contract_story_over_http(server: str, runtime: Runtime) -> None:
    now = datetime.now(UTC)
    source, alice, bob = (
        auth(runtime, "source", "cainiao"),
        auth(runtime, "user", "u-alice"),
        auth(runtime, "user", "u-bob"),
    )
    auditor = auth(runtime, "auditor", "a-1")
    with httpx.Client(base_url=server, timeout=30) as http:
        # Business unit: events that arrived late are ripe at once (visible when ingested).
        two_days_ago = (now - timedelta(days=2)).isoformat()
        body = {
            "events": [
                {
                    "event_id": "cn-1",
                    "type": "recycling.box",
                    "user_id": "u-alice",
                    "occurred_at": two_days_ago,
                    "data": {"boxes": 2},
                },
                {
                    "event_id": "cn-2",
                    "type": "recycling.box",
                    "user_id": "u-alice",
                    "occurred_at": two_days_ago,
                    "data": {"boxes": "two"},
                },
            ]
        }
        answer = http.post("/v1/events", json=body, headers=source)
        assert answer.status_code == 200
        payload = answer.json()
        assert (payload["accepted"], payload["duplicates"], payload["rejected"]) == (1, 0, 1)
        first, second = payload["results"]
        assert set(first) >= {"event_id", "status", "energy_g", "rule", "transaction_id", "reason"}
        assert (first["status"], first["energy_g"], second["reason"]) == ("accepted", 74, "invalid_data")
        again = http.post("/v1/events", json=body, headers=source).json()["results"][0]
        assert (again["status"], again["energy_g"], again["rule"]) == ("duplicate", 74, first["rule"])
        assert http.get("/v1/sources/cainiao/events/cn-1", headers=source).json()["energy_g"] == 74

        # User: energy, balls, collect.
        energy = http.get("/v1/users/u-alice/energy", headers=alice).json()
        assert energy == {"user_id": "u-alice", "available_g": 0, "pending_g": 74, "lifetime_g": 74, "trees": 0} | {
            k: v for k, v in energy.items() if k not in {"user_id", "available_g", "pending_g", "lifetime_g", "trees"}
        }
        balls = http.get("/v1/users/u-alice/balls", headers=alice).json()
        (ball,) = balls
        assert set(ball) >= {"ball_id", "energy_g", "remaining_g", "status", "ripens_at", "expires_at", "event_type"}
        assert (ball["status"], ball["energy_g"], ball["event_type"]) == ("ripe", 74, "recycling.box")

        # Friends: mutual, then bob steals a little and waters back.
        assert http.post("/v1/users/u-alice/friends", json={"friend_id": "u-bob"}, headers=alice).status_code in (
            200,
            201,
        )
        refused = http.post(f"/v1/users/u-alice/balls/{ball['ball_id']}/steal", headers=bob)
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "not_friends")
        assert http.post("/v1/users/u-bob/friends", json={"friend_id": "u-alice"}, headers=bob).status_code in (
            200,
            201,
        )
        friends = http.get("/v1/users/u-alice/friends", headers=alice).json()
        assert any(f.get("friend_id") == "u-bob" for f in friends)
        stolen = http.post(f"/v1/users/u-alice/balls/{ball['ball_id']}/steal", headers=bob)
        assert stolen.status_code == 200, stolen.text
        stolen_g = stolen.json()["stolen_g"]
        assert 1 <= stolen_g <= 37
        collected = http.post(f"/v1/users/u-alice/balls/{ball['ball_id']}/collect", headers=alice)
        assert collected.status_code == 200
        assert collected.json()["collected_g"] == 74 - stolen_g
        twice = http.post(f"/v1/users/u-alice/balls/{ball['ball_id']}/collect", headers=alice)
        assert (twice.status_code, twice.json()["error"]["code"]) == (409, "already_collected")
        poor_water = http.post("/v1/users/u-bob/water", json={"friend_id": "u-alice", "energy_g": 66}, headers=bob)
        assert (poor_water.status_code, poor_water.json()["error"]["code"]) == (409, "insufficient_energy")
        ledger.post_one(
            runtime,
            transfer(
                "mint",
                debit="mint:test",
                credit=user_account("u-bob", "available"),
                energy_g=100,
                shard=shard_of("u-bob"),
            ),
        )
        watered = http.post("/v1/users/u-bob/water", json={"friend_id": "u-alice", "energy_g": 10}, headers=bob)
        assert watered.status_code in (200, 201), watered.text
        odd = http.post("/v1/users/u-bob/water", json={"friend_id": "u-alice", "energy_g": 11}, headers=bob)
        assert (odd.status_code, odd.json()["error"]["code"]) == (422, "invalid_amount")
        all_balls = http.post("/v1/users/u-alice/balls/collect-all", headers=alice).json()
        assert all_balls["collected_g"] == 10 and all_balls["balls"] == 1
        assert http.get("/v1/users/u-bob/energy", headers=alice).status_code == 403

        # Planting: not enough energy, then enough (a grant through the ledger), redeem.
        poor = http.post("/v1/users/u-alice/trees", json={"species_id": "saxaul"}, headers=alice)
        assert (poor.status_code, poor.json()["error"]["code"]) == (409, "insufficient_energy")
        ledger.post_one(
            runtime,
            transfer(
                "mint",
                debit="mint:test",
                credit=user_account("u-alice", "available"),
                energy_g=20_000,
                shard=shard_of("u-alice"),
            ),
        )
        tree = http.post("/v1/users/u-alice/trees", json={"species_id": "saxaul"}, headers=alice)
        assert tree.status_code == 201, tree.text
        tree = tree.json()
        assert set(tree) >= {"tree_id", "species_id", "plot_id", "energy_g", "status", "redeemed_at"}
        assert (tree["species_id"], tree["energy_g"], tree["status"]) == ("saxaul", 17_900, "awaiting_planting")
        species = {s["species_id"]: s for s in http.get("/v1/species").json()}
        assert species["saxaul"]["energy_g"] == 17_900
        plots = {p["plot_id"]: p for p in http.get("/v1/plots").json()}
        plot = plots[tree["plot_id"]]
        assert plot["geometry"]["type"] == "Polygon" and plot["reserved"] >= 1
        assert set(plot) >= {
            "plot_id",
            "partner_id",
            "name",
            "region",
            "geometry",
            "species",
            "capacity",
            "planted",
            "reserved",
        }

        # Partner: the order, a confirmation outside the plot (422), inside (201), again (409).
        partner_id = plot["partner_id"]
        partner = auth(runtime, "partner", partner_id)
        orders = http.get(f"/v1/partners/{partner_id}/orders?status=pending", headers=partner).json()
        (order,) = [o for o in orders if o["tree_id"] == tree["tree_id"]]
        assert set(order) >= {"order_id", "tree_id", "plot_id", "species_id", "redeemed_at", "deadline", "status"}
        inside = planting_catalog.catalog(runtime).get_plot(plot["plot_id"]).polygon.representative_point()
        report = {
            "tree_id": tree["tree_id"],
            "planted_at": datetime.now(UTC).isoformat(),
            "latitude": inside.y,
            "longitude": inside.x,
            "species_id": "saxaul",
            "photo_sha256": hashlib.sha256(b"photo").hexdigest(),
            "tag": "T-0001",
        }
        outside = http.post(
            f"/v1/partners/{partner_id}/plantings", json=report | {"latitude": 10.0, "longitude": 10.0}, headers=partner
        )
        assert (outside.status_code, outside.json()["error"]["code"]) == (422, "outside_plot")
        other = auth(runtime, "partner", "nobody-else")
        assert http.post(f"/v1/partners/{partner_id}/plantings", json=report, headers=other).status_code == 403
        confirmed = http.post(f"/v1/partners/{partner_id}/plantings", json=report, headers=partner)
        assert confirmed.status_code == 201, confirmed.text
        certificate_no = confirmed.json()["certificate_no"]
        repeat = http.post(f"/v1/partners/{partner_id}/plantings", json=report, headers=partner)
        assert (repeat.status_code, repeat.json()["error"]["code"]) == (409, "already_planted")

        # Everyone: the certificate; the user: trees and statement; the auditor: reads.
        certificate = http.get(f"/v1/certificates/{certificate_no}")
        assert certificate.status_code == 200
        proof = certificate.json()
        assert (proof["tree_id"], proof["hash_verified"]) == (tree["tree_id"], True)
        assert proof["ledger_tx_id"] and proof["confirmation_id"] and len(proof["certificate_hash"]) == 64
        trees = http.get("/v1/users/u-alice/trees", headers=alice).json()
        assert [(t["tree_id"], t["status"], t["certificate_no"]) for t in trees] == [
            (tree["tree_id"], "planted", certificate_no)
        ]
        statement = http.get(f"/v1/users/u-alice/statement?year={now.year}", headers=alice)
        assert statement.status_code == 200
        assert http.get("/v1/users/u-alice/transactions", headers=auditor).status_code == 200
        assert http.get("/v1/users/u-alice/balls", headers=auditor).status_code == 200
        assert http.get("/v1/nowhere").json()["error"]["code"] == "not_found"
    report = verify(runtime)
    assert report.ok, report.findings[:3]
