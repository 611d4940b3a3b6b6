"""GET /v1/users/{id}/transactions: newest first, one item per posting, paged by transaction."""

from __future__ import annotations

from fastapi.testclient import TestClient

from greenenergy.clock import ManualClock
from greenenergy.ledger import transfer, user_account
from greenenergy.services import ledger
from greenenergy.services.runtime import Runtime
from greenenergy.units import shard_of
from tests.helpers import bearer


def test_history_pages_newest_first(client: TestClient, runtime: Runtime, clock: ManualClock) -> None:
    shard = shard_of("u-1")
    pending, available = user_account("u-1", "pending"), user_account("u-1", "available")
    ids = []
    for grams in (5, 7):
        ids.append(
            ledger.post_one(
                runtime,
                transfer(
                    "mint", debit="mint:r", credit=pending, energy_g=grams, shard=shard, refs={"event": f"e{grams}"}
                ),
            ).id
        )
        clock.advance(minutes=1)
    ids.append(
        ledger.post_one(runtime, transfer("collect", debit=pending, credit=available, energy_g=12, shard=shard)).id
    )
    headers = bearer(runtime, "user", "u-1")
    page = client.get("/v1/users/u-1/transactions?limit=2", headers=headers).json()
    assert [(i["transaction_id"], i["account"], i["energy_g"]) for i in page] == [
        (ids[2], pending, -12),
        (ids[2], available, 12),
        (ids[1], pending, 7),
    ]
    assert page[2]["refs"] == {"event": "e7"}
    assert page[2]["kind"] == "mint"
    rest = client.get(f"/v1/users/u-1/transactions?limit=2&after={ids[1]}", headers=headers).json()
    assert [(i["transaction_id"], i["energy_g"]) for i in rest] == [(ids[0], 5)]
