"""Event files for `ingest` and `rules backtest`: CSV, JSONL and Parquet.

CSV and Parquet: columns ``event_id, type, user_id, occurred_at`` and the type's data fields
as further columns; an empty cell (or NA) means "field absent". CSV cells are text, so a
cell is converted to the type the rule in force declares for that field (int, float, bool,
str); a cell that does not convert is passed on as text and the event is rejected as
``invalid_data`` naming the field. JSONL: one JSON event object per line, exactly as in
``POST /v1/events``.

A row whose envelope is unusable (no event_id, a time without an offset, bad JSON) is
reported with its line number instead of stopping the file.

``rules backtest`` also reads files of stored or exported events as they are
(``read_events(..., export=True)``): the columns an export carries beside the event
(``EXPORT_COLUMNS``: the source, the stored result, the chain position, ...) are ignored
and named in ``FileRow.ignored``; the type may be given as ``event_type`` and the data as
one ``data`` column (a JSON object; text in CSV) instead of (or beside) one column per
field. A stored event's time without an offset (SQLite keeps UTC as naive text) is read
as UTC when the row also carries ``ingested_at``, the mark of a stored event.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
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


# What a file of stored events (``db/events_repo.EVENT_COLUMNS``) or an export of events and
# their results carries beside the event itself: ignored by ``rules backtest``.
EXPORT_COLUMNS = (
    "source",
    "source_id",
    "ingested_at",
    "energy_g",
    "rule",
    "rule_ref",
    "explanation",
    "ball_id",
    "transaction_id",
    "shard",
    "lane",
    "seq",
    "format",
    "hash",
    "prev_hash",
)
TYPE_ALIAS = "event_type"  # the stored events' name of ``type``
DATA = "data"  # the stored events' data: one JSON object


@dataclass(frozen=True, slots=True)
class FileRow:
    """One row of an event file: the event, or why it could not be read; ``ignored`` names
    the export columns the row carried (``read_events(..., export=True)``)."""

    line: int
    event: IncomingEvent | None
    event_id: str | None = None
    problem: str | None = None
    ignored: tuple[str, ...] = ()


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


def read_events(path: Path, rules: RuleBook, *, export: bool = False) -> Iterator[FileRow]:
    """Every row of ``path`` as an ``IncomingEvent`` (or the reason it could not be read);
    with ``export``, stored or exported events as they are (module docstring)."""
    kind = file_format(path)
    if kind == "jsonl":
        yield from _read_jsonl(path, export=export)
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
    present = set(frame.columns) | ({"type"} if export and TYPE_ALIAS in frame.columns else set())
    missing = [c for c in ENVELOPE if c not in present]
    if missing:
        raise InvalidInput(
            f"{path}: missing column(s) {', '.join(missing)}; need {', '.join(ENVELOPE)} and the data fields",
            code="missing_columns",
        )
    yield from rows_from_frame(frame, rules, source=kind, first_line=first_line, export=export)


FRAME_IGNORED = ("source", "local_day")  # columns of seed files that are not event data


def rows_from_frame(
    frame: pd.DataFrame, rules: RuleBook, *, source: str, first_line: int = 1, export: bool = False
) -> Iterator[FileRow]:
    """Rows of a CSV-like (``source="csv"``: text cells) or typed (``"parquet"``) frame;
    with ``export``, the columns of stored or exported events too (module docstring)."""
    columns = [str(c) for c in frame.columns]
    special = (TYPE_ALIAS, DATA) if export else ()
    # An export column is event data when some rule declares a field of that name.
    declared = {name for version in rules.versions() for name in version.fields} if export else set()
    ignored = tuple(c for c in columns if export and c in EXPORT_COLUMNS and c not in declared)
    data_columns = [c for c in columns if c not in ENVELOPE and c not in ignored and c not in special]
    for offset, values in enumerate(frame.itertuples(index=False, name=None)):
        line = first_line + offset
        row = dict(zip(columns, values, strict=True))
        data = {c: row[c] for c in data_columns if not _absent(row[c])}
        typed: dict[str, Any] = {}
        event_type = row.get("type")
        if export:
            try:
                event_type = _export_type(row)
                typed = _export_data(row.get(DATA))
            except ValueError as error:
                yield FileRow(line, None, event_id=_text(row.get("event_id")), problem=str(error), ignored=ignored)
                continue
        yield _row(
            line,
            row["event_id"],
            event_type,
            row["user_id"],
            row["occurred_at"],
            data,
            rules,
            source=source,
            typed=typed,
            naive_utc=export and "ingested_at" in row and not _absent(row["ingested_at"]),
            ignored=ignored,
        )


def _export_type(row: dict[str, Any]) -> Any:
    """``type``, or the stored events' ``event_type``; both must agree when both are given."""
    given = [row[c] for c in ("type", TYPE_ALIAS) if c in row and not _absent(row[c])]
    if len(set(map(str, given))) > 1:
        raise ValueError(f"type {given[0]!r} and event_type {given[1]!r} disagree")
    return given[0] if given else None


def _export_data(value: Any) -> dict[str, Any]:
    """A ``data`` cell: a JSON object (as text in CSV and in stored events), or absent."""
    if value is None or (not isinstance(value, dict) and _absent(value)):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise ValueError(f"data is not valid JSON ({error.msg})") from None
    if not isinstance(value, dict):
        raise ValueError("data must be a JSON object")
    return value


def _read_jsonl(path: Path, *, export: bool = False) -> Iterator[FileRow]:
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
            ignored = tuple(k for k in obj if export and k in EXPORT_COLUMNS)
            known = {*ENVELOPE, DATA, *ignored, *((TYPE_ALIAS,) if export else ())}
            unknown = sorted(set(obj) - known)
            if unknown:
                yield FileRow(
                    number, None, event_id=_text(obj.get("event_id")), problem=f"unknown key(s) {', '.join(unknown)}"
                )
                continue
            event_type = obj.get("type")
            data = obj.get(DATA, {})
            if export:
                try:
                    event_type = _export_type(obj)
                    data = _export_data(obj.get(DATA))
                except ValueError as error:
                    yield FileRow(
                        number, None, event_id=_text(obj.get("event_id")), problem=str(error), ignored=ignored
                    )
                    continue
            if not isinstance(data, dict):
                yield FileRow(number, None, event_id=_text(obj.get("event_id")), problem="data must be an object")
                continue
            yield _row(
                number,
                obj.get("event_id"),
                event_type,
                obj.get("user_id"),
                obj.get("occurred_at"),
                data,
                None,
                source="jsonl",
                naive_utc=export and obj.get("ingested_at") is not None,
                ignored=ignored,
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
    typed: dict[str, Any] | None = None,
    naive_utc: bool = False,
    ignored: tuple[str, ...] = (),
) -> FileRow:
    """One event from its parts; ``typed``: data fields given as JSON values (a ``data``
    column), merged with the per-field columns in ``data``."""
    event_id = _text(event_id)

    def refused(problem: str) -> FileRow:
        return FileRow(line, None, event_id=event_id, problem=problem, ignored=ignored)

    if not is_valid_id(event_id):
        return refused(f"event_id {event_id!r} is not valid: {ID_RULE}")
    if not is_valid_id(_text(user_id)):
        return refused(f"user_id {user_id!r} is not valid: {ID_RULE}")
    if not isinstance(event_type, str) or not event_type:
        return refused("type is missing")
    moment = _instant(occurred_at, naive_utc=naive_utc)
    if moment is None:
        return refused(f"occurred_at {occurred_at!r} is not an ISO 8601 time with an offset")
    if source == "parquet":
        data = {k: _plain(v) for k, v in data.items()}
    elif source == "csv" and rules is not None:
        data = _convert_text(rules, event_type, moment, data)
    # JSONL data is used exactly as sent, as POST /v1/events would.
    for name, value in (typed or {}).items():
        if name in data and data[name] != value:
            return refused(f"field {name} is {data[name]!r} in its column but {value!r} in data")
        data[name] = value
    return FileRow(
        line, IncomingEvent(event_id, event_type, str(user_id), moment, data), event_id=event_id, ignored=ignored
    )


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


def _instant(value: Any, *, naive_utc: bool = False) -> datetime | None:
    """An aware instant, or None; ``naive_utc``: a time without an offset is UTC (stored events)."""
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
        return moment.replace(tzinfo=UTC) if naive_utc else None
    return moment
