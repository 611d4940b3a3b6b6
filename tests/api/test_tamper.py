"""`greenenergy audit verify`: exit 0 when untouched; exit 1 naming a changed, deleted or
inserted ledger row (edited directly in the database, as an attacker with SQL access would)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from greenenergy.cli.main import app
from greenenergy.db.engine import write_tx
from greenenergy.ledger import ChainRecord, PostedTransaction, transfer, user_account
from greenenergy.services import demo, ledger
from greenenergy.services.runtime import Runtime
from greenenergy.units import shard_of

USER = "u-tamper"


def run_verify(runtime: Runtime) -> tuple[int, str]:
    result = CliRunner().invoke(
        app, ["audit", "verify"], env={"GREENENERGY_DATABASE_URL": runtime.settings.database_url}
    )
    return result.exit_code, result.output


@pytest.fixture
def posted(runtime: Runtime) -> list[PostedTransaction]:
    drafts = [
        transfer(
            "mint",
            debit="mint:test",
            credit=user_account(USER, "available"),
            energy_g=10 * (n + 1),
            shard=shard_of(USER),
            refs={"event": f"e{n}"},
        )
        for n in range(4)
    ]
    return ledger.post(runtime, drafts)


def test_untouched_ledger_verifies(runtime: Runtime, posted: list[PostedTransaction]) -> None:
    code, output = run_verify(runtime)
    assert code == 0, output
    assert "intact: 4 transactions in 1 shards" in output


def test_changed_posting_amount_is_named(runtime: Runtime, posted: list[PostedTransaction]) -> None:
    victim = posted[1]
    with write_tx(runtime.engine) as connection:
        connection.execute(
            text("UPDATE ledger_postings SET energy_g = energy_g + 1000 WHERE transaction_id = :id AND energy_g > 0"),
            {"id": victim.id},
        )
        connection.execute(
            text("UPDATE ledger_postings SET energy_g = energy_g - 1000 WHERE transaction_id = :id AND energy_g < 0"),
            {"id": victim.id},
        )
    code, output = run_verify(runtime)
    assert code == 1
    assert f"TAMPERED: transaction {victim.id}" in output
    assert "was altered" in output


def test_changed_reference_is_named(runtime: Runtime, posted: list[PostedTransaction]) -> None:
    victim = posted[2]
    with write_tx(runtime.engine) as connection:
        connection.execute(
            text("UPDATE ledger_transactions SET refs = :refs WHERE id = :id"),
            {"refs": json.dumps({"event": "someone-else"}), "id": victim.id},
        )
    code, output = run_verify(runtime)
    assert code == 1
    assert f"transaction {victim.id}" in output.splitlines()[0]


def test_deleted_transaction_is_found_at_the_gap(runtime: Runtime, posted: list[PostedTransaction]) -> None:
    victim, successor = posted[1], posted[2]
    with write_tx(runtime.engine) as connection:
        connection.execute(text("DELETE FROM ledger_postings WHERE transaction_id = :id"), {"id": victim.id})
        connection.execute(text("DELETE FROM ledger_transactions WHERE id = :id"), {"id": victim.id})
    code, output = run_verify(runtime)
    assert code == 1
    assert f"expected seq {victim.seq} but found {successor.seq} (transaction {successor.id})" in output


def test_inserted_transaction_is_named(runtime: Runtime, posted: list[PostedTransaction]) -> None:
    last = posted[-1]
    forged = ChainRecord(
        id="f" * 32,
        shard=last.shard,
        seq=last.seq + 1,
        kind="mint",
        created_at=last.created_at,
        idempotency_key=None,
        reverses=None,
        refs={"event": "forged"},
        postings=(("mint:test", last.shard, -500), (user_account(USER, "available"), last.shard, 500)),
        prev_hash=last.hash,
    )
    with write_tx(runtime.engine) as connection:
        connection.execute(
            text(
                "INSERT INTO ledger_transactions (id, shard, seq, kind, created_at, refs, prev_hash, hash) "
                "VALUES (:id, :shard, :seq, 'mint', :created_at, :refs, :prev, :hash)"
            ),
            {
                "id": forged.id,
                "shard": forged.shard,
                "seq": forged.seq,
                "created_at": last.created_at.replace(tzinfo=None)
                if runtime.engine.dialect.name == "sqlite"
                else last.created_at,
                "refs": json.dumps({"event": "forged"}),
                "prev": forged.prev_hash,
                "hash": forged.computed_hash(),
            },
        )
        for idx, (account, shard, grams) in enumerate(forged.postings):
            connection.execute(
                text(
                    "INSERT INTO ledger_postings (transaction_id, idx, account, shard, energy_g, created_at) "
                    "VALUES (:id, :idx, :account, :shard, :grams, :created_at)"
                ),
                {
                    "id": forged.id,
                    "idx": idx,
                    "account": account,
                    "shard": shard,
                    "grams": grams,
                    "created_at": last.created_at.replace(tzinfo=None)
                    if runtime.engine.dialect.name == "sqlite"
                    else last.created_at,
                },
            )
    code, output = run_verify(runtime)
    assert code == 1
    assert f"transaction {forged.id}" in output.splitlines()[0]
    assert "inserted" in output


def test_edited_cached_balance_is_named(runtime: Runtime, posted: list[PostedTransaction]) -> None:
    with write_tx(runtime.engine) as connection:
        connection.execute(
            text("UPDATE ledger_balances SET balance_g = balance_g + 1 WHERE account = :a"),
            {"a": user_account(USER, "available")},
        )
    code, output = run_verify(runtime)
    assert code == 1
    assert f"balance of user:{USER}:available" in output


def test_changed_planting_confirmation_is_named(runtime: Runtime) -> None:
    demo.load(runtime)
    assert run_verify(runtime)[0] == 0
    with write_tx(runtime.engine) as connection:
        victim = connection.execute(
            text("SELECT id FROM planting_confirmations WHERE kind = 'planting' ORDER BY seq LIMIT 1")
        ).scalar_one()
        connection.execute(
            text("UPDATE planting_confirmations SET latitude = '38.0000000' WHERE id = :id"), {"id": victim}
        )
    code, output = run_verify(runtime)
    assert code == 1
    assert f"confirmation {victim}" in output
