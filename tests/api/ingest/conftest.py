"""Fixtures for ingestion tests: a source token and a helper to post events."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from greenenergy.clock import ManualClock
from greenenergy.services.runtime import Runtime
from tests.helpers import bearer


def event(event_id: str, event_type: str, user_id: str, occurred_at: datetime, **data: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": event_type,
        "user_id": user_id,
        "occurred_at": occurred_at.isoformat(),
        "data": data,
    }


@pytest.fixture
def source(runtime: Runtime) -> dict[str, str]:
    return bearer(runtime, "source", "cainiao")


@pytest.fixture
def post(client: TestClient, source: dict[str, str]):
    def _post(*events: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
        response = client.post("/v1/events", json={"events": list(events)}, headers=headers or source)
        assert response.status_code == 200, response.text
        return response.json()

    return _post


@pytest.fixture
def earlier(clock: ManualClock):
    """An instant ``minutes`` before now (events must not be in the future)."""
    return lambda minutes=10: clock.now() - timedelta(minutes=minutes)
