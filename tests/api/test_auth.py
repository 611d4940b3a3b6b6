"""Bearer tokens over HTTP: 401/403 in the JSON error format, roles, revocation."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from greenenergy.clock import ManualClock
from greenenergy.services.runtime import Runtime
from greenenergy.services.tokens import create_token, revoke_token
from tests.helpers import bearer


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def test_healthz_needs_no_token(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_missing_token_is_401_with_the_contract_shape(client: TestClient) -> None:
    response = client.get("/v1/whoami")
    assert_error(response, 401, "missing_token")
    assert response.headers["www-authenticate"] == "Bearer"


def test_unknown_and_malformed_tokens_are_401(client: TestClient) -> None:
    assert_error(client.get("/v1/whoami", headers={"Authorization": "Bearer ge_nope_nope"}), 401, "invalid_token")
    assert_error(client.get("/v1/whoami", headers={"Authorization": "Bearer something"}), 401, "invalid_token")
    assert_error(client.get("/v1/whoami", headers={"Authorization": "Basic abc"}), 401, "missing_token")


def test_token_resolves_to_its_principal(client: TestClient, runtime: Runtime) -> None:
    response = client.get("/v1/whoami", headers=bearer(runtime, "source", "cainiao", allow=["recycling.box"]))
    assert response.status_code == 200
    assert response.json() == {
        "token_id": response.json()["token_id"],
        "role": "source",
        "subject": "cainiao",
        "allowed_types": ["recycling.box"],
    }


def test_revoked_token_stops_working_at_once(client: TestClient, runtime: Runtime) -> None:
    token, info = create_token(runtime, role="user", subject="u-1")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/v1/whoami", headers=headers).status_code == 200
    revoke_token(runtime, info.id)
    assert_error(client.get("/v1/whoami", headers=headers), 401, "token_revoked")


def test_expired_token_is_refused(client: TestClient, runtime: Runtime, clock: ManualClock) -> None:
    token, _ = create_token(runtime, role="user", subject="u-1", expires_at=clock.now() + timedelta(hours=1))
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/v1/whoami", headers=headers).status_code == 200
    clock.advance(hours=2)
    assert_error(client.get("/v1/whoami", headers=headers), 401, "token_expired")


def test_user_reads_only_own_history_auditor_reads_any(client: TestClient, runtime: Runtime) -> None:
    assert client.get("/v1/users/u-1/transactions", headers=bearer(runtime, "user", "u-1")).json() == []
    assert_error(client.get("/v1/users/u-2/transactions", headers=bearer(runtime, "user", "u-1")), 403, "not_yours")
    assert_error(client.get("/v1/users/u-2/transactions", headers=bearer(runtime, "source", "s")), 403, "wrong_role")
    assert client.get("/v1/users/u-2/transactions", headers=bearer(runtime, "auditor", "a")).status_code == 200


def test_bad_query_values_are_422_in_the_contract_shape(client: TestClient, runtime: Runtime) -> None:
    headers = bearer(runtime, "user", "u-1")
    assert_error(client.get("/v1/users/u-1/transactions?limit=0", headers=headers), 422, "invalid_request")
    assert_error(client.get("/v1/users/u-1/transactions?limit=abc", headers=headers), 422, "invalid_request")
    assert_error(client.get("/v1/users/u-1/transactions?after=nope", headers=headers), 404, "transaction_not_found")


def test_unknown_route_is_404_in_the_contract_shape(client: TestClient) -> None:
    assert_error(client.get("/v1/nowhere"), 404, "not_found")
    assert_error(client.post("/healthz"), 405, "method_not_allowed")
