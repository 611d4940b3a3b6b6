"""Per-group running sums and maxima over rows in time order, with numpy.

The batch path needs, for every row, "how many / how many grams / the highest total
*earlier in the same group*" (a group being one user's period and key). Two classes
answer these as exclusive prefix operations, with no Python loop over rows, behind one
interface (``first_rows``, ``spread``, ``earlier_sum``, ``earlier_max``, ``totals``,
``maxima``; each numbers its groups its own way, consistently across these methods):

* ``Runs``: the rows are already grouped, each group one contiguous run in time order
  (the batch path sorts a rule's rows by user once, stably, so a user's day, week and
  month are runs when local days never go back in time). Nothing is sorted.
* ``Groups``: any rows in time order; it sorts them by group once (stably, so time order
  holds inside a group). Keys are non-negative int64 composites of small integer columns
  (``composite``); the stable order is an LSD radix sort in 16-bit passes (numpy sorts
  16-bit keys by radix), linear in the rows, unlike a comparison sort of 64-bit keys.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_VALUE_BITS = 41  # running totals are < 2**41 (fields are bounded by 1e12 < 2**40)
# earlier_max packs (group number, value) into one int64; this many groups per pass keep
# the packed numbers below 2**62, however many groups a batch has
GROUPS_PER_PASS = 1 << (62 - _VALUE_BITS)


def composite(*columns: np.ndarray) -> np.ndarray:
    """One non-negative int64 key per row that is equal exactly when all ``columns`` are."""
    key = np.zeros(len(columns[0]), dtype=np.int64)
    span = 1
    for column in columns:
        low = int(column.min()) if len(column) else 0
        width = (int(column.max()) - low + 1) if len(column) else 1
        if span * width >= 2**62:  # would overflow: renumber what we have densely first
            key = pd.factorize(key)[0].astype(np.int64)
            span = int(key.max()) + 1 if len(key) else 1
        key = key * width + (column - low)
        span *= width
    return key


def stable_order(keys: np.ndarray) -> np.ndarray:
    """Indices that sort non-negative int64 ``keys``, equal keys keeping their order."""
    top = int(keys.max()) if len(keys) else 0
    order = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
    shift = 16
    while top >> shift:
        digit = ((keys[order] >> shift) & 0xFFFF).astype(np.uint16)
        order = order[np.argsort(digit, kind="stable")]
        shift += 16
    return order


def time_order(stamps: np.ndarray) -> np.ndarray:
    """Indices that sort int64 nanosecond ``stamps``, equal stamps keeping their order.

    A radix sort (``stable_order``) of the stamps counted from the earliest, in the coarsest
    unit that divides them all (s, ms, us or ns): events written to the second over a month
    take two passes, twice as fast as numpy's stable comparison sort of int64."""
    if len(stamps) < 2:
        return np.arange(len(stamps))
    offsets = stamps - stamps.min()
    for unit in (1_000, 1_000_000, 1_000_000_000):
        if (offsets % unit).any():
            break
        offsets //= unit
    if int(offsets.max()) >= 1 << 48:  # four passes or more: no better than a comparison sort
        return np.argsort(stamps, kind="stable")
    return stable_order(offsets)


def _earlier_max(values: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Exclusive running max of non-negative ``values`` within contiguous groups (0 at each
    group's first row): one cumulative max over (group number, value) packed in an int64."""
    out = np.empty(len(values), dtype=np.int64)
    for first in range(0, len(starts), GROUPS_PER_PASS):
        last = min(first + GROUPS_PER_PASS, len(starts))
        low = int(starts[first])
        high = int(starts[last]) if last < len(starts) else len(values)
        local_starts = starts[first:last] - low
        offset = np.repeat(np.arange(last - first, dtype=np.int64) << _VALUE_BITS, lengths[first:last])
        running = np.maximum.accumulate(offset + values[low:high])
        before = np.empty_like(running)
        before[1:] = running[:-1]
        before[local_starts] = offset[local_starts]  # nothing earlier in the group
        out[low:high] = before - offset
    return out


def _exclusive(values: np.ndarray) -> np.ndarray:
    """Sum of the values before each position (0 at the first)."""
    before = np.cumsum(values)
    before -= values
    return before


class Runs:
    """Rows whose groups are contiguous runs: a new group starts wherever any of the
    ``columns`` changes from the previous row."""

    def __init__(self, *columns: np.ndarray) -> None:
        n = len(columns[0])
        change = np.empty(n, dtype=bool)
        if n:
            change[0] = True
            np.not_equal(columns[0][1:], columns[0][:-1], out=change[1:])
            for column in columns[1:]:
                change[1:] |= column[1:] != column[:-1]
        self.n = n
        self.starts = np.flatnonzero(change)
        self.size = len(self.starts)
        self.lengths = np.diff(np.append(self.starts, n))

    def first_rows(self) -> np.ndarray:
        """Index of the first row of each group, by group number."""
        return self.starts

    def spread(self, per_group: np.ndarray) -> np.ndarray:
        """Each row's value of ``per_group`` (indexed by group number)."""
        return np.repeat(per_group, self.lengths)

    def earlier_sum(self, values: np.ndarray) -> np.ndarray:
        """For each row, the sum of ``values`` over earlier rows of its group."""
        before = _exclusive(values)
        return before - np.repeat(before[self.starts], self.lengths)

    def earlier_max(self, values: np.ndarray) -> np.ndarray:
        """For each row, the max of non-negative ``values`` over earlier rows (0 if none)."""
        return _earlier_max(values, self.starts, self.lengths)

    def totals(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` per group, by group number."""
        if not self.n:
            return np.zeros(0, dtype=values.dtype)
        return np.add.reduceat(values, self.starts)

    def maxima(self, values: np.ndarray) -> np.ndarray:
        if not self.n:
            return np.zeros(0, dtype=values.dtype)
        return np.maximum.reduceat(values, self.starts)


class Groups:
    """Rows (in time order) partitioned by equal ``keys`` (from ``composite``)."""

    def __init__(self, keys: np.ndarray) -> None:
        n = len(keys)
        self.order = stable_order(keys)
        ordered = keys[self.order]
        boundary = ordered[1:] != ordered[:-1]
        self.starts = np.concatenate(([0], np.flatnonzero(boundary) + 1)) if n else np.zeros(0, dtype=np.int64)
        self.size = len(self.starts)
        sorted_codes = np.concatenate(([0], np.cumsum(boundary))) if n else np.zeros(0, dtype=np.int64)
        self.codes = np.empty(n, dtype=np.int64)  # dense group number of each row
        self.codes[self.order] = sorted_codes
        self.lengths = np.diff(np.concatenate((self.starts, [n])))
        self._start_of = np.repeat(self.starts, self.lengths)  # per sorted position

    def first_rows(self) -> np.ndarray:
        """Index (into the rows) of the first row of each group, by group number."""
        return self.order[self.starts]

    def spread(self, per_group: np.ndarray) -> np.ndarray:
        """Each row's value of ``per_group`` (indexed by group number)."""
        return per_group[self.codes]

    def earlier_sum(self, values: np.ndarray) -> np.ndarray:
        """For each row, the sum of ``values`` over earlier rows of its group."""
        before = _exclusive(values[self.order])
        result = np.empty_like(before)
        result[self.order] = before - before[self._start_of]
        return result

    def earlier_max(self, values: np.ndarray) -> np.ndarray:
        """For each row, the max of non-negative ``values`` over earlier rows (0 if none)."""
        result = np.empty(len(values), dtype=np.int64)
        result[self.order] = _earlier_max(values[self.order], self.starts, self.lengths)
        return result

    def totals(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` per group, by group number."""
        if not len(values):
            return np.zeros(0, dtype=values.dtype)
        return np.add.reduceat(values[self.order], self.starts)

    def maxima(self, values: np.ndarray) -> np.ndarray:
        if not len(values):
            return np.zeros(0, dtype=values.dtype)
        return np.maximum.reduceat(values[self.order], self.starts)
