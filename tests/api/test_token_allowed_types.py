"""`token create --role source --allow TYPE` refuses a type that no rule in the catalog scores.

A typo would otherwise make every event of that source ``type_not_allowed``.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from greenenergy.cli.main import app
from greenenergy.errors import InvalidInput
from greenenergy.services.catalogs import rulebook
from greenenergy.services.runtime import Runtime
from greenenergy.services.tokens import create_token, list_tokens


def invoke(runtime: Runtime, *args: str):
    return CliRunner().invoke(app, list(args), env={"GREENENERGY_DATABASE_URL": runtime.settings.database_url})


def test_an_unknown_allowed_type_is_refused_naming_it_and_the_known_ones(runtime: Runtime) -> None:
    result = invoke(
        runtime,
        "token",
        "create",
        "--role",
        "source",
        "--subject",
        "s",
        "--allow",
        "recycling.box",
        "--allow",
        "no.such.type",
    )
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    known = sorted(rulebook(runtime).event_types)
    assert "recycling.box" in known
    assert result.stderr == (
        f"error: --allow 'no.such.type': no rule in the catalog scores this event type; "
        f"known types: {', '.join(known)}\n"
    )
    assert list_tokens(runtime) == []
    with pytest.raises(InvalidInput) as refused:
        create_token(runtime, role="source", subject="s", allow=["", "recycling.bx"])
    assert refused.value.code == "unknown_event_type"
    assert refused.value.details["types"] == ["", "recycling.bx"]


def test_known_types_still_make_a_token(runtime: Runtime) -> None:
    result = invoke(runtime, "token", "create", "--role", "source", "--subject", "s", "--allow", "transit.bus")
    assert result.exit_code == 0, result.output
    assert [info.allowed_types for info in list_tokens(runtime)] == [("transit.bus",)]
