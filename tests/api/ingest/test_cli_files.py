"""`greenenergy ingest`, `rules check` and `rules backtest` on real files."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from greenenergy.cli.main import app
from greenenergy.services.runtime import Runtime
from tests.helpers import pending_g

PROJECT = Path(__file__).resolve().parents[3]


def run(runtime: Runtime, *args: str):
    return CliRunner().invoke(
        app, list(args), env={"GREENENERGY_DATABASE_URL": runtime.settings.database_url, "COLUMNS": "200"}
    )


def recent(minutes: int = 30) -> str:
    # The CLI runs with the real clock: the events must be within the last 7 days.
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()


def csv_text() -> str:
    t = recent()
    return (
        "event_id,type,user_id,occurred_at,boxes,amount_fen,steps\n"
        f"e1,recycling.box,u-1,{t},3,,\n"
        f"e2,payment.offline,u-1,{t},,500,\n"
        f"e3,walking.steps,u-2,{t},,,8000\n"
        f"e4,recycling.box,u-2,{t},lots,,\n"
        f"e5,recycling.box,u-2,yesterday,2,,\n"
    )


def test_ingest_csv_reports_rejects_with_lines_and_rerun_changes_nothing(runtime: Runtime, tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(csv_text())
    first = run(runtime, "ingest", str(path), "--source", "cainiao")
    assert first.exit_code == 1, first.output
    assert "3 accepted, 0 duplicates, 2 rejected" in first.output
    assert "invalid_data 1" in first.output and "unreadable 1" in first.output
    assert "must be an integer, got str 'lots'" in first.output
    assert pending_g(runtime, "u-1") == 111 + 5
    second = run(runtime, "ingest", str(path), "--source", "cainiao")
    assert "0 accepted, 3 duplicates, 2 rejected" in second.output
    assert pending_g(runtime, "u-1") == 116


def test_ingest_jsonl_and_parquet_give_the_same_grams_as_csv(runtime: Runtime, tmp_path: Path) -> None:
    t = recent()
    rows = [
        {"event_id": "j1", "type": "recycling.box", "user_id": "u-7", "occurred_at": t, "data": {"boxes": 2}},
        {"event_id": "j2", "type": "office.paperless", "user_id": "u-7", "occurred_at": t, "data": {"pages": 10}},
    ]
    jsonl = tmp_path / "events.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in rows) + "\n{not json}\n")
    result = run(runtime, "ingest", str(jsonl), "--source", "s-json")
    assert "2 accepted" in result.output and "unreadable 1" in result.output
    jsonl_g = pending_g(runtime, "u-7")
    frame = pd.DataFrame(
        [
            {
                "event_id": r["event_id"],
                "type": r["type"],
                "user_id": "u-8",
                "occurred_at": pd.Timestamp(t),
                **r["data"],
            }
            for r in rows
        ]
    )
    parquet = tmp_path / "events.parquet"
    frame.to_parquet(parquet)
    result = run(runtime, "ingest", str(parquet), "--source", "s-parquet")
    assert result.exit_code == 0, result.output
    assert pending_g(runtime, "u-8") == jsonl_g > 0


def test_ingest_refuses_unknown_files_clearly(runtime: Runtime, tmp_path: Path) -> None:
    missing = run(runtime, "ingest", str(tmp_path / "nope.csv"), "--source", "s")
    assert missing.exit_code == 2 and "no such file" in missing.output
    odd = tmp_path / "events.xlsx"
    odd.write_text("x")
    assert "unknown file type" in run(runtime, "ingest", str(odd), "--source", "s").output
    headless = tmp_path / "bad.csv"
    headless.write_text("a,b\n1,2\n")
    result = run(runtime, "ingest", str(headless), "--source", "s")
    assert result.exit_code == 2 and "missing column(s) event_id, type, user_id, occurred_at" in result.output
    assert "Traceback" not in result.output


def test_rules_check_passes_on_shipped_rules_and_lists_every_error(tmp_path: Path, runtime: Runtime) -> None:
    assert run(runtime, "rules", "check").exit_code == 0
    (tmp_path / "a.yaml").write_text(
        "rules:\n  - id: x.one\n    version: 1\n    event_type: x.one\n    effective_from: 2020-01-01\n"
        "    energy_g: boxes.count\n    methodology: {source: s, verified: false}\n"
    )
    (tmp_path / "b.yaml").write_text("rules:\n  - id: x.two\n    version: zero\n")
    result = run(runtime, "rules", "check", str(tmp_path))
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert any(line.startswith(f"{tmp_path / 'a.yaml'}:") and "x.one" in line for line in lines)
    assert any(line.startswith(f"{tmp_path / 'b.yaml'}:") and "x.two" in line for line in lines)


def test_backtest_shows_what_a_rule_change_would_do_and_writes_nothing(runtime: Runtime, tmp_path: Path) -> None:
    candidate = tmp_path / "rules"
    shutil.copytree(PROJECT / "rules", candidate)
    for path in candidate.glob("*.yaml"):
        text = path.read_text()
        if "event_type: recycling.box" in text:
            path.write_text(text.replace("37 * boxes", "40 * boxes"))
    events = tmp_path / "events.csv"
    events.write_text(csv_text())
    result = run(runtime, "rules", "backtest", str(events), "--rules", str(candidate))
    assert result.exit_code == 0, result.output
    assert "recycling.box" in result.output
    assert "+9" in result.output  # 3 boxes x 3 g more
    assert pending_g(runtime, "u-1") == 0


@pytest.mark.parametrize("args", [["rules", "backtest", "missing.csv"], ["rules", "check", "/no/such/dir"]])
def test_rules_commands_refuse_missing_paths(runtime: Runtime, args: list[str]) -> None:
    result = run(runtime, *args)
    assert result.exit_code in (1, 2)
    assert "Traceback" not in result.output
