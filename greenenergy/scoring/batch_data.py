"""The batch path's view of a DataFrame: its columns as numpy arrays, and the output.

``Frame`` turns the input columns into numpy arrays once (UTC nanoseconds, local day
numbers, user and type codes, a time order), hands out the rows of each event type in
time order, converts data columns on first use (cached), and collects the output
columns. ``batch_values`` validates and evaluates the data columns of one rule id.

Frames are columnar, so two things differ from one event's JSON ``data``, by design: NA
stands for "field absent", and an int field may be stored as float64 (because other types'
rows are NA) as long as its values are whole numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from greenenergy.errors import InvalidInput
from greenenergy.scoring.calendar import day_number_to_date
from greenenergy.scoring.groups import stable_order, time_order
from greenenergy.scoring.limits import MAX_EVENT_ENERGY_G
from greenenergy.scoring.rulebook import RuleBook
from greenenergy.scoring.rules import RuleFamily, RuleVersion

REQUIRED_COLUMNS = ("type", "user_id", "occurred_at")
RESERVED_COLUMNS = ("event_id", *REQUIRED_COLUMNS)
_MASKED_NUMBERS = (pd.arrays.IntegerArray, pd.arrays.FloatingArray)


class InvalidFrame(InvalidInput):
    """The DataFrame lacks a required column or has an unusable one."""

    code = "invalid_frame"


def grams_of(values: np.ndarray) -> np.ndarray:
    """Formula results (float64) as grams: floored, clamped to [0, MAX_EVENT_ENERGY_G]."""
    return np.clip(np.floor(values), 0, MAX_EVENT_ENERGY_G).astype(np.int64)


class Frame:
    """The input rows as numpy arrays, grouped by event type (time order inside a type).

    ``typed_rows`` lists the usable rows (a user and a time) type by type; ``t_stamps``,
    ``t_days`` and ``t_users`` hold their UTC nanoseconds, local day numbers and user codes
    in that order, so one rule id's rows are a contiguous slice of each (``type_spans``),
    and the outputs are written slice by slice (``t_energy`` ...) and put back in row order
    once, at the end. Reading and writing whole-frame arrays at one type's scattered rows
    would touch every cache line of them once per type.
    """

    def __init__(self, rulebook: RuleBook, df: pd.DataFrame, ignore: tuple[str, ...]) -> None:
        missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
        if missing:
            raise InvalidFrame(f"events frame lacks column(s) {', '.join(missing)}")
        self.df = df
        self.n = len(df)
        self.rulebook = rulebook
        self.data_columns = [c for c in df.columns if c not in RESERVED_COLUMNS and c not in ignore]
        self.error: np.ndarray | None = None  # allocated at the first rejected row
        self.reason: np.ndarray | None = None
        self.refs: dict[str, int] = {}
        self.texts: dict[str, int] = {}
        self._cache: dict[tuple[str, str], np.ndarray] = {}
        self._present_bits: np.ndarray | None = None
        self._patterns: np.ndarray | None = None  # rows per (type code + 1, columns-present bits)
        self._dates: dict[int, date] = {}
        stamps, has_time = _utc_ns(df["occurred_at"])
        self.user_codes, self.user_ids = _factorize(df["user_id"])
        self._type_codes, self.type_names = _factorize(df["type"])
        self._type_index = {str(name): code for code, name in enumerate(self.type_names)}
        no_user = self.user_codes < 0
        self.reject(np.flatnonzero(no_user), "invalid_data", "user_id is missing")
        self.reject(np.flatnonzero(~has_time & ~no_user), "invalid_data", "occurred_at is missing")
        usable = has_time & ~no_user
        good = None if usable.all() else np.flatnonzero(usable)  # None: every row (no gather)
        # time order, ties in row order; then by type (a radix sort on small codes)
        times = stamps if good is None else stamps[good]
        if not bool(np.all(times[1:] >= times[:-1])):
            by_time = time_order(times)
            good, times = (by_time if good is None else good[by_time]), times[by_time]
        days = rulebook.calendar.local_days(times)
        # Local days never go back in time (true unless the zone turns its clocks back
        # across midnight): then each user's day, week and month are runs of that user's
        # rows in time order, and the batch path groups them without sorting (groups.Runs).
        self.days_monotone = bool(np.all(days[1:] >= days[:-1]))
        codes = (self._type_codes if good is None else self._type_codes[good]) + 1  # 0: no type
        by_type = stable_order(codes)
        self.typed_rows = by_type if good is None else good[by_type]
        self.t_stamps = times[by_type]
        self.t_days = days[by_type]
        self.t_users = self.user_codes[self.typed_rows]
        counts = np.bincount(codes, minlength=len(self.type_names) + 1)
        self._bounds = np.concatenate(([0], np.cumsum(counts)))
        size = len(self.typed_rows)
        self.t_energy = np.zeros(size, dtype=np.int64)
        self.t_capped = np.zeros(size, dtype=bool)
        self.t_ref = np.full(size, -1, dtype=np.int32)  # category codes: int32 is plenty
        self.t_text = np.full(size, -1, dtype=np.int32)

    def type_spans(self) -> Iterator[tuple[str, int, int]]:
        """(event type, start, stop) of each type's slice of ``typed_rows``."""
        bounds = self._bounds
        if bounds[1]:
            self.reject(self.typed_rows[: bounds[1]], "unknown_type", "type is missing")
        for code, name in enumerate(self.type_names):
            start, stop = int(bounds[code + 1]), int(bounds[code + 2])
            if stop > start:
                yield str(name), start, stop

    def user_order(self, at: slice | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions that order the rows at typed positions ``at`` (time order) by user,
        keeping time order; and the user codes in that order."""
        users = self.t_users[at]
        positions = stable_order(users)
        return positions, users[positions]

    # columns

    def column(self, name: str) -> pd.Series | None:
        return self.df[name] if name in self.df.columns else None

    def present(self, name: str) -> np.ndarray:
        return self._cached(name, "present", lambda s: s.notna().to_numpy(dtype=bool))

    def floats(self, name: str) -> np.ndarray:
        return self._cached(name, "floats", lambda s: s.to_numpy(dtype=np.float64, na_value=np.nan))

    def numbers(self, name: str) -> np.ndarray:
        """A numeric column's values as a numpy array (int or float; anything where NA:
        callers read only rows that hold a value)."""
        return self._cached(name, "numbers", _numbers)

    def bools(self, name: str) -> np.ndarray:
        return self._cached(name, "bools", lambda s: s.to_numpy(dtype=bool, na_value=False))

    def objects(self, name: str, rows: np.ndarray) -> np.ndarray:
        """Python objects of ``rows`` (taken first: converting a whole column is slow)."""
        return self.df[name].iloc[rows].to_numpy(dtype=object)

    def present_bits(self) -> np.ndarray:
        """Per row, bit i set when data column i (of the first 64) holds a value."""
        if self._present_bits is None:
            masked = self.data_columns[:64]
            width = next(w for w in (8, 16, 32, 64) if len(masked) <= w)
            dtype = np.dtype(f"uint{width}")
            bits = np.zeros(self.n, dtype=dtype)
            for bit, name in enumerate(masked):
                bits |= self.present(name).astype(dtype) << dtype.type(bit)
            self._present_bits = bits
        return self._present_bits

    def unknown_fields(self, fields: dict[str, str], rows: np.ndarray) -> np.ndarray:
        """Rows that hold a data column not in ``fields``, from the per-row bit mask of the
        columns present (one gather per rule instead of one per column)."""
        bits = self.present_bits()
        forbidden = sum(1 << bit for bit, name in enumerate(self.data_columns[:64]) if name not in fields)
        unknown = (bits[rows] & bits.dtype.type(forbidden)) != 0
        for name in self.data_columns[64:]:  # beyond 64 data columns: one by one
            if name not in fields:
                unknown |= self.present(name)[rows]
        return unknown

    def exact_fields(self, event_type: str, fields: dict[str, str]) -> bool:
        """Whether every row of ``event_type`` holds a value in exactly the columns
        ``fields``: then none can lack a field or hold an unknown one, and the per-row
        checks of presence are skipped. Known from one count of (type, columns present)
        pairs over the frame, when it has at most 16 data columns."""
        if len(self.data_columns) > 16 or not fields.keys() <= set(self.data_columns):
            return False
        if self._patterns is None:
            bits = self.present_bits()
            width = 8 * bits.itemsize
            pairs = (self._type_codes.astype(np.int64) + 1) * (1 << width) + bits
            counts = np.bincount(pairs, minlength=(len(self.type_names) + 1) << width)
            self._patterns = counts.reshape(len(self.type_names) + 1, 1 << width)
        wanted = sum(1 << bit for bit, name in enumerate(self.data_columns) if name in fields)
        seen = np.flatnonzero(self._patterns[self._type_index[event_type] + 1])
        return len(seen) == 1 and int(seen[0]) == wanted

    def first_unknown(self, fields: dict[str, str], row: int) -> str:
        return next(n for n in self.data_columns if n not in fields and self.present(n)[row])

    def _cached(self, name: str, what: str, make: Callable[[pd.Series], np.ndarray]) -> np.ndarray:
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
        """Mark ``rows`` (row numbers) with an error; they earn 0 (nothing is accepted for them)."""
        if not len(rows):
            return
        if self.error is None:
            self.error = np.full(self.n, None, dtype=object)
            self.reason = np.full(self.n, None, dtype=object)
        self.error[rows] = code
        self.reason[rows] = reason

    def accept(
        self,
        family: RuleFamily,
        at: np.ndarray,
        version_of: np.ndarray,
        formula_g: np.ndarray,
        window: np.ndarray,
        grams: np.ndarray,
        award: np.ndarray,
        note: np.ndarray,
    ) -> None:
        """Record the scores of the rows at typed positions ``at``."""
        self.t_energy[at] = award
        self.t_capped[at] = award < grams
        versions = family.versions
        refs = [self._code(self.refs, v.ref) for v in versions]
        self.t_ref[at] = refs[0] if len(versions) == 1 else np.asarray(refs, dtype=np.int32)[version_of]
        # one explanation per (version, window, note, condition met): number the combinations
        # that occur, with as few passes over the rows as the rule's shape allows
        windows = max(len(v.multipliers) for v in versions) + 1
        notes = max(len(v.cap_notes) for v in versions) + 1
        local = note * 2 if notes > 1 else np.zeros(len(award), dtype=np.int64)
        local += formula_g >= 0
        if windows > 1:
            local += (window + 1) * (2 * notes)
        if len(versions) > 1:
            local += version_of * (2 * notes * windows)
        lookup = np.full(int(local.max()) + 1 if len(local) else 0, -1, dtype=np.int32)
        for code in np.flatnonzero(np.bincount(local)):
            met, rest = code % 2, code // 2
            note_i, rest = rest % notes, rest // notes
            window_i, version_i = rest % windows - 1, rest // windows
            lookup[code] = self._code(self.texts, _explain(versions[version_i], bool(met), window_i, note_i))
        self.t_text[at] = lookup[local]

    def _in_row_order(self, typed: np.ndarray, missing: object) -> np.ndarray:
        """An output column in row order; rows without a type slot (no user or time) get ``missing``."""
        if len(self.typed_rows) == self.n:  # every row has its slot: nothing to fill first
            out = np.empty(self.n, dtype=typed.dtype)
        else:
            out = np.full(self.n, missing, dtype=typed.dtype)
        out[self.typed_rows] = typed
        return out

    @staticmethod
    def _code(table: dict[str, int], text: str) -> int:
        return table.setdefault(text, len(table))

    def result(self) -> pd.DataFrame:
        columns = {}
        if "event_id" in self.df.columns:
            columns["event_id"] = self.df["event_id"]  # same array, not copied (copy-on-write)
        columns["energy_g"] = self._in_row_order(self.t_energy, 0)
        ref_code, text_code = self._in_row_order(self.t_ref, -1), self._in_row_order(self.t_text, -1)
        columns["rule_ref"] = pd.Categorical.from_codes(ref_code, categories=list(self.refs) or [""])
        columns["explanation"] = pd.Categorical.from_codes(text_code, categories=list(self.texts) or [""])
        columns["capped"] = self._in_row_order(self.t_capped, False)
        # object dtype keeps None for "no error" (pandas would infer str with NaN); the
        # arrays are ours, so not copied (a copy of 1M object pointers costs tens of ms)
        none = np.full(self.n, None, dtype=object) if self.error is None else None
        for name, array in (("error", self.error), ("reason", self.reason)):
            columns[name] = pd.Series(array if none is None else none, index=self.df.index, dtype=object, copy=False)
        return pd.DataFrame(columns, index=self.df.index, copy=False)


def _explain(version: RuleVersion, met: bool, window: int, note: int) -> str:
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


def _numbers(series: pd.Series) -> np.ndarray:
    if not isinstance(series.dtype, pd.api.extensions.ExtensionDtype):
        return series.to_numpy()  # numpy ints or floats (NaN for NA): no copy
    data = getattr(series.array, "_data", None) if isinstance(series.array, _MASKED_NUMBERS) else None
    if isinstance(data, np.ndarray) and data.shape == (len(series),):
        # pandas' nullable Int64 / Float64 keep their values in a numpy array beside the
        # NA mask; reading it skips to_numpy's NA filling, five times slower per column
        return data
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


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
    """Integer codes (int32, -1 for NA) and the distinct values of a column. int32 halves
    the memory the batch path reads when it gathers codes (fewer than 2**31 users)."""
    if isinstance(column.dtype, pd.CategoricalDtype):  # e.g. dictionary-encoded Parquet
        return column.cat.codes.to_numpy(dtype=np.int32), np.asarray(column.cat.categories, dtype=object)
    if isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow":
        # pyarrow's dictionary encoding is about twice as fast as pd.factorize on strings
        encoded = pc.dictionary_encode(pa.array(column.array))
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        codes = encoded.indices.to_numpy(zero_copy_only=False)
        if encoded.null_count:
            codes = np.where(encoded.is_valid().to_numpy(zero_copy_only=False), codes, -1)
        return codes.astype(np.int32), np.asarray(encoded.dictionary.to_pylist(), dtype=object)
    codes, uniques = pd.factorize(column, sort=False)
    return codes.astype(np.int32), np.asarray(uniques, dtype=object)


def ns_of(moment: datetime | pd.Timestamp) -> int:
    """Nanoseconds since the epoch of a tz-aware datetime."""
    return pd.Timestamp(moment).as_unit("ns").value
