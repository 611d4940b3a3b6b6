"""Event files for `ingest` and `rules backtest`: CSV, JSONL and Parquet.

CSV and Parquet: columns ``event_id, type, user_id, occurred_at`` and the type's data fields
as further columns; an empty cell (or NA) means "field absent". CSV cells are text, so a
cell is converted to the type the rule in force declares for that field (int, float, bool,
str); a cell that does not convert is passed on as text and the event is rejected as
``invalid_data`` naming the field. JSONL: one JSON event object per line, exactly as in
``POST /v1/events``.

A row whose envelope is unusable (no event_id, a time without an offset, bad JSON) is
reported with its line number instead of stopping the file.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from greenenergy.errors import InvalidInput
from greenenergy.ids import ID_RULE, is_valid_id
from greenenergy.scoring import RuleBook
from greenenergy.services.ingest import IncomingEvent

ENVELOPE = ("event_id", "type", "user_id", "occurred_at")
INT_TEXT = re.compile(r"[+-]?\d+")
SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True, slots=True)
class FileRow:
    """One row of an event file: the event, or why it could not be read."""

    line: int
    event: IncomingEvent | None
    event_id: str | None = None
    problem: str | None = None


def file_format(path: Path) -> str:
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InvalidInput(
            f"{path}: unknown file type {path.suffix!r}; use .csv, .jsonl or .parquet", code="unknown_file_type"
        )
    if path.is_dir():
        raise InvalidInput(f"{path}: is a folder, not an event file", code="file_not_found")
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file", code="file_not_found")
    return kind


def _unreadable(path: Path, what: str, error: Exception) -> InvalidInput:
    reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return InvalidInput(f"{path}: not a readable {what} file ({reason})", code="unreadable_file")


def count_rows(path: Path) -> int:
    """Rows in the file (for a progress bar); cheap for all three formats."""
    kind = file_format(path)
    if kind == "parquet":
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(path).metadata.num_rows
        except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid is a ValueError
            raise _unreadable(path, "Parquet", error) from None
    try:
        with path.open("rb") as handle:
            lines = sum(1 for line in handle if line.strip())
    except OSError as error:
        raise _unreadable(path, kind.upper(), error) from None
    return lines - 1 if kind == "csv" else lines


def read_events(path: Path, rules: RuleBook) -> Iterator[FileRow]:
    """Every row of ``path`` as an ``IncomingEvent`` (or the reason it could not be read)."""
    kind = file_format(path)
    if kind == "jsonl":
        yield from _read_jsonl(path)
        return
    if kind == "csv":
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as error:
            raise _unreadable(path, "CSV", error) from None
        first_line = 2  # line 1 is the header
    else:
        try:
            frame = pd.read_parquet(path)
        except (OSError, ValueError) as error:
            raise _unreadable(path, "Parquet", error) from None
        first_line = 1
    missing = [c for c in ENVELOPE if c not in frame.columns]
    if missing:
        raise InvalidInput(
            f"{path}: missing column(s) {', '.join(missing)}; need {', '.join(ENVELOPE)} and the data fields",
            code="missing_columns",
        )
    yield from rows_from_frame(frame, rules, source=kind, first_line=first_line)


FRAME_IGNORED = ("source", "local_day")  # columns of seed files that are not event data


def rows_from_frame(frame: pd.DataFrame, rules: RuleBook, *, source: str, first_line: int = 1) -> Iterator[FileRow]:
    """Rows of a CSV-like (``source="csv"``: text cells) or typed (``"parquet"``) frame."""
    data_columns = [c for c in frame.columns if c not in ENVELOPE]
    for offset, values in enumerate(frame.itertuples(index=False, name=None)):
        row = dict(zip(frame.columns, values, strict=True))
        data = {c: row[c] for c in data_columns if not _absent(row[c])}
        yield _row(
            first_line + offset,
            row["event_id"],
            row["type"],
            row["user_id"],
            row["occurred_at"],
            data,
            rules,
            source=source,
        )


def _read_jsonl(path: Path) -> Iterator[FileRow]:
    try:
        handle = path.open("rb")  # bytes: a line that is not UTF-8 is reported, not fatal
    except OSError as error:
        raise _unreadable(path, "JSONL", error) from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                yield FileRow(
                    number, None, problem=f"not UTF-8 text (byte 0x{raw[error.start]:02x} at column {error.start + 1})"
                )
                continue
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as error:
                yield FileRow(number, None, problem=f"not valid JSON ({error.msg})")
                continue
            if not isinstance(obj, dict):
                yield FileRow(number, None, problem="a line must hold one JSON object")
                continue
            unknown = sorted(set(obj) - {*ENVELOPE, "data"})
            if unknown:
                yield FileRow(
                    number, None, event_id=_text(obj.get("event_id")), problem=f"unknown key(s) {', '.join(unknown)}"
                )
                continue
            data = obj.get("data", {})
            if not isinstance(data, dict):
                yield FileRow(number, None, event_id=_text(obj.get("event_id")), problem="data must be an object")
                continue
            yield _row(
                number,
                obj.get("event_id"),
                obj.get("type"),
                obj.get("user_id"),
                obj.get("occurred_at"),
                data,
                None,
                source="jsonl",
            )


def _row(
    line: int,
    event_id: Any,
    event_type: Any,
    user_id: Any,
    occurred_at: Any,
    data: dict[str, Any],
    rules: RuleBook | None,
    *,
    source: str,
) -> FileRow:
    event_id = _text(event_id)
    if not is_valid_id(event_id):
        return FileRow(line, None, event_id=event_id, problem=f"event_id {event_id!r} is not valid: {ID_RULE}")
    if not is_valid_id(_text(user_id)):
        return FileRow(line, None, event_id=event_id, problem=f"user_id {user_id!r} is not valid: {ID_RULE}")
    if not isinstance(event_type, str) or not event_type:
        return FileRow(line, None, event_id=event_id, problem="type is missing")
    moment = _instant(occurred_at)
    if moment is None:
        return FileRow(
            line, None, event_id=event_id, problem=f"occurred_at {occurred_at!r} is not an ISO 8601 time with an offset"
        )
    if source == "parquet":
        data = {k: _plain(v) for k, v in data.items()}
    elif source == "csv" and rules is not None:
        data = _convert_text(rules, event_type, moment, data)
    # JSONL data is used exactly as sent, as POST /v1/events would.
    return FileRow(line, IncomingEvent(event_id, event_type, str(user_id), moment, data), event_id=event_id)


def _convert_text(rules: RuleBook, event_type: str, moment: datetime, data: dict[str, Any]) -> dict[str, Any]:
    """CSV cells to the declared field types; cells that do not convert stay text."""
    family = rules.by_type.get(event_type)
    if family is None:
        return data
    try:
        fields = family.version_at(moment).fields
    except InvalidInput:
        return data
    out: dict[str, Any] = {}
    for name, text in data.items():
        kind = fields.get(name)
        out[name] = _from_text(kind, text) if isinstance(text, str) else text
    return out


def _from_text(kind: str | None, text: str) -> Any:
    value = text.strip()
    if kind == "int" and INT_TEXT.fullmatch(value):
        return int(value)
    if kind == "float":
        try:
            number = float(value)
        except ValueError:
            return text
        return number if math.isfinite(number) else text
    if kind == "bool" and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    return text


def _plain(value: Any) -> Any:
    """numpy scalars to Python; whole floats (NA-widened int columns) to int."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _absent(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value == ""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _text(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and _absent(value)):
        return None
    return str(value)


def _instant(value: Any) -> datetime | None:
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        return None
    return moment
