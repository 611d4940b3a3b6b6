"""What scoring remembers between events: cap usage and walking's running totals.

The caller owns a ``ScoringState``. Before scoring a batch it asks the rule book's ``state_keys_of`` which rows
the batch touches, loads those rows from storage (``load_usage`` / ``load_running``),
scores, then writes back ``dirty_usage()`` / ``dirty_running()`` (absolute new values, to
upsert) in the same database transaction as the events. A key never loaded counts as
unused (count 0, 0 g, running total 0).

* ``UsageKey(user_id, rule_id, per, period_start, key_value)`` -> ``Usage(count, energy_g)``:
  ``per`` is day / week / month, ``period_start`` the local date the period starts,
  ``key_value`` the cap key field's value as text ("" for a cap without key). ``count`` is
  the number of events that earned grams after the multiplier and passed the count caps;
  ``energy_g`` the grams they were awarded.
* ``RunningKey(user_id, rule_id, local_date)`` -> the highest running total (e.g. steps)
  already scored that local day.

Internally keys are plain tuples (they hash and compare equal to the named tuples) so the
online path does not pay for building named tuples. A usage row is stored as the tuple
``(count, energy_g, dirty)`` (a running total as ``(total, dirty)``); the first change of
a row appends its key to ``dirty_usage_list`` (``dirty_running_list``), which is cheaper
per event than adding to a set. Tuples of ints, unlike lists, are not tracked by the cycle
collector, which matters with millions of rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, NamedTuple


class UsageKey(NamedTuple):
    user_id: str
    rule_id: str
    per: str
    period_start: date
    key_value: str


class Usage(NamedTuple):
    count: int
    energy_g: int


class RunningKey(NamedTuple):
    user_id: str
    rule_id: str
    local_date: date


class ScoringState:
    """Cap usage and running totals for the users being scored; owned by the caller."""

    __slots__ = ("dirty_running_list", "dirty_usage_list", "running_rows", "usage_rows")

    def __init__(self) -> None:
        self.usage_rows: dict[tuple, tuple[int, int, bool]] = {}  # (count, energy_g, dirty)
        self.running_rows: dict[tuple, tuple[int, bool]] = {}  # (total, dirty)
        self.dirty_usage_list: list[tuple] = []  # keys whose row has dirty set
        self.dirty_running_list: list[tuple] = []

    def load_usage(self, rows: Mapping[Any, Any] | Iterable[tuple[Any, Any]]) -> None:
        """Preload usage rows ``{UsageKey: Usage or (count, energy_g)}``; not marked dirty."""
        items = rows.items() if isinstance(rows, Mapping) else rows
        for key, (count, energy_g) in items:
            key = tuple(key)
            row = self.usage_rows.get(key)
            self.usage_rows[key] = (int(count), int(energy_g), row is not None and row[2])

    def load_running(self, rows: Mapping[Any, int] | Iterable[tuple[Any, int]]) -> None:
        """Preload running totals ``{RunningKey: highest total}``; not marked dirty."""
        items = rows.items() if isinstance(rows, Mapping) else rows
        for key, total in items:
            key = tuple(key)
            row = self.running_rows.get(key)
            self.running_rows[key] = (int(total), row is not None and row[1])

    def usage(self, key: tuple) -> Usage:
        row = self.usage_rows.get(tuple(key))
        return Usage(row[0], row[1]) if row else Usage(0, 0)

    def set_usage(self, key: tuple, count: int, energy_g: int) -> None:
        """Write a usage row's new absolute values and mark it dirty."""
        row = self.usage_rows.get(key)
        self.usage_rows[key] = (count, energy_g, True)
        if row is None or not row[2]:
            self.dirty_usage_list.append(key)

    def running_total(self, key: tuple) -> int:
        row = self.running_rows.get(tuple(key))
        return row[0] if row else 0

    def set_running(self, key: tuple, total: int) -> None:
        """Write a day's new highest running total and mark it dirty."""
        row = self.running_rows.get(key)
        self.running_rows[key] = (total, True)
        if row is None or not row[1]:
            self.dirty_running_list.append(key)

    def dirty_usage(self) -> dict[UsageKey, Usage]:
        """Usage rows changed since load / ``clear_dirty``, with their new absolute values."""
        rows = self.usage_rows
        return {UsageKey._make(k): Usage(rows[k][0], rows[k][1]) for k in self.dirty_usage_list}

    def dirty_running(self) -> dict[RunningKey, int]:
        """Running totals raised since load / ``clear_dirty``."""
        rows = self.running_rows
        return {RunningKey._make(k): rows[k][0] for k in self.dirty_running_list}

    def clear_dirty(self) -> None:
        for key in self.dirty_usage_list:
            count, energy_g, _ = self.usage_rows[key]
            self.usage_rows[key] = (count, energy_g, False)
        self.dirty_usage_list.clear()
        for key in self.dirty_running_list:
            self.running_rows[key] = (self.running_rows[key][0], False)
        self.dirty_running_list.clear()
