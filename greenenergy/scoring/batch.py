"""Score a DataFrame of events at once: the batch path (back-tests, re-scoring).

``score_frame(rulebook, df, state=None)`` gives exactly the grams ``online.score`` gives
for the same events scored one by one in ``occurred_at`` order (ties in row order).
Input columns: ``event_id`` (optional), ``type``, ``user_id``, ``occurred_at`` (tz-aware),
and one column per data field (NA where an event's type does not have it). Output, in the
input's row order and index: ``event_id``, ``energy_g`` (int64), ``rule_ref`` and
``explanation`` (categoricals; the batch explanation names the formula, multiplier and the
cap that bit, without the per-event numbers), ``capped`` (bool), ``error`` (None,
``unknown_type`` or ``invalid_data``) and ``reason``. Rows with an error earn 0 and change
no state. With a ``state`` (preloaded like for the online path) the usage and running
totals are read from and written back to it, marked dirty.

Per rule id, rows are processed in time order with numpy: formulas per version from the
columns (``batch_values``, ``expr.vector``), multipliers by time span, running totals by
per-day prefix maxima and caps by per-period prefix counts and sums (``batch_caps``,
``groups``) over the rows ordered by user, then time (one stable radix sort per rule id).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from greenenergy.scoring.batch_caps import UserOrder, cap_chains, caps_row_by_row, grouping, vector_caps
from greenenergy.scoring.batch_data import Frame, grams_of, ns_of
from greenenergy.scoring.batch_values import FamilyValues, family_values
from greenenergy.scoring.limits import MAX_EVENT_ENERGY_G
from greenenergy.scoring.rulebook import RuleBook
from greenenergy.scoring.rules import RuleFamily, RuleVersion
from greenenergy.scoring.state import ScoringState

IGNORED_COLUMNS = ("source",)


def score_frame(
    rulebook: RuleBook,
    df: pd.DataFrame,
    state: ScoringState | None = None,
    *,
    ignore_columns: Iterable[str] = IGNORED_COLUMNS,
) -> pd.DataFrame:
    """Score every row of ``df``; see the module docstring for the columns."""
    frame = Frame(rulebook, df, tuple(ignore_columns))
    for event_type, start, stop in frame.type_spans():
        family = rulebook.by_type.get(event_type)
        if family is None:
            frame.reject(frame.typed_rows[start:stop], "unknown_type", f"no rule scores event type '{event_type}'")
            continue
        _score_family(frame, family, start, stop, state)
    return frame.result()


def _score_family(frame: Frame, family: RuleFamily, start: int, stop: int, state: ScoringState | None) -> None:
    values = family_values(frame, family, start, stop)  # validates; only the valid rows remain
    if values is None:
        return
    rows, version_of, formula_g = values.rows, values.version_of, values.formula_g
    chains = cap_chains(family) if family.slots else None
    order = None
    if family.running_field is not None or chains is not None:
        positions, users = frame.user_order(values.at)
        order = UserOrder(positions, users, frame.t_days[values.at][positions])
    if family.running_field is not None:
        formula_g = _running_totals(frame, family, values, order, state)
    grams, window = _multiply(family, values, formula_g)
    if not family.slots:
        award, note = grams, np.zeros(len(rows), dtype=np.int64)
    elif chains is not None:
        award, note = vector_caps(frame, family, rows, grams, chains, order, state)
    else:
        award, note = caps_row_by_row(frame, family, values, grams, state)
    frame.accept(family, values.at, version_of, formula_g, window, grams, award, note)


def _running_totals(
    frame: Frame, family: RuleFamily, values: FamilyValues, order: UserOrder, state: ScoringState | None
) -> np.ndarray:
    """formula(total) - formula(day's highest earlier total), when the total is higher."""
    rows, version_of = values.rows, values.version_of
    totals = values.columns[family.running_field]
    counted = values.condition  # condition not met: not a report of the day's total
    reported_u = np.where(counted, np.maximum(totals, 0), 0)[order.positions]
    groups = grouping(frame, order.users, order.days)  # (user, local day)
    before = np.zeros(groups.size, dtype=np.int64)
    if state is not None:
        first = order.positions[groups.first_rows()]
        days = frame.t_days[values.at]
        keys = [(frame.user_ids[frame.user_codes[rows[i]]], family.id, frame.date_of(days[i])) for i in first]
        before = np.array([state.running_total(k) for k in keys], dtype=np.int64)
    previous = np.empty(len(rows), dtype=np.int64)
    previous_u = groups.earlier_max(reported_u)
    if state is not None:
        previous_u = np.maximum(previous_u, groups.spread(before))
    previous[order.positions] = previous_u
    formula_g = np.where(counted, 0, -1).astype(np.int64)
    rises = np.flatnonzero(counted & (totals > previous))
    for index, version in enumerate(family.versions):
        mine = rises[version_of[rises] == index] if len(family.versions) > 1 else rises
        if not len(mine):
            continue
        new = _grams_at(version, totals[mine])
        old = _grams_at(version, previous[mine])
        formula_g[mine] = np.maximum(new - old, 0)
    if state is not None:
        highest = np.maximum(groups.maxima(reported_u), before)
        for group in np.flatnonzero(highest > before):
            state.set_running(keys[group], int(highest[group]))
    return formula_g


def _grams_at(version: RuleVersion, totals: np.ndarray) -> np.ndarray:
    if version.energy_const is not None:
        return np.full(len(totals), version.energy_const, dtype=np.int64)
    field = version.running_field
    return grams_of(version.energy.vector({field: totals.astype(np.float64)}, len(totals)))


def _multiply(family: RuleFamily, values: FamilyValues, formula_g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Grams after the multiplier, and the window index that applied (-1: none; None when
    the rule has no multiplier)."""
    grams = np.maximum(formula_g, 0)
    if not any(v.multipliers for v in family.versions):
        return grams, None
    window = np.full(len(grams), -1, dtype=np.int64)
    stamps = values.stamps  # ascending, so a window's rows are one span, found by bisection
    for index, start, stop in values.spans:
        for w, multiplier in enumerate(family.versions[index].multipliers):
            low, high = start + np.searchsorted(stamps[start:stop], (ns_of(multiplier.start), ns_of(multiplier.end)))
            if high <= low:
                continue
            window[low:high] = w
            part = grams[low:high]  # a view: written in place
            hit = part > 0
            if isinstance(multiplier.factor, int):
                part[hit] = np.clip(part[hit] * multiplier.factor, 0, MAX_EVENT_ENERGY_G)
            else:
                part[hit] = grams_of(part[hit].astype(np.float64) * multiplier.factor)
    return grams, window
