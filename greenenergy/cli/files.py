"""`greenenergy ingest` and `greenenergy rules backtest`: event files on the command line."""

from __future__ import annotations

from collections import Counter
from itertools import islice
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from greenenergy.services.catalogs import rulebook
from greenenergy.services.ingest import ingest
from greenenergy.services.ingest.backtest import BacktestReport
from greenenergy.services.ingest.files import count_rows, read_events
from greenenergy.services.runtime import Runtime

BATCH = 1000
SHOWN_REJECTS = 20


def ingest_file(runtime: Runtime, path: Path, source_id: str, console: Console) -> int:
    """Ingest ``path`` in batches; print a summary; return the number rejected."""
    rules = rulebook(runtime)
    total = count_rows(path)
    counts: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    shown: list[tuple[int, str, str, str]] = []
    rows = read_events(path, rules)
    with Progress(
        TextColumn("ingesting {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=not console.is_terminal,
    ) as progress:
        task = progress.add_task(path.name, total=total)
        while batch := list(islice(rows, BATCH)):
            readable = [r for r in batch if r.event is not None]
            for row in batch:
                if row.event is None:
                    counts["rejected"] += 1
                    reasons["unreadable"] += 1
                    if len(shown) < SHOWN_REJECTS:
                        shown.append((row.line, row.event_id or "-", "unreadable", row.problem or ""))
            summary = ingest(runtime, source_id=source_id, events=[r.event for r in readable])
            for row, result in zip(readable, summary.results, strict=True):
                counts[result.status] += 1
                if result.status == "rejected":
                    reasons[result.reason or "?"] += 1
                    if len(shown) < SHOWN_REJECTS:
                        shown.append((row.line, result.event_id, result.reason or "?", result.message or ""))
            progress.advance(task, len(batch))
    console.print(
        f"{path}: {counts['accepted']} accepted, {counts['duplicate']} duplicates, {counts['rejected']} rejected"
    )
    if reasons:
        console.print("rejected by reason: " + ", ".join(f"{k} {v}" for k, v in reasons.most_common()))
        table = Table("line", "event_id", "reason", "message", title=f"first {len(shown)} rejects")
        for line, event_id, reason, message in sorted(shown):
            table.add_row(str(line), event_id, reason, message)
        console.print(table)
    return counts["rejected"]


def print_backtest(report: BacktestReport, console: Console, top_users: int) -> None:
    console.print(
        f"{report.events} events scored; {len(report.unreadable)} unreadable rows; "
        f"{report.invalid} refused by the candidate rules"
    )
    if report.ignored:
        console.print(f"ignored columns: {', '.join(report.ignored)} (not event data)")
    for line, problem in report.unreadable[:SHOWN_REJECTS]:
        console.print(f"  line {line}: {problem}")
    rules_table = Table(
        "rule",
        "events (in force)",
        "grams (in force)",
        "events (candidate)",
        "grams (candidate)",
        "difference g",
        title="per rule",
    )
    for row in report.per_rule.itertuples(index=False):
        rules_table.add_row(
            row.rule_id,
            f"{row.events_current:,}",
            f"{row.grams_current:,}",
            f"{row.events_candidate:,}",
            f"{row.grams_candidate:,}",
            f"{row.diff_g:+,}",
        )
    rules_table.add_row(
        "total",
        "",
        f"{report.total_current_g:,}",
        "",
        f"{report.total_candidate_g:,}",
        f"{report.total_candidate_g - report.total_current_g:+,}",
    )
    console.print(rules_table)
    users_table = Table(
        "user",
        "grams (in force)",
        "grams (candidate)",
        "difference g",
        title=f"per user (the {top_users} most changed of {len(report.per_user)})",
    )
    for row in report.per_user.head(top_users).itertuples(index=False):
        users_table.add_row(row.user_id, f"{row.grams_current:,}", f"{row.grams_candidate:,}", f"{row.diff_g:+,}")
    console.print(users_table)
