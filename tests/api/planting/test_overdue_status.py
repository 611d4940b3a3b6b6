"""An order past its deadline reads ``overdue`` everywhere, whether or not the job has run.

Plot a-02 of the small catalog gives 30 days. Like a ball's status, an order's status is
derived from the reader's clock, and what the overdue job recorded stands -- even when the
job ran as of a later instant than the reader's clock (``greenenergy tick --now`` in another
process).
"""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from greenenergy.cli.main import app
from greenenergy.clock import ManualClock
from greenenergy.services.planting import redeem as planting_redeem
from greenenergy.services.runtime import Runtime
from tests.api.planting.conftest import SAXAUL_G, fund
from tests.helpers import bearer


def redeem(runtime: Runtime, user: str) -> str:
    fund(runtime, user, SAXAUL_G)
    return planting_redeem.redeem(runtime, user, "saxaul", "a-02").tree_id


def orders(client: TestClient, runtime: Runtime, status: str | None = None) -> list[dict]:
    query = f"?status={status}" if status else ""
    response = client.get(f"/v1/partners/north/orders{query}", headers=bearer(runtime, "partner", "north"))
    assert response.status_code == 200, response.text
    return response.json()


def audit(client: TestClient, runtime: Runtime) -> list[dict]:
    response = client.get("/v1/audit/overdue-orders", headers=bearer(runtime, "auditor", "a-1"))
    assert response.status_code == 200, response.text
    return response.json()


def test_an_order_the_tick_marked_overdue_reads_overdue_to_an_earlier_clock(
    client: TestClient, runtime: Runtime, clock: ManualClock
) -> None:
    tree = redeem(runtime, "u-1")
    deadline = clock.now() + timedelta(days=30)
    clock.advance(days=1)  # the API's clock: before the deadline
    tick_at = deadline + timedelta(days=10, hours=1)
    result = CliRunner().invoke(
        app, ["tick", "--now", tick_at.isoformat()], env={"GREENENERGY_DATABASE_URL": runtime.settings.database_url}
    )
    assert result.exit_code == 0, result.output
    marked = [line.rsplit(": ", 1)[1] for line in result.output.splitlines() if line.startswith("mark_overdue_orders")]
    assert marked == ["1"]

    [overdue] = orders(client, runtime, "overdue")
    assert (overdue["tree_id"], overdue["status"]) == (tree, "overdue")
    assert overdue["overdue_at"] is not None
    assert orders(client, runtime, "pending") == []
    assert [o["status"] for o in orders(client, runtime)] == ["overdue"]
    [listed] = audit(client, runtime)
    assert (listed["tree_id"], listed["days_overdue"]) == (tree, 10)


def test_an_order_past_its_deadline_is_overdue_before_the_job_runs(
    client: TestClient, runtime: Runtime, clock: ManualClock
) -> None:
    late = redeem(runtime, "u-1")
    clock.advance(days=5)
    on_time = redeem(runtime, "u-2")
    clock.advance(days=25, minutes=1)  # 1 minute past the first order's deadline

    assert [o["tree_id"] for o in orders(client, runtime, "overdue")] == [late]
    assert [o["tree_id"] for o in orders(client, runtime, "pending")] == [on_time]
    assert [(o["tree_id"], o["status"]) for o in orders(client, runtime)] == [
        (late, "overdue"),
        (on_time, "pending"),
    ]
    assert [(o["tree_id"], o["days_overdue"], o["overdue_at"]) for o in audit(client, runtime)] == [(late, 0, None)]

    clock.advance(days=7)  # days_overdue follows the read time; the second order is now late too
    assert [(o["tree_id"], o["days_overdue"]) for o in audit(client, runtime)] == [
        (late, 7),
        (on_time, 2),
    ]
