"""CLI commands refuse a database or a file they cannot use with `error: ...` and exit 2.

A database that was never initialised (no file yet, or an empty one), one at an older
schema revision, and one that cannot be opened are named with what to run -- before any
output, and without creating an empty SQLite file. Unreadable event files (a folder, a
broken Parquet file, a JSONL line that is not UTF-8) never end in a traceback.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from typer.testing import CliRunner

from greenenergy.cli import main as cli
from greenenergy.db.engine import make_engine
from greenenergy.db.migrate import alembic_config, head_revision
from greenenergy.services.runtime import Runtime

NEEDS_SCHEMA = [
    ["token", "list"],
    ["token", "create", "--role", "user", "--subject", "u-1"],
    ["token", "revoke", "abc"],
    ["audit", "verify"],
    ["tick"],
    ["tick", "--now", "2026-11-24T07:00:00+08:00"],
    ["user", "block", "u-1", "--reason", "spam"],
    ["user", "unblock", "u-1"],
    ["serve"],
    ["scheduler"],
]


@pytest.fixture(autouse=True)
def never_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reaching the server or the scheduler loop means the database was not checked."""

    def reached(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the command ran on a database without the schema")

    monkeypatch.setattr(cli, "serve_forever", reached)
    monkeypatch.setattr(cli, "run_dedicated", reached)


def invoke(url: str, *args: str):
    return CliRunner().invoke(cli.app, list(args), env={"GREENENERGY_DATABASE_URL": url, "COLUMNS": "200"})


def events_file(tmp_path: Path) -> Path:
    path = tmp_path / "events.csv"
    moment = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    path.write_text(f"event_id,type,user_id,occurred_at,boxes\ne1,recycling.box,u-1,{moment},1\n")
    return path


@pytest.mark.parametrize("args", [*NEEDS_SCHEMA, ["ingest", "EVENTS", "--source", "s"]], ids=" ".join)
def test_a_database_never_initialised_is_refused_with_what_to_run(tmp_path: Path, args: list[str]) -> None:
    database = tmp_path / "never.db"
    url = f"sqlite:///{database}"
    args = [str(events_file(tmp_path)) if a == "EVENTS" else a for a in args]
    result = invoke(url, *args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""  # not even token list's header
    assert result.stderr == (
        f"error: the database at {url} has no greenenergy schema (the file does not exist); run `greenenergy init`\n"
    )
    assert not database.exists()  # and no empty file was left behind
    database.touch()  # an empty file: SQLite opens it, no tables
    result = invoke(url, *args)
    assert (result.exit_code, result.stderr) == (
        2,
        f"error: the database at {url} has no greenenergy schema; run `greenenergy init`\n",
    )


def test_a_database_at_an_older_revision_says_to_migrate_and_init_does(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")
    engine.dispose()
    result = invoke(url, "token", "list")
    assert (result.exit_code, result.stderr) == (
        2,
        f"error: the database at {url} is at schema revision 0003, this version needs {head_revision()}; "
        f"run `greenenergy init` to migrate it\n",
    )
    assert invoke(url, "init").exit_code == 0
    assert invoke(url, "token", "list").exit_code == 0


def test_a_database_that_cannot_be_opened_is_named(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'folder' / 'x.db'}"
    result = invoke(url, "init")
    assert (result.exit_code, result.stderr) == (
        2,
        f"error: cannot open the database at {url}: unable to open database file\n",
    )


def test_an_initialised_database_still_works(runtime: Runtime) -> None:
    url = runtime.settings.database_url
    assert invoke(url, "token", "create", "--role", "user", "--subject", "u-1").exit_code == 0
    listing = invoke(url, "token", "list")
    assert listing.exit_code == 0 and listing.stdout.startswith("id\trole\tsubject")


def test_unreadable_event_files_are_user_errors_not_tracebacks(runtime: Runtime, tmp_path: Path) -> None:
    url = runtime.settings.database_url
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    for command_args in (["ingest", "--source", "s"], ["rules", "backtest"]):
        for path, message in ((folder, "is a folder, not an event file"), (broken, "not a readable Parquet file")):
            result = invoke(url, *command_args, str(path))
            assert result.exit_code == 2, result.output
            assert result.stderr.startswith(f"error: {path}: {message}")
    moment = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    good = {"event_id": "j1", "type": "recycling.box", "user_id": "u-1", "occurred_at": moment, "data": {"boxes": 1}}
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_bytes(b'{"event_id": "j0\xff"}\n' + json.dumps(good).encode() + b"\n")
    result = invoke(url, "ingest", str(mixed), "--source", "s")
    assert result.exit_code == 1, result.output  # one row rejected, the other kept
    assert "1 accepted, 0 duplicates, 1 rejected" in result.stdout
    assert "not UTF-8 text" in result.stdout
    result = invoke(url, "rules", "backtest", str(mixed))
    assert result.exit_code == 0 and "1 events scored; 1 unreadable rows" in result.stdout


def test_a_backtest_of_a_file_without_readable_rows_scores_nothing(runtime: Runtime, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("event_id,type,user_id,occurred_at\n")
    result = invoke(runtime.settings.database_url, "rules", "backtest", str(empty))
    assert result.exit_code == 0, result.output
    assert "0 events scored" in result.stdout


def test_other_bad_arguments_exit_2(runtime: Runtime, tmp_path: Path) -> None:
    url = runtime.settings.database_url
    result = invoke(url, "rules", "check", str(tmp_path / "missing"))
    assert (result.exit_code, result.stderr) == (2, f"error: {tmp_path / 'missing'} is not a folder of rule files\n")
    assert invoke(url, "serve", "--port", "99999").exit_code == 2
    result = invoke(url, "tick", "--now", "2026-11-24T07:00:00")
    assert result.exit_code == 2 and "needs an offset" in result.stderr
