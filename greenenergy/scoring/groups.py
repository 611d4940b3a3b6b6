"""Per-group running sums and maxima over rows in time order, with numpy.

The batch path needs, for every row, "how many / how many grams / the highest total
*earlier in the same group*" (a group being one user's period and key). ``Groups`` sorts
the rows by group once (stably, so time order holds inside a group) and answers these
as exclusive prefix operations, with no Python loop over rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_VALUE_BITS = 41  # running totals are < 2**41 (fields are bounded by 1e12 < 2**40)


def dense_codes(*columns: np.ndarray) -> np.ndarray:
    """Dense int64 codes (0..G-1) of the row-wise combination of integer ``columns``."""
    codes = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:
        column_codes, uniques = pd.factorize(column, sort=False)
        codes = codes * max(len(uniques), 1) + column_codes
        codes, _ = pd.factorize(codes, sort=False)
        codes = codes.astype(np.int64, copy=False)
    return codes


class Groups:
    """Rows (in time order) partitioned by dense group ``codes``."""

    def __init__(self, codes: np.ndarray) -> None:
        self.codes = codes
        self.size = int(codes.max()) + 1 if len(codes) else 0
        self.order = np.argsort(codes, kind="stable")
        sorted_codes = codes[self.order]
        starts = np.flatnonzero(np.diff(sorted_codes)) + 1
        self.starts = np.concatenate(([0], starts)) if len(codes) else starts
        counts = np.diff(np.concatenate((self.starts, [len(codes)])))
        self._start_of = np.repeat(self.starts, counts)  # per sorted position
        self._sorted_codes = sorted_codes

    def first_rows(self) -> np.ndarray:
        """Index (into the rows) of the first row of each group, by group code."""
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
        """Sum of ``values`` per group, by group code."""
        if not len(values):
            return np.zeros(0, dtype=values.dtype)
        return np.add.reduceat(values[self.order], self.starts)

    def maxima(self, values: np.ndarray) -> np.ndarray:
        if not len(values):
            return np.zeros(0, dtype=values.dtype)
        return np.maximum.reduceat(values[self.order], self.starts)
