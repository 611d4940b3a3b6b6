"""Per-group running sums and maxima over rows in time order, with numpy.

The batch path needs, for every row, "how many / how many grams / the highest total
*earlier in the same group*" (a group being one user's period and key). ``Groups`` sorts
the rows by group once (stably, so time order holds inside a group) and answers these
as exclusive prefix operations, with no Python loop over rows.

Group keys are non-negative int64 composites of small integer columns (``composite``);
the stable order is an LSD radix sort in 16-bit passes (numpy sorts 16-bit keys by radix),
which is linear in the rows, unlike a comparison sort of 64-bit keys.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_VALUE_BITS = 41  # running totals are < 2**41 (fields are bounded by 1e12 < 2**40)


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
    order = np.arange(len(keys))
    top = int(keys.max()) if len(keys) else 0
    shift = 0
    while True:
        digit = ((keys[order] >> shift) & 0xFFFF).astype(np.uint16)
        order = order[np.argsort(digit, kind="stable")]
        shift += 16
        if top >> shift == 0:
            return order


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
        self._sorted_codes = sorted_codes
        counts = np.diff(np.concatenate((self.starts, [n])))
        self._start_of = np.repeat(self.starts, counts)  # per sorted position

    def first_rows(self) -> np.ndarray:
        """Index (into the rows) of the first row of each group, by group number."""
        return self.order[self.starts]

    def earlier_sum(self, values: np.ndarray) -> np.ndarray:
        """For each row, the sum of ``values`` over earlier rows of its group."""
        ordered = values[self.order]
        before = np.cumsum(ordered) - ordered
        result = np.empty_like(before)
        result[self.order] = before - before[self._start_of]
        return result

    def earlier_max(self, values: np.ndarray) -> np.ndarray:
        """For each row, the max of non-negative ``values`` over earlier rows (0 if none)."""
        offset = self._sorted_codes << _VALUE_BITS
        keyed = offset + values[self.order]
        running = np.maximum.accumulate(keyed)
        before = np.empty_like(running)
        before[1:] = running[:-1]
        before[self.starts] = offset[self.starts]  # nothing earlier in the group
        result = np.empty_like(before)
        result[self.order] = before - offset
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
