"""Back-testing a rule change: score a file with candidate rules and with the rules in
force, through the pandas batch path, writing nothing.

Both runs start from empty cap usage (a file is scored as if its events were the only
ones), so the difference isolates the rule change. The report gives per-rule and per-user
totals under each rule set and their difference.

The file may be one of stored or exported events, as it is: the columns such a file
carries beside the event (its source, the stored result, the chain position:
``files.EXPORT_COLUMNS``) are ignored and named in ``BacktestReport.ignored``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from greenenergy.scoring import RuleBook, load_rules, score_frame
from greenenergy.services.catalogs import rulebook as rules_in_force
from greenenergy.services.ingest.files import read_events
from greenenergy.services.runtime import Runtime


@dataclass
class BacktestReport:
    events: int
    unreadable: list[tuple[int, str]]  # (line, problem)
    invalid: int  # rows the rules refuse (unknown type, invalid data), under the candidate rules
    per_rule: pd.DataFrame  # rule_id, events_current, grams_current, events_candidate, grams_candidate, diff_g
    per_user: pd.DataFrame  # user_id, grams_current, grams_candidate, diff_g (sorted by |diff|)
    total_current_g: int
    total_candidate_g: int
    ignored: list[str] = field(default_factory=list)  # columns (keys) of the file that are not event data


def events_frame(path: Path, rules: RuleBook) -> tuple[pd.DataFrame, list[tuple[int, str]], list[str]]:
    """The file's events as a frame, its unreadable rows, and the export columns it carried
    (in the order first seen)."""
    records, unreadable = [], []
    ignored: dict[str, None] = {}
    for row in read_events(path, rules, export=True):
        ignored.update(dict.fromkeys(row.ignored))
        if row.event is None:
            unreadable.append((row.line, row.problem or "unreadable"))
            continue
        event = row.event
        records.append(
            {
                "event_id": event.event_id,
                "type": event.event_type,
                "user_id": event.user_id,
                "occurred_at": event.occurred_at,
                **event.data,
            }
        )
    frame = pd.DataFrame.from_records(
        records, columns=None if records else ["event_id", "type", "user_id", "occurred_at"]
    )
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True)  # typed even when no row was readable
    for column in frame.columns:
        if column not in ("event_id", "type", "user_id", "occurred_at"):
            numeric = pd.to_numeric(frame[column], errors="coerce")
            if numeric.notna().sum() == frame[column].notna().sum():
                frame[column] = numeric  # a numeric field column (NA where other types lack it)
    return frame, unreadable, list(ignored)


def backtest(runtime: Runtime, path: Path, candidate_dir: Path | None) -> BacktestReport:
    current = rules_in_force(runtime)
    candidate = load_rules(candidate_dir, runtime.settings.zone) if candidate_dir else current
    frame, unreadable, ignored = events_frame(path, candidate)
    scored_current = score_frame(current, frame)
    scored_candidate = score_frame(candidate, frame)
    per_rule = _per_rule(scored_current, scored_candidate)
    users = pd.DataFrame(
        {
            "user_id": frame["user_id"] if len(frame) else pd.Series(dtype=str),
            "grams_current": scored_current["energy_g"].astype("int64") if len(frame) else pd.Series(dtype="int64"),
            "grams_candidate": scored_candidate["energy_g"].astype("int64") if len(frame) else pd.Series(dtype="int64"),
        }
    )
    per_user = users.groupby("user_id", as_index=False)[["grams_current", "grams_candidate"]].sum()
    per_user["diff_g"] = per_user["grams_candidate"] - per_user["grams_current"]
    per_user = per_user.reindex(per_user["diff_g"].abs().sort_values(ascending=False, kind="stable").index)
    return BacktestReport(
        events=len(frame),
        unreadable=unreadable,
        invalid=int(scored_candidate["error"].notna().sum()) if len(frame) else 0,
        per_rule=per_rule,
        per_user=per_user.reset_index(drop=True),
        total_current_g=int(scored_current["energy_g"].sum()) if len(frame) else 0,
        total_candidate_g=int(scored_candidate["energy_g"].sum()) if len(frame) else 0,
        ignored=ignored,
    )


def _per_rule(current: pd.DataFrame, candidate: pd.DataFrame) -> pd.DataFrame:
    def summary(scored: pd.DataFrame, suffix: str) -> pd.DataFrame:
        if not len(scored):
            return pd.DataFrame(columns=["rule_id", f"events_{suffix}", f"grams_{suffix}"])
        valid = scored[scored["error"].isna()]
        rule_id = valid["rule_ref"].astype(str).str.rsplit("@", n=1).str[0]
        grouped = valid.assign(rule_id=rule_id).groupby("rule_id")["energy_g"].agg(["count", "sum"])
        return grouped.rename(columns={"count": f"events_{suffix}", "sum": f"grams_{suffix}"}).reset_index()

    merged = summary(current, "current").merge(summary(candidate, "candidate"), on="rule_id", how="outer")
    merged = merged.fillna(0)
    for column in merged.columns:
        if column != "rule_id":
            merged[column] = merged[column].astype("int64")
    merged["diff_g"] = merged["grams_candidate"] - merged["grams_current"]
    return merged.sort_values("rule_id").reset_index(drop=True)
