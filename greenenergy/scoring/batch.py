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
columns (``expr.vector``), running totals by per-day prefix maxima, caps by per-period
prefix counts and sums (``groups``). Count caps (and energy caps) that nest — each one's
period and key inside the next one's — are applied finest first, which equals applying
them all to each event in turn; a rule whose caps do not nest or differ between versions
is capped row by row with the online path's own ``apply_caps``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from greenenergy.scoring.batch_data import Frame, family_values, grams_of, ns_of
from greenenergy.scoring.calendar import month_start_days, week_start_days
from greenenergy.scoring.groups import Groups, composite
from greenenergy.scoring.limits import MAX_EVENT_ENERGY_G
from greenenergy.scoring.online import apply_caps
from greenenergy.scoring.rulebook import RuleBook, RuleFamily, RuleVersion
from greenenergy.scoring.state import ScoringState

IGNORED_COLUMNS = ("source",)
_PERIOD_RANK = {"day": 0, "week": 1, "month": 2}


def score_frame(
    rulebook: RuleBook,
    df: pd.DataFrame,
    state: ScoringState | None = None,
    *,
    ignore_columns: Iterable[str] = IGNORED_COLUMNS,
) -> pd.DataFrame:
    """Score every row of ``df``; see the module docstring for the columns."""
    frame = Frame(rulebook, df, tuple(ignore_columns))
    for event_type, rows in frame.rows_by_type():
        family = rulebook.by_type.get(event_type)
        if family is None:
            frame.reject(rows, "unknown_type", f"no rule scores event type '{event_type}'")
            continue
        _score_family(frame, family, rows, state)
    return frame.result()


def _score_family(frame: Frame, family: RuleFamily, rows: np.ndarray, state: ScoringState | None) -> None:
    values = family_values(frame, family, rows)  # validates; rows now only the valid ones
    if values is None:
        return
    rows, version_of, formula_g = values.rows, values.version_of, values.formula_g
    if family.running_field is not None:
        formula_g = _running_totals(frame, family, values, state)
    grams, window = _multiply(frame, family, rows, version_of, formula_g)
    award = grams.copy()
    note = np.zeros(len(rows), dtype=np.int64)
    positive = np.flatnonzero(grams > 0)
    if family.slots and len(positive):
        award_p, note_p = _caps(frame, family, rows[positive], version_of[positive], grams[positive], state)
        award[positive] = award_p
        note[positive] = note_p
    frame.accept(family, rows, version_of, formula_g, window, grams, award, note)


def _running_totals(frame: Frame, family: RuleFamily, values, state: ScoringState | None) -> np.ndarray:
    """formula(total) - formula(day's highest earlier total), when the total is higher."""
    rows, version_of = values.rows, values.version_of
    field = family.running_field
    totals = values.columns[field].astype(np.int64)
    counted = values.condition  # condition not met: not a report of the day's total
    days = frame.days[rows]
    groups = Groups(composite(frame.user_codes[rows], days))
    reported = np.where(counted, np.maximum(totals, 0), 0)
    first = groups.first_rows()
    before = np.zeros(groups.size, dtype=np.int64)
    if state is not None:
        keys = [(frame.user_ids[frame.user_codes[rows[i]]], family.id, frame.date_of(days[i])) for i in first]
        before = np.array([state.running_total(k) for k in keys], dtype=np.int64)
    previous = np.maximum(groups.earlier_max(reported), before[groups.codes])
    formula_g = np.where(counted, 0, -1).astype(np.int64)
    rises = np.flatnonzero(counted & (totals > previous))
    for index, version in enumerate(family.versions):
        mine = rises[version_of[rises] == index]
        if not len(mine):
            continue
        new = _grams_at(version, totals[mine])
        old = _grams_at(version, previous[mine])
        formula_g[mine] = np.maximum(new - old, 0)
    if state is not None:
        highest = np.maximum(groups.maxima(reported), before)
        for group in np.flatnonzero(highest > before):
            key = keys[group]
            state.set_running(key, int(highest[group]))
    return formula_g


def _grams_at(version: RuleVersion, totals: np.ndarray) -> np.ndarray:
    if version.energy_const is not None:
        return np.full(len(totals), version.energy_const, dtype=np.int64)
    field = version.running_field
    return grams_of(version.energy.vector({field: totals.astype(np.float64)}, len(totals)))


def _multiply(frame: Frame, family: RuleFamily, rows, version_of, formula_g) -> tuple[np.ndarray, np.ndarray]:
    grams = np.maximum(formula_g, 0)
    window = np.full(len(rows), -1, dtype=np.int64)
    stamps = frame.stamps[rows]
    for index, version in enumerate(family.versions):
        for w, multiplier in enumerate(version.multipliers):
            inside = (version_of == index) & (stamps >= ns_of(multiplier.start)) & (stamps < ns_of(multiplier.end))
            hit = np.flatnonzero(inside & (grams > 0))
            window[inside] = w
            if isinstance(multiplier.factor, int):
                grams[hit] = np.clip(grams[hit] * multiplier.factor, 0, MAX_EVENT_ENERGY_G)
            else:
                grams[hit] = grams_of(grams[hit].astype(np.float64) * multiplier.factor)
    return grams, window


def _caps(frame: Frame, family: RuleFamily, rows, version_of, grams, state) -> tuple[np.ndarray, np.ndarray]:
    """Award and cap note of rows that earn grams before caps (time order)."""
    periods = _slot_periods(frame, family, rows)
    version = family.versions[0]
    count_chain = _chain(family, version.count_caps)
    energy_chain = _chain(family, version.energy_caps)
    if not family.uniform_caps or count_chain is None or energy_chain is None:
        return _caps_row_by_row(frame, family, rows, version_of, grams, periods, state)
    groups = [Groups(composite(frame.user_codes[rows], days, keys)) for days, keys in periods]
    slot_keys: list[list[tuple]] = []
    before_count, before_energy = [], []
    for slot, group in enumerate(groups):
        keys = _group_keys(frame, family, slot, rows, periods, group) if state is not None else []
        # rows are (count, energy_g, dirty)
        used = [state.usage_rows.get(k) or (0, 0) for k in keys] if state is not None else []
        before_count.append(np.array([u[0] for u in used], dtype=np.int64) if used else np.zeros(group.size, np.int64))
        before_energy.append(np.array([u[1] for u in used], dtype=np.int64) if used else np.zeros(group.size, np.int64))
        slot_keys.append(keys)
    alive = np.ones(len(rows), dtype=bool)
    note = np.zeros(len(rows), dtype=np.int64)
    for slot, limit, cap_note in count_chain:
        earlier = groups[slot].earlier_sum(alive.astype(np.int64)) + before_count[slot][groups[slot].codes]
        blocked = alive & (earlier >= limit)
        alive &= ~blocked
        note[blocked] = cap_note
    award = np.where(alive, grams, 0)
    for slot, limit, cap_note in energy_chain:
        earlier = groups[slot].earlier_sum(award) + before_energy[slot][groups[slot].codes]
        cut = np.maximum(np.minimum(earlier + award, limit) - np.minimum(earlier, limit), 0)
        note[cut < award] = cap_note
        award = cut
    if state is not None:
        for slot, group in enumerate(groups):
            counts = group.totals(alive.astype(np.int64))
            energy = group.totals(award)
            for g in np.flatnonzero(counts):
                key = slot_keys[slot][g]
                state.set_usage(key, int(before_count[slot][g] + counts[g]), int(before_energy[slot][g] + energy[g]))
    return award, note


def _chain(family: RuleFamily, caps: tuple) -> list | None:
    """``caps`` finest first if each one's groups lie inside the next one's, else None."""
    slots = family.slots
    ordered = sorted(caps, key=lambda c: (_PERIOD_RANK[slots[c[0]][0]], slots[c[0]][1] is None))
    for (fine, *_), (coarse, *_) in zip(ordered, ordered[1:]):
        (fine_per, fine_key), (coarse_per, coarse_key) = slots[fine], slots[coarse]
        period_nests = fine_per == coarse_per or fine_per == "day"
        if not period_nests or (coarse_key is not None and coarse_key != fine_key):
            return None
    return ordered


def _slot_periods(frame: Frame, family: RuleFamily, rows) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per usage slot: (period start day number, key code) of each row."""
    days = frame.days[rows]
    starts = {"day": days}
    periods = []
    for per, key in family.slots:
        if per not in starts:
            starts[per] = week_start_days(days) if per == "week" else month_start_days(days)
        keys = frame.key_codes(key, rows) if key is not None else np.zeros(len(rows), dtype=np.int64)
        periods.append((starts[per], keys))
    return periods


def _group_keys(frame: Frame, family: RuleFamily, slot: int, rows, periods, group: Groups) -> list[tuple]:
    per, key = family.slots[slot]
    first = group.first_rows()
    starts, _ = periods[slot]
    return [
        (frame.user_ids[frame.user_codes[rows[i]]], family.id, per, frame.date_of(starts[i]),
         "" if key is None else frame.key_text(key, rows[i]))
        for i in first
    ]


def _caps_row_by_row(
    frame: Frame, family: RuleFamily, rows, version_of, grams, periods, state
) -> tuple[np.ndarray, np.ndarray]:
    """Caps applied event by event with the online code (caps that do not vectorise)."""
    state = state if state is not None else ScoringState()
    award = np.zeros(len(rows), dtype=np.int64)
    note = np.zeros(len(rows), dtype=np.int64)
    slot_names = [(per, key) for per, key in family.slots]
    for i in range(len(rows)):
        row = rows[i]
        user_id = frame.user_ids[frame.user_codes[row]]
        keys = [
            (user_id, family.id, per, frame.date_of(periods[s][0][i]), "" if key is None else frame.key_text(key, row))
            for s, (per, key) in enumerate(slot_names)
        ]
        award[i], note[i] = apply_caps(family.versions[version_of[i]], keys, int(grams[i]), state)
    return award, note
