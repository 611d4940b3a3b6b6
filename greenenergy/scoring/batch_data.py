"""The batch path's view of a DataFrame: columns, validation, formulas, and the output.

``Frame`` turns the input columns into numpy arrays once (UTC nanoseconds, local day
numbers, user and type codes, a time order) and collects the output columns.
``family_values`` picks the version in force for each row of one rule id, validates the
data columns the way ``RuleBook.validate`` validates one event's data, and evaluates the
versions' formulas over the valid rows.

Frames are columnar, so two things differ from one event's JSON ``data``, by design: NA
stands for "field absent", and an int field may be stored as float64 (because other types'
rows are NA) as long as its values are whole numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from greenenergy.errors import InvalidInput
from greenenergy.scoring.calendar import day_number_to_date
from greenenergy.scoring.errors import InvalidEventData
from greenenergy.scoring.groups import stable_order
from greenenergy.scoring.limits import MAX_EVENT_ENERGY_G, MAX_FIELD_MAGNITUDE, MAX_TEXT_FIELD_CHARS
from greenenergy.scoring.rulebook import RuleBook, RuleFamily, typed_value

REQUIRED_COLUMNS = ("type", "user_id", "occurred_at")
RESERVED_COLUMNS = ("event_id", *REQUIRED_COLUMNS)
MISSING, WRONG_TYPE, OUT_OF_BOUNDS, UNKNOWN_FIELD = 1, 2, 3, 4
_REASONS = {1: "missing", 2: "wrong_type", 3: "out_of_bounds", 4: "unknown_field"}
_CODES = {name: code for code, name in _REASONS.items()}


class InvalidFrame(InvalidInput):
    """The DataFrame lacks a required column or has an unusable one."""

    code = "invalid_frame"


def grams_of(values: np.ndarray) -> np.ndarray:
    """Formula results (float64) as grams: floored, clamped to [0, MAX_EVENT_ENERGY_G]."""
    return np.clip(np.floor(values), 0, MAX_EVENT_ENERGY_G).astype(np.int64)


class Frame:
    def __init__(self, rulebook: RuleBook, df: pd.DataFrame, ignore: tuple[str, ...]) -> None:
        missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
        if missing:
            raise InvalidFrame(f"events frame lacks column(s) {', '.join(missing)}")
        self.df = df
        self.n = len(df)
        self.rulebook = rulebook
        self.data_columns = [c for c in df.columns if c not in RESERVED_COLUMNS and c not in ignore]
        self.energy = np.zeros(self.n, dtype=np.int64)
        self.ref_code = np.full(self.n, -1, dtype=np.int64)
        self.text_code = np.full(self.n, -1, dtype=np.int64)
        self.capped = np.zeros(self.n, dtype=bool)
        self.error: np.ndarray | None = None  # allocated at the first rejected row
        self.reason: np.ndarray | None = None
        self.refs: dict[str, int] = {}
        self.texts: dict[str, int] = {}
        self._cache: dict[tuple[str, str], np.ndarray] = {}
        self._present_bits: np.ndarray | None = None
        self._dates: dict[int, date] = {}
        self.stamps, has_time = _utc_ns(df["occurred_at"])
        self.user_codes, self.user_ids = _factorize(df["user_id"])
        type_codes, self.type_names = _factorize(df["type"])
        no_user = self.user_codes < 0
        self.reject(np.flatnonzero(no_user), "invalid_data", "user_id is missing")
        self.reject(np.flatnonzero(~has_time & ~no_user), "invalid_data", "occurred_at is missing")
        usable = has_time & ~no_user
        self.days = np.zeros(self.n, dtype=np.int64)
        good = np.flatnonzero(usable)
        self.days[good] = rulebook.calendar.local_days(self.stamps[good])
        # time order, ties in row order; by type next (a radix sort on small codes)
        times = self.stamps[good]
        in_order = bool(np.all(times[1:] >= times[:-1]))
        order = good if in_order else good[np.argsort(times, kind="stable")]
        self._identity = in_order and len(good) == self.n  # order is 0..n-1: skip gathers
        self._type_codes = type_codes
        self._order = order

    def rows_by_type(self) -> Iterator[tuple[str | None, np.ndarray]]:
        codes = self._type_codes if self._identity else self._type_codes[self._order]
        by_type = stable_order(codes + 1)  # a radix sort: few types
        if not self._identity:
            by_type = self._order[by_type]
        counts = np.bincount(codes + 1, minlength=len(self.type_names) + 1)
        bounds = np.concatenate(([0], np.cumsum(counts)))
        if counts[0]:
            self.reject(by_type[: bounds[1]], "unknown_type", "type is missing")
        for code, name in enumerate(self.type_names):
            rows = by_type[bounds[code + 1] : bounds[code + 2]]
            if len(rows):
                yield str(name), rows

    # columns

    def column(self, name: str) -> pd.Series | None:
        return self.df[name] if name in self.df.columns else None

    def present(self, name: str) -> np.ndarray:
        return self._cached(name, "present", lambda s: s.notna().to_numpy(dtype=bool))

    def floats(self, name: str) -> np.ndarray:
        return self._cached(name, "floats", lambda s: s.to_numpy(dtype=np.float64, na_value=np.nan))

    def objects(self, name: str, rows: np.ndarray) -> np.ndarray:
        """Python objects of ``rows`` (taken first: converting a whole column is slow)."""
        return self.df[name].iloc[rows].to_numpy(dtype=object)

    def unknown_fields(self, fields: dict[str, str], rows: np.ndarray) -> np.ndarray:
        """Rows that hold a data column not in ``fields``, from a per-row bit mask of the
        columns present (one gather per rule instead of one per column)."""
        if self._present_bits is None:
            bits = np.zeros(self.n, dtype=np.int64)
            for bit, name in enumerate(self.data_columns[:63]):
                bits |= self.present(name).astype(np.int64) << bit
            self._present_bits = bits
        allowed = sum(1 << bit for bit, name in enumerate(self.data_columns[:63]) if name in fields)
        unknown = (self._present_bits[rows] & ~allowed) != 0
        for name in self.data_columns[63:]:  # beyond 63 data columns: one by one
            if name not in fields:
                unknown |= self.present(name)[rows]
        return unknown

    def first_unknown(self, fields: dict[str, str], row: int) -> str:
        return next(n for n in self.data_columns if n not in fields and self.present(n)[row])

    def _cached(self, name: str, what: str, make) -> np.ndarray:
        key = (name, what)
        if key not in self._cache:
            self._cache[key] = make(self.df[name])
        return self._cache[key]

    def key_codes(self, field: str, rows: np.ndarray) -> np.ndarray:
        """Codes of a cap key field's values (same code = same key text)."""
        if self.df[field].dtype.kind in "iuf":
            codes, _ = pd.factorize(self.floats(field)[rows], sort=False)
        else:
            codes, _ = _factorize(self.df[field].iloc[rows])
        return codes.astype(np.int64)

    def key_text(self, field: str, row: int) -> str:
        if self.df[field].dtype.kind in "iuf":
            return str(int(self.floats(field)[row]))
        return str(self.df[field].iat[row])

    def date_of(self, day: int) -> date:
        day = int(day)
        found = self._dates.get(day)
        if found is None:
            found = self._dates[day] = day_number_to_date(day)
        return found

    # output

    def reject(self, rows: np.ndarray, code: str, reason: str | np.ndarray) -> None:
        if not len(rows):
            return
        if self.error is None:
            self.error = np.full(self.n, None, dtype=object)
            self.reason = np.full(self.n, None, dtype=object)
        self.error[rows] = code
        self.reason[rows] = reason
        self.energy[rows] = 0

    def accept(self, family: RuleFamily, rows, version_of, formula_g, window, grams, award, note) -> None:
        self.energy[rows] = award
        self.capped[rows] = award < grams
        refs = np.array([self._code(self.refs, v.ref) for v in family.versions], dtype=np.int64)
        self.ref_code[rows] = refs[version_of]
        windows = max(len(v.multipliers) for v in family.versions) + 1
        notes = max(len(v.cap_notes) for v in family.versions) + 1
        local = ((version_of * windows + window + 1) * notes + note) * 2 + (formula_g >= 0)
        lookup = np.full(int(local.max()) + 1 if len(local) else 0, -1, dtype=np.int64)
        for code in np.flatnonzero(np.bincount(local)):
            met, rest = code % 2, code // 2
            note_i, rest = rest % notes, rest // notes
            window_i, version_i = rest % windows - 1, rest // windows
            lookup[code] = self._code(self.texts, _explain(family.versions[version_i], bool(met), window_i, note_i))
        self.text_code[rows] = lookup[local]

    @staticmethod
    def _code(table: dict[str, int], text: str) -> int:
        return table.setdefault(text, len(table))

    def result(self) -> pd.DataFrame:
        columns = {}
        if "event_id" in self.df.columns:
            columns["event_id"] = self.df["event_id"]  # same array, not copied (copy-on-write)
        columns["energy_g"] = self.energy
        columns["rule_ref"] = pd.Categorical.from_codes(self.ref_code, categories=list(self.refs) or [""])
        columns["explanation"] = pd.Categorical.from_codes(self.text_code, categories=list(self.texts) or [""])
        columns["capped"] = self.capped
        # object dtype keeps None for "no error" (pandas would infer str with NaN)
        none = np.full(self.n, None, dtype=object) if self.error is None else None
        columns["error"] = pd.Series(self.error if none is None else none, index=self.df.index, dtype=object)
        columns["reason"] = pd.Series(self.reason if none is None else none, index=self.df.index, dtype=object)
        return pd.DataFrame(columns, index=self.df.index, copy=False)  # the arrays are ours


def _explain(version, met: bool, window: int, note: int) -> str:
    if not met:
        return f"condition not met: {version.when.text if version.when else 'True'}"
    text = version.energy.text.strip()
    if version.running_field is not None:
        text += f": increase over the day's highest {version.running_field}"
    if window >= 0:
        multiplier = version.multipliers[window]
        text += f"; multiplier x{multiplier.factor} ({multiplier.label})"
    if note:
        text += f"; {version.cap_notes[note - 1]}"
    return text


def _utc_ns(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """UTC nanoseconds of a tz-aware datetime column, and which rows hold a time."""
    if not isinstance(column.dtype, pd.DatetimeTZDtype):
        raise InvalidFrame("occurred_at must be a tz-aware datetime column (e.g. datetime64[ns, UTC])")
    naive = column.dt.tz_convert("UTC").dt.as_unit("ns").dt.tz_localize(None)
    stamps = naive.to_numpy().view(np.int64).copy()
    usable = naive.notna().to_numpy()
    stamps[~usable] = 0
    return stamps, usable


def _factorize(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (-1 for NA) and the distinct values of a column."""
    if isinstance(column.dtype, pd.CategoricalDtype):  # e.g. dictionary-encoded Parquet
        return column.cat.codes.to_numpy(dtype=np.int64), np.asarray(column.cat.categories, dtype=object)
    if isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow":
        # pyarrow's dictionary encoding is about twice as fast as pd.factorize on strings
        encoded = pc.dictionary_encode(pa.array(column.array))
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        codes = encoded.indices.to_numpy(zero_copy_only=False)
        if encoded.null_count:
            codes = np.where(encoded.is_valid().to_numpy(zero_copy_only=False), codes, -1)
        return codes.astype(np.int64), np.asarray(encoded.dictionary.to_pylist(), dtype=object)
    codes, uniques = pd.factorize(column, sort=False)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


@dataclass
class FamilyValues:
    rows: np.ndarray  # valid rows of the family, time order
    version_of: np.ndarray  # index into family.versions
    condition: np.ndarray  # bool: `when` holds
    formula_g: np.ndarray  # grams of the formula; -1 where the condition is not met
    columns: dict[str, np.ndarray]  # field values of the valid rows


def family_values(frame: Frame, family: RuleFamily, rows: np.ndarray) -> FamilyValues | None:
    """Validate the rows of one rule id and evaluate their versions' formulas."""
    count = len(rows)
    version_of = _versions_of(frame.stamps[rows], family)
    unscored = version_of < 0
    if unscored.any():
        frame.reject(rows[unscored], "unknown_type", f"no version of rule {family.id} is in force at occurred_at")
    reason = np.where(unscored, -1, 0)
    field_of = np.full(count, None, dtype=object)
    condition = np.zeros(count, dtype=bool)
    formula_g = np.full(count, -1, dtype=np.int64)
    running = family.running_field
    totals = np.zeros(count, dtype=np.float64)
    for index, version in enumerate(family.versions):
        mine = np.flatnonzero(version_of == index) if len(family.versions) > 1 or unscored.any() else None
        mine_rows = rows if mine is None else rows[mine]
        if not len(mine_rows):
            continue
        at = np.arange(count) if mine is None else mine
        values = _validate(frame, version, mine_rows, reason, field_of, at)
        ok = reason[at] == 0
        if not ok.all():
            at = at[ok]
            values = {name: array[ok] for name, array in values.items()}
        n = len(at)
        if not n:
            continue
        holds = version.when.vector(values, n) if version.when_fn is not None else np.ones(n, dtype=bool)
        condition[at] = holds
        if running is not None:
            totals[at] = values[running]
        elif version.energy_const is not None:
            formula_g[at] = np.where(holds, version.energy_const, -1)
        else:
            formula_g[at] = np.where(holds, grams_of(version.energy.vector(values, n)), -1)
    bad = np.flatnonzero(reason > 0)
    if len(bad):
        messages = [f"field '{field_of[i]}': {_REASONS[int(reason[i])].replace('_', ' ')}" for i in bad]
        frame.reject(rows[bad], "invalid_data", np.array(messages, dtype=object))
    if len(bad) or unscored.any():
        keep = np.flatnonzero(reason == 0)
        if not len(keep):
            return None
        rows, version_of, condition, formula_g, totals = (
            rows[keep], version_of[keep], condition[keep], formula_g[keep], totals[keep]
        )
    columns = {running: totals} if running is not None else {}
    return FamilyValues(rows, version_of, condition, formula_g, columns)


def _versions_of(stamps: np.ndarray, family: RuleFamily) -> np.ndarray:
    """Index of the version in force for each UTC nanosecond stamp (-1: none)."""
    version_of = np.full(len(stamps), -1, dtype=np.int64)
    for index, version in enumerate(family.versions):
        inside = stamps >= ns_of(version.effective_from)
        if version.effective_to is not None:
            inside &= stamps < ns_of(version.effective_to)
        version_of[inside] = index
    return version_of


def ns_of(moment) -> int:
    """Nanoseconds since the epoch of a tz-aware datetime."""
    return pd.Timestamp(moment).as_unit("ns").value


def _validate(frame: Frame, version, rows, reason, field_of, at) -> dict[str, np.ndarray]:
    """Mark reason/field_of (at positions ``at``) of the first problem of each row, in the
    order ``validate_data`` checks: unknown fields, then each declared field in turn."""

    def mark(bad: np.ndarray, code: int, name: str) -> None:
        fresh = at[bad & (reason[at] == 0)]
        reason[fresh] = code
        field_of[fresh] = name

    unknown = frame.unknown_fields(version.fields, rows) & (reason[at] == 0)
    if unknown.any():
        reason[at[unknown]] = UNKNOWN_FIELD
        field_of[at[unknown]] = [frame.first_unknown(version.fields, row) for row in rows[unknown]]
    values: dict[str, np.ndarray] = {}
    for name, kind in version.fields.items():
        array, problems = _field(frame, name, kind, rows)
        for code in (MISSING, WRONG_TYPE, OUT_OF_BOUNDS):
            mark(problems == code, code, name)
        values[name] = array
    return values


def _field(frame: Frame, name: str, kind: str, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values (float64 / bool / object) of one declared field over ``rows``, and a problem
    code per row (0: fine)."""
    series = frame.column(name)
    if series is None:
        return np.zeros(len(rows)), np.full(len(rows), MISSING)
    present = frame.present(name)[rows]
    problems = np.where(present, 0, MISSING)
    dtype_kind = series.dtype.kind
    if kind in ("int", "float") and dtype_kind in "iuf":
        values = frame.floats(name)[rows]
        if kind == "int" and dtype_kind == "f":
            problems[present & (values != np.floor(values))] = WRONG_TYPE
        problems[(problems == 0) & ~(np.abs(values) <= MAX_FIELD_MAGNITUDE)] = OUT_OF_BOUNDS
        return values, problems
    if kind == "bool" and dtype_kind == "b":
        return series.to_numpy(dtype=bool, na_value=False)[rows], problems
    if dtype_kind == "O":
        return _object_field(frame, name, kind, rows, problems)
    problems[present] = WRONG_TYPE
    return np.zeros(len(rows)), problems


def _object_field(frame: Frame, name: str, kind: str, rows, problems) -> tuple[np.ndarray, np.ndarray]:
    taken = frame.df[name].iloc[rows]
    raw = taken.to_numpy(dtype=object)
    if kind == "str" and isinstance(taken.dtype, pd.StringDtype):
        lengths = taken.str.len().to_numpy(dtype=np.float64, na_value=0)
        problems[(problems == 0) & (lengths > MAX_TEXT_FIELD_CHARS)] = OUT_OF_BOUNDS
        return raw, problems
    dtype = {"int": np.float64, "float": np.float64, "bool": bool, "str": object}[kind]
    values = np.zeros(len(rows), dtype=dtype)
    for i in np.flatnonzero(problems == 0):
        try:
            values[i] = typed_value(name, kind, raw[i], "")
        except InvalidEventData as error:
            problems[i] = _CODES[error.reason]
    return values, problems
