"""CLI: init is idempotent, token create prints only the token, list hides secrets, revoke."""

from __future__ import annotations

import re

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel
from typer.testing import CliRunner

from greenenergy.cli.main import app
from greenenergy.db.migrate import current_revision, head_revision
from greenenergy.services.runtime import Runtime
from greenenergy.services.tokens import resolve_token

TOKEN_RE = re.compile(r"ge_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")


def invoke(runtime: Runtime, *args: str):
    return CliRunner().invoke(app, list(args), env={"GREENENERGY_DATABASE_URL": runtime.settings.database_url})


def test_init_twice_is_a_no_op_and_schema_matches_the_models(runtime: Runtime) -> None:
    first = invoke(runtime, "init")
    assert first.exit_code == 0, first.output
    second = invoke(runtime, "init")
    assert second.exit_code == 0
    assert "is up to date" in second.output
    assert current_revision(runtime.engine) == head_revision()
    with runtime.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), SQLModel.metadata)
    assert diff == []


def test_token_create_prints_the_token_and_nothing_else(runtime: Runtime) -> None:
    result = invoke(
        runtime,
        "token",
        "create",
        "--role",
        "source",
        "--subject",
        "cainiao",
        "--allow",
        "recycling.box",
        "--allow",
        "logistics.e_waybill",
    )
    assert result.exit_code == 0, result.output
    assert TOKEN_RE.fullmatch(result.stdout.strip())
    assert result.stdout.count("\n") == 1
    principal = resolve_token(runtime, result.stdout.strip())
    assert (principal.role, principal.subject) == ("source", "cainiao")
    assert principal.allowed_types == frozenset({"recycling.box", "logistics.e_waybill"})


def test_token_create_refuses_bad_input_with_a_message_not_a_traceback(runtime: Runtime) -> None:
    cases = [
        (["--role", "root", "--subject", "x"], "unknown role 'root'"),
        (["--role", "user", "--subject", "has space"], "is not a valid id"),
        (["--role", "user", "--subject", "u-1", "--allow", "payment.offline"], "applies to role source only"),
    ]
    for extra, message in cases:
        result = invoke(runtime, "token", "create", *extra)
        assert result.exit_code == 2
        assert message in result.output
        assert "Traceback" not in result.output


def test_token_list_never_shows_secrets_and_revoke_marks_it(runtime: Runtime) -> None:
    token = invoke(runtime, "token", "create", "--role", "user", "--subject", "u-9").stdout.strip()
    listing = invoke(runtime, "token", "list").output
    token_id = token.split("_")[1]
    assert token_id in listing
    assert token.split("_", 2)[2] not in listing
    revoked = invoke(runtime, "token", "revoke", token_id)
    assert revoked.exit_code == 0
    assert "revoked" in invoke(runtime, "token", "list").output
    missing = invoke(runtime, "token", "revoke", "nope")
    assert missing.exit_code == 2
    assert "no token with id 'nope'" in missing.output


def test_user_block_needs_a_reason_and_then_blocks(runtime: Runtime) -> None:
    from greenenergy.db import events_repo
    from greenenergy.db.engine import read_tx

    result = invoke(runtime, "user", "block", "u-7", "--reason", " ")
    assert result.exit_code == 2
    assert "error: a block needs a reason" in result.output
    assert "Traceback" not in result.output
    with read_tx(runtime.engine) as connection:
        assert events_repo.blocked_users(connection, ["u-7"]) == set()
    result = invoke(runtime, "user", "block", "u-7", "--reason", "bot farm")
    assert (result.exit_code, result.output) == (0, "blocked u-7\n")
    with read_tx(runtime.engine) as connection:
        assert events_repo.blocked_users(connection, ["u-7"]) == {"u-7"}
