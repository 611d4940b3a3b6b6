"""A wrong-role 403 reads "an auditor token", "an admin token", "a user token"."""

from __future__ import annotations

from fastapi.testclient import TestClient

from greenenergy.services.runtime import Runtime
from tests.helpers import bearer


def test_the_wrong_role_message_takes_the_right_article(client: TestClient, runtime: Runtime) -> None:
    body = {"events": []}
    for role, subject, expected in (
        ("auditor", "a-1", "an auditor token"),
        ("admin", "root", "an admin token"),
        ("user", "u-1", "a user token"),
        ("partner", "north", "a partner token"),
    ):
        answer = client.post("/v1/events", json=body, headers=bearer(runtime, role, subject))
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"] == {
            "code": "wrong_role",
            "message": f"{expected} may not do this; it needs role source",
        }
    answer = client.get("/v1/audit/overdue-orders", headers=bearer(runtime, "source", "s-1"))
    assert answer.json()["error"]["message"] == "a source token may not do this; it needs role auditor or admin"
