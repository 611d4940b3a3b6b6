"""The `after` cursor of a user's history must be one of that user's own transactions.

Another user's transaction id is answered exactly like an unknown id (404
``transaction_not_found``): honouring it would page by a stranger's timestamp, and a
different answer would tell which ids exist.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from greenenergy.clock import ManualClock
from greenenergy.ledger import transfer, user_account
from greenenergy.services import ledger
from greenenergy.services.runtime import Runtime
from greenenergy.units import shard_of
from tests.helpers import bearer


def mint(runtime: Runtime, user: str, grams: int) -> str:
    return ledger.post_one(
        runtime,
        transfer("mint", debit="mint:r", credit=user_account(user, "pending"), energy_g=grams, shard=shard_of(user)),
    ).id


def test_another_users_transaction_is_not_a_cursor(client: TestClient, runtime: Runtime, clock: ManualClock) -> None:
    old = mint(runtime, "u-1", 5)
    clock.advance(minutes=1)
    strangers = mint(runtime, "u-2", 9)
    clock.advance(minutes=1)
    new = mint(runtime, "u-1", 7)
    for headers in (bearer(runtime, "user", "u-1"), bearer(runtime, "auditor", "a-1")):
        mine = client.get(f"/v1/users/u-1/transactions?after={new}", headers=headers)
        assert [i["transaction_id"] for i in mine.json()] == [old]
        answers = [
            client.get(f"/v1/users/u-1/transactions?after={cursor}", headers=headers)
            for cursor in (strangers, "0" * 32)
        ]
        for answer, cursor in zip(answers, (strangers, "0" * 32), strict=True):
            assert answer.status_code == 404, answer.text
            assert answer.json() == {
                "error": {
                    "code": "transaction_not_found",
                    "message": f"no transaction {cursor!r} in the history of user u-1 to continue after",
                }
            }
