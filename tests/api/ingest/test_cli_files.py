"""`greenenergy ingest`, `rules check` and `rules backtest` on real files."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from greenenergy.cli.main import app
from greenenergy.services.ingest import IncomingEvent, ingest
from greenenergy.services.runtime import Runtime
from tests.conftest import START
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


def candidate_rules(tmp_path: Path, grams_per_box: int = 40) -> Path:
    """The shipped rules with recycling.box paying ``grams_per_box`` instead of 37."""
    candidate = tmp_path / "rules"
    shutil.copytree(PROJECT / "rules", candidate)
    for path in candidate.glob("*.yaml"):
        content = path.read_text()
        if "event_type: recycling.box" in content:
            path.write_text(content.replace("37 * boxes", f"{grams_per_box} * boxes"))
    return candidate


def total_row(output: str) -> list[str]:
    """The cells of the per-rule table's total row."""
    (line,) = [line for line in output.splitlines() if line.strip("│┃ ").startswith("total")]
    return [cell.strip() for cell in line.strip("│┃ ").split("│")]


def stored_events(runtime: Runtime) -> pd.DataFrame:
    """The events table as it is stored (SQLite: times as naive UTC text)."""
    with runtime.engine.connect() as connection:
        return pd.read_sql_query(text("SELECT * FROM events ORDER BY source_id, event_id"), connection)


def ingest_some(runtime: Runtime) -> int:
    """Ingest a few events from two sources; the grams accepted."""
    t = START - timedelta(minutes=30)
    summary = ingest(
        runtime,
        source_id="cainiao",
        events=[
            IncomingEvent("e1", "recycling.box", "u-1", t, {"boxes": 3}),
            IncomingEvent("e2", "payment.offline", "u-1", t, {"amount_fen": 500}),
            IncomingEvent("e3", "office.paperless", "u-2", t, {"pages": 4}),
        ],
    )
    other = ingest(runtime, source_id="xianyu", events=[IncomingEvent("e1", "recycling.box", "u-2", t, {"boxes": 1})])
    assert summary.accepted == 3 and other.accepted == 1
    return sum(r.energy_g or 0 for r in [*summary.results, *other.results])


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_backtest_reads_a_file_of_stored_events_as_it_is(runtime: Runtime, tmp_path: Path, kind: str) -> None:
    accepted_g = ingest_some(runtime)
    assert accepted_g == 111 + 5 + 20 + 37
    stored = stored_events(runtime)
    assert {"source_id", "event_type", "data", "ingested_at", "hash", "prev_hash", "lane"} <= set(stored.columns)
    path = tmp_path / f"stored.{kind}"
    if kind == "csv":
        stored.to_csv(path, index=False)
    else:
        stored.to_json(path, orient="records", lines=True, date_format="iso")
    result = run(runtime, "rules", "backtest", str(path), "--rules", str(candidate_rules(tmp_path)))
    assert result.exit_code == 0, result.output
    assert "4 events scored; 0 unreadable rows; 0 refused by the candidate rules" in result.output
    # Scored from empty cap usage, the stored events earn what they earned when ingested.
    assert total_row(result.output)[:5] == ["total", "", f"{accepted_g:,}", "", f"{accepted_g + 4 * 3:,}"]
    ignored = result.output.split("ignored columns: ", 1)[1].split(" (not event data)", 1)[0].split(", ")
    expected = [c for c in stored.columns if c not in ("event_id", "user_id", "occurred_at", "event_type", "data")]
    assert ignored == expected
    assert "source_id" in ignored and "hash" in ignored and "unknown" not in result.output


def test_backtest_accepts_an_export_of_events_with_their_results_and_names_what_it_ignored(
    runtime: Runtime, tmp_path: Path
) -> None:
    t = recent()
    rows = [
        {"event_id": "x1", "type": "recycling.box", "user_id": "u-1", "occurred_at": t, "data": {"boxes": 2},
         "source": "cainiao", "ingested_at": t, "energy_g": 74, "rule": "recycling.box@2", "ball_id": "b-1"},
        {"event_id": "x2", "type": "payment.offline", "user_id": "u-1", "occurred_at": t, "data": {"amount_fen": 500},
         "source": "alipay", "energy_g": 5, "rule_ref": "payment.offline@1", "transaction_id": None},
        {"event_id": "x3", "type": "recycling.box", "user_id": "u-2", "occurred_at": t, "data": {"boxes": 1},
         "colour": "red"},
    ]  # fmt: skip
    jsonl = tmp_path / "export.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = run(runtime, "rules", "backtest", str(jsonl))
    assert result.exit_code == 0, result.output
    assert "2 events scored; 1 unreadable rows" in result.output
    assert "line 3: unknown key(s) colour" in result.output  # only export columns are ignored
    assert "ignored columns: source, ingested_at, energy_g, rule, ball_id, rule_ref, transaction_id" in result.output
    assert total_row(result.output)[:3] == ["total", "", "79"]
    # The same export as CSV, data fields as columns; the seed file's `source` column too.
    csv = tmp_path / "export.csv"
    csv.write_text(
        "event_id,source,type,user_id,occurred_at,boxes,amount_fen,energy_g,rule\n"
        f"x1,cainiao,recycling.box,u-1,{t},2,,74,recycling.box@2\n"
        f"x2,alipay,payment.offline,u-1,{t},,500,5,payment.offline@1\n"
    )
    result = run(runtime, "rules", "backtest", str(csv))
    assert result.exit_code == 0, result.output
    assert "2 events scored; 0 unreadable rows; 0 refused by the candidate rules" in result.output
    assert "ignored columns: source, energy_g, rule (not event data)" in result.output
    assert total_row(result.output)[:3] == ["total", "", "79"]
    seed = run(runtime, "rules", "backtest", str(PROJECT / "seed_data" / "events.csv"))
    assert seed.exit_code == 0, seed.output
    assert "ignored columns: source (not event data)" in seed.output
    assert " 0 refused by the candidate rules" in seed.output


def test_backtest_refuses_rows_whose_type_or_data_disagree(runtime: Runtime, tmp_path: Path) -> None:
    t = recent()
    path = tmp_path / "odd.jsonl"
    path.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {
                    "event_id": "y1",
                    "type": "recycling.box",
                    "event_type": "payment.offline",
                    "user_id": "u-1",
                    "occurred_at": t,
                    "data": {"boxes": 1},
                },
                {"event_id": "y2", "event_type": "recycling.box", "user_id": "u-1", "occurred_at": t, "data": "[1]"},
                {
                    "event_id": "y3",
                    "event_type": "recycling.box",
                    "user_id": "u-1",
                    "occurred_at": t[:19],
                    "data": '{"boxes": 1}',
                },
                {
                    "event_id": "y4",
                    "event_type": "recycling.box",
                    "user_id": "u-1",
                    "occurred_at": t,
                    "data": '{"boxes": 1}',
                },
            ]
        )
        + "\n"
    )
    result = run(runtime, "rules", "backtest", str(path))
    assert result.exit_code == 0, result.output
    assert "1 events scored; 3 unreadable rows" in result.output
    assert "line 1: type 'recycling.box' and event_type 'payment.offline' disagree" in result.output
    assert "line 2: data must be a JSON object" in result.output
    # Without ingested_at the row is not a stored event: a time without an offset stays refused.
    assert "line 3: occurred_at" in result.output and "is not an ISO 8601 time with an offset" in result.output
    # A field given both as a column and in data must say the same in both.
    both = tmp_path / "both.csv"
    both.write_text(
        "event_id,event_type,user_id,occurred_at,boxes,data\n"
        f'y5,recycling.box,u-1,{t},2,"{{""boxes"": 3}}"\n'
        f'y6,recycling.box,u-1,{t},3,"{{""boxes"": 3}}"\n'
    )
    result = run(runtime, "rules", "backtest", str(both))
    assert result.exit_code == 0, result.output
    assert "1 events scored; 1 unreadable rows" in result.output
    assert "line 2: field boxes is 2 in its column but 3 in data" in result.output
    assert total_row(result.output)[:3] == ["total", "", "111"]


def test_ingest_still_refuses_export_columns(runtime: Runtime, tmp_path: Path) -> None:
    """Only `rules backtest` reads exports: `ingest` takes the source from --source, so a
    `source` key in a file to ingest is still an error, not silently ignored."""
    path = tmp_path / "events.jsonl"
    path.write_text(
        json.dumps(
            {
                "event_id": "z1",
                "type": "recycling.box",
                "user_id": "u-1",
                "occurred_at": recent(),
                "data": {"boxes": 1},
                "source": "cainiao",
            }
        )
        + "\n"
    )
    result = run(runtime, "ingest", str(path), "--source", "s")
    assert result.exit_code == 1
    assert "unknown key(s) source" in result.output
    assert pending_g(runtime, "u-1") == 0
