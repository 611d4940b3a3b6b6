"""One rule id's rows of a batch: the version in force, data validation, conditions, formulas.

``family_values(frame, family, rows)`` takes the rows of one rule id in time order, picks
the version in force for each, validates the data columns the way ``RuleBook.validate``
validates one event's data, and evaluates the versions' conditions and formulas over the
valid rows. Invalid rows are rejected on the frame (``invalid_data`` / ``unknown_type``,
with the first problem of each row in the order ``validate_data`` checks: unknown fields,
then each declared field in turn) and left out of the result.

Because the rows are in time order and version windows are time ranges, each version's
rows are one contiguous span (found by binary search, no per-row comparison). Checks run
on whole columns first; only when a check fails are the per-row reasons worked out, so a
clean batch pays a few vector passes per field. A number field's magnitude limit and its
declared bounds are one range (``RuleVersion.checks``), checked by one min and one max per
column. Only the fields an expression reads are converted to numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from greenenergy.scoring.batch_data import Frame, grams_of, ns_of
from greenenergy.scoring.errors import InvalidEventData
from greenenergy.scoring.limits import MAX_FIELD_MAGNITUDE, MAX_TEXT_FIELD_CHARS
from greenenergy.scoring.rules import RuleFamily, RuleVersion, bounds_text, typed_value

MISSING, WRONG_TYPE, OUT_OF_BOUNDS, UNKNOWN_FIELD = 1, 2, 3, 4
_REASONS = {1: "missing", 2: "wrong_type", 3: "out_of_bounds", 4: "unknown_field"}
_CODES = {name: code for code, name in _REASONS.items()}


@dataclass
class FamilyValues:
    rows: np.ndarray  # valid rows of the family (row numbers), time order
    at: slice | np.ndarray  # their positions in the frame's typed order (``Frame.typed_rows``)
    stamps: np.ndarray  # their UTC nanoseconds (ascending)
    spans: list[tuple[int, int, int]]  # (version index, start, stop) positions in ``rows``
    version_of: np.ndarray  # index into family.versions
    condition: np.ndarray  # bool: `when` holds
    formula_g: np.ndarray  # grams of the formula; -1 where the condition is not met
    columns: dict[str, np.ndarray]  # the running total's values (int64), if any


def version_spans(stamps: np.ndarray, family: RuleFamily) -> list[tuple[int, int, int]]:
    """(version index, start, stop): the positions of ascending ``stamps`` each version covers."""
    spans = []
    for index, version in enumerate(family.versions):
        start = int(np.searchsorted(stamps, ns_of(version.effective_from), side="left"))
        stop = len(stamps)
        if version.effective_to is not None:
            stop = int(np.searchsorted(stamps, ns_of(version.effective_to), side="left"))
        if stop > start:
            spans.append((index, start, stop))
    return spans


def family_values(frame: Frame, family: RuleFamily, start: int, stop: int) -> FamilyValues | None:
    """Validate the rows of one rule id (``frame.typed_rows[start:stop]``) and evaluate
    their versions' conditions and formulas."""
    rows = frame.typed_rows[start:stop]
    stamps = frame.t_stamps[start:stop]
    count = len(rows)
    spans = version_spans(stamps, family)
    version_of = np.zeros(count, dtype=np.int64) if len(spans) == 1 else np.full(count, -1, dtype=np.int64)
    for index, low, high in spans:
        version_of[low:high] = index
    keep = None  # which rows stay, once some are rejected
    if sum(high - low for _, low, high in spans) < count:
        keep = np.zeros(count, dtype=bool)
        for _, low, high in spans:
            keep[low:high] = True
        frame.reject(rows[~keep], "unknown_type", f"no version of rule {family.id} is in force at occurred_at")
    # every position a version keeps is written below; the others are dropped by ``keep``
    condition = np.empty(count, dtype=bool)
    formula_g = np.empty(count, dtype=np.int64)
    running = family.running_field
    totals = np.empty(count, dtype=np.int64) if running is not None else None
    for index, low, high in spans:
        version = family.versions[index]
        values, problems = _validate(frame, version, rows[low:high])
        at: slice | np.ndarray = slice(low, high)
        n = high - low
        if problems is not None:
            reason, field_of, detail = problems
            bad = np.flatnonzero(reason)
            messages = [
                f"field '{field_of[i]}': {_REASONS[int(reason[i])].replace('_', ' ')}"
                + (f" ({detail[i]})" if i in detail else "")
                for i in bad
            ]
            frame.reject(rows[low + bad], "invalid_data", np.array(messages, dtype=object))
            if keep is None:
                keep = np.ones(count, dtype=bool)
            keep[low + bad] = False
            ok = reason == 0
            at = low + np.flatnonzero(ok)
            values = {name: array[ok] for name, array in values.items()}
            n = len(at)
        if not n:
            continue
        holds = version.when.vector(values, n) if version.when_fn is not None else True
        condition[at] = holds
        if running is not None:
            totals[at] = values[running]
            formula_g[at] = -1  # set by the running total (batch._running_totals)
        elif version.energy_const is not None:
            formula_g[at] = np.where(holds, version.energy_const, -1)
        else:
            formula_g[at] = np.where(holds, grams_of(version.energy.vector(values, n)), -1)
    columns = {running: totals} if running is not None else {}
    at_typed: slice | np.ndarray = slice(start, stop)
    if keep is not None:
        if not keep.any():
            return None
        rows, stamps, version_of, condition, formula_g = (
            rows[keep],
            stamps[keep],
            version_of[keep],
            condition[keep],
            formula_g[keep],
        )
        columns = {name: array[keep] for name, array in columns.items()}
        spans = version_spans(stamps, family)
        at_typed = start + np.flatnonzero(keep)
    return FamilyValues(rows, at_typed, stamps, spans, version_of, condition, formula_g, columns)


def _validate(
    frame: Frame, version: RuleVersion, rows: np.ndarray
) -> tuple[dict[str, np.ndarray], tuple[np.ndarray, np.ndarray, dict[int, str]] | None]:
    """Values of the fields ``version``'s expressions read, over ``rows``; and None when
    every row is valid, else (reason code per row, 0 when valid; field named per row;
    {position: "must be at least 1, got 0"} of the rows outside a declared bound)."""
    used = _used_fields(version)
    values: dict[str, np.ndarray] = {}
    checks: list[tuple[str | None, np.ndarray, np.ndarray | None]] = []  # (field, problem code per row,
    # the field's values), in check order
    exact = frame.exact_fields(version.event_type, version.fields)  # no row lacks or adds a field
    if not exact:
        unknown = frame.unknown_fields(version.fields, rows)
        if unknown.any():
            checks.append((None, np.where(unknown, UNKNOWN_FIELD, 0), None))
    for name, kind, low, high in version.checks:
        array, problems = _field(frame, name, kind, low, high, rows, name in used, exact)
        if problems is not None:
            checks.append((name, problems, array))
        if name in used:
            values[name] = array
    if not checks:
        return values, None
    reason = np.zeros(len(rows), dtype=np.int64)
    field_of = np.full(len(rows), None, dtype=object)
    detail: dict[int, str] = {}
    for name, problems, array in checks:
        fresh = np.flatnonzero((reason == 0) & (problems != 0))
        reason[fresh] = problems[fresh]
        field_of[fresh] = [frame.first_unknown(version.fields, rows[i]) for i in fresh] if name is None else name
        if name in version.bounds:
            detail.update(_outside(version, name, array, fresh[problems[fresh] == OUT_OF_BOUNDS]))
    return values, (reason, field_of, detail)


def _outside(version: RuleVersion, name: str, array: np.ndarray, bad: np.ndarray) -> dict[int, str]:
    """What a declared bound allows, for the rows ``bad`` out of bounds whose value is
    within the magnitude limit (beyond it, or not finite, is the plain "out of bounds"
    of the online path too)."""
    lowest, highest = version.bounds[name]
    whole = version.fields[name] == "int"
    detail = {}
    for i in bad:
        value = float(array[i])
        if abs(value) <= MAX_FIELD_MAGNITUDE:  # False for NaN
            detail[int(i)] = bounds_text(lowest, highest, int(value) if whole else value)
    return detail


def _used_fields(version: RuleVersion) -> frozenset[str]:
    used = version.energy.tree.fields() if version.energy_const is None else frozenset()
    if version.when_fn is not None:
        used |= version.when.tree.fields()
    if version.running_field is not None:
        used |= {version.running_field}
    return used


def _field(
    frame: Frame,
    name: str,
    kind: str,
    low: float | None,
    high: float | None,
    rows: np.ndarray,
    wanted: bool,
    all_present: bool,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Values (float64 / bool / object; only when ``wanted``) of one declared field over
    ``rows``, and a problem code per row, or None when every row is fine. A number outside
    [``low``, ``high``] (the declared bounds within the magnitude limit) is out of bounds."""
    series = frame.column(name)
    if series is None:
        return np.zeros(len(rows)), np.full(len(rows), MISSING)
    present = np.ones(len(rows), dtype=bool) if all_present else frame.present(name)[rows]
    problems = None if all_present or present.all() else np.where(present, 0, MISSING)
    dtype_kind = series.dtype.kind
    if kind in ("int", "float") and dtype_kind in "iuf":
        numbers = frame.numbers(name)[rows]
        values = numbers if numbers.dtype == np.float64 else numbers.astype(np.float64)
        bad = None
        if kind == "int" and dtype_kind == "f":
            bad_whole = present & (values != np.floor(values))
            if bad_whole.any():
                problems = np.where(present, 0, MISSING) if problems is None else problems
                problems[bad_whole] = WRONG_TYPE
        if problems is None:
            # one pass each for the least and the greatest value; NaN fails both comparisons,
            # so it is caught like a value out of bounds (the initial values keep an empty
            # selection fine: low <= high)
            if not (values.min(initial=high) >= low and values.max(initial=low) <= high):
                bad = ~((values >= low) & (values <= high))
        else:
            bad = (problems == 0) & ~((values >= low) & (values <= high))
        if bad is not None and bad.any():
            problems = np.zeros(len(rows), dtype=np.int64) if problems is None else problems
            problems[bad] = OUT_OF_BOUNDS
        return values, problems
    if kind == "bool" and dtype_kind == "b":
        return frame.bools(name)[rows], problems
    if dtype_kind == "O":
        return _object_field(frame, name, kind, low, high, rows, present, problems, wanted)
    problems = np.where(present, WRONG_TYPE, MISSING)
    return np.zeros(len(rows)), problems


def _object_field(
    frame: Frame,
    name: str,
    kind: str,
    low: float | None,
    high: float | None,
    rows: np.ndarray,
    present: np.ndarray,
    problems: np.ndarray | None,
    wanted: bool,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    series = frame.column(name)
    if kind == "str" and isinstance(series.dtype, pd.StringDtype):
        taken = series.iloc[rows]
        too_long = present & (taken.str.len().to_numpy(dtype=np.float64, na_value=0) > MAX_TEXT_FIELD_CHARS)
        if too_long.any():
            problems = np.where(present, 0, MISSING) if problems is None else problems
            problems[too_long & (problems == 0)] = OUT_OF_BOUNDS
        return (taken.to_numpy(dtype=object) if wanted else np.zeros(0, dtype=object)), problems
    raw = frame.objects(name, rows)
    problems = np.where(present, 0, MISSING) if problems is None else problems
    dtype = {"int": np.float64, "float": np.float64, "bool": bool, "str": object}[kind]
    values = np.zeros(len(rows), dtype=dtype)
    for i in np.flatnonzero(problems == 0):
        try:
            values[i] = value = typed_value(name, kind, raw[i], "")
        except InvalidEventData as error:
            problems[i] = _CODES[error.reason]
            if low is not None:
                values[i] = np.nan  # not a value within the magnitude limit (see _outside)
            continue
        if low is not None and not low <= value <= high:
            problems[i] = OUT_OF_BOUNDS
    return values, (problems if problems.any() else None)
