"""Caps over a batch: count and energy caps of one rule id, with numpy, or row by row.

Vectorised (``vector_caps``) when every version of the id has the same caps and the
count caps (and, separately, the energy caps) nest: each one's period and key lie inside
the next one's (``cap_chains``). Applied finest first over the rows ordered by user then
time, each cap is one exclusive prefix sum per group (``groups``): the count of earlier
events that counted, or the grams earlier events were awarded, in the event's period (and
key). That equals applying all caps to each event in turn, in time order. Any other rule
is capped row by row with the online path's own ``apply_caps`` (``caps_row_by_row``).

An event counts when it earns grams after the multiplier and passes every count cap; an
energy cap cuts its award to what is left, ``min(earlier + grams, limit) - min(earlier,
limit)``. With a ``ScoringState``, the usage before the batch is read per group and the
new absolute usage written back (dirty), as the online path would leave it.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np

from greenenergy.scoring.batch_data import Frame
from greenenergy.scoring.batch_values import FamilyValues
from greenenergy.scoring.calendar import month_start_days, week_start_days
from greenenergy.scoring.groups import Groups, Runs, composite
from greenenergy.scoring.rules import RuleFamily
from greenenergy.scoring.scorers import apply_caps
from greenenergy.scoring.state import ScoringState

_PERIOD_RANK = {"day": 0, "week": 1, "month": 2}
Chain = list[tuple[int, int, int]]  # (slot, limit, 1-based note), finest first


class UserOrder(NamedTuple):
    """A rule id's rows ordered by user, then time: positions into the time-ordered rows,
    and the user code and local day number of each."""

    positions: np.ndarray
    users: np.ndarray
    days: np.ndarray


def cap_chains(family: RuleFamily) -> tuple[Chain, Chain] | None:
    """(count caps, energy caps), each finest first, when ``family``'s caps vectorise."""
    if not family.uniform_caps:
        return None
    version = family.versions[0]
    counts, energies = _chain(family, version.count_caps), _chain(family, version.energy_caps)
    return None if counts is None or energies is None else (counts, energies)


def _chain(family: RuleFamily, caps: tuple) -> Chain | None:
    """``caps`` finest first if each one's groups lie inside the next one's, else None."""
    slots = family.slots
    ordered = sorted(caps, key=lambda c: (_PERIOD_RANK[slots[c[0]][0]], slots[c[0]][1] is None))
    for (fine, *_), (coarse, *_) in itertools.pairwise(ordered):
        (fine_per, fine_key), (coarse_per, coarse_key) = slots[fine], slots[coarse]
        period_nests = fine_per in (coarse_per, "day")
        if not period_nests or (coarse_key is not None and coarse_key != fine_key):
            return None
    return list(ordered)


def grouping(frame: Frame, users: np.ndarray, periods: np.ndarray, keys: np.ndarray | None = None) -> Runs | Groups:
    """Groups of equal (user, period start[, key]) over rows ordered by user, then time."""
    if keys is None and frame.days_monotone:
        return Runs(users, periods)  # each user's period is one run: nothing to sort
    return Groups(composite(users, periods) if keys is None else composite(users, periods, keys))


def vector_caps(
    frame: Frame,
    family: RuleFamily,
    rows: np.ndarray,
    grams: np.ndarray,
    chains: tuple[Chain, Chain],
    order: UserOrder,
    state: ScoringState | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Award and cap note (1-based, 0: none) of each of ``rows`` (time order) earning
    ``grams`` after the multiplier."""
    count_chain, energy_chain = chains
    positions = order.positions
    rows_u = rows[positions]
    period_starts = _period_starts(order.days, family)
    slot_periods = [
        (period_starts[per], None if key is None else frame.key_codes(key, rows)[positions])
        for per, key in family.slots
    ]
    groups = [grouping(frame, order.users, starts, keys) for starts, keys in slot_periods]
    grams_u = grams[positions]
    alive = grams_u > 0  # only an event that earns grams can count
    note_u = np.zeros(len(rows), dtype=np.int64)
    before = (
        [_usage_before(frame, family, slot, rows_u, slot_periods, group, state) for slot, group in enumerate(groups)]
        if state is not None
        else None
    )
    for slot, limit, cap_note in count_chain:
        earlier = groups[slot].earlier_sum(alive)  # counts: a cumulative sum of bools is int64
        if before is not None:
            earlier += groups[slot].spread(before[slot][1])
        blocked = alive & (earlier >= limit)
        alive &= ~blocked
        note_u[blocked] = cap_note
    award_u = np.where(alive, grams_u, 0)
    for slot, limit, cap_note in energy_chain:
        earlier = groups[slot].earlier_sum(award_u)
        if before is not None:
            earlier += groups[slot].spread(before[slot][2])
        cut = np.maximum(np.minimum(earlier + award_u, limit) - np.minimum(earlier, limit), 0)
        note_u[cut < award_u] = cap_note
        award_u = cut
    if before is not None:
        for (keys, counts_before, energy_before), group in zip(before, groups, strict=True):
            counts = group.totals(alive.astype(np.int64))
            energy = group.totals(award_u)
            for g in np.flatnonzero(counts):
                state.set_usage(keys[g], int(counts_before[g] + counts[g]), int(energy_before[g] + energy[g]))
    award = np.empty(len(rows), dtype=np.int64)
    note = np.empty(len(rows), dtype=np.int64)
    award[positions] = award_u
    note[positions] = note_u
    return award, note


def _period_starts(days: np.ndarray, family: RuleFamily) -> dict[str, np.ndarray]:
    """Day numbers of the local day / ISO week / month start of each row, per period used."""
    starts = {"day": days}
    for per, _ in family.slots:
        if per not in starts:
            starts[per] = week_start_days(days) if per == "week" else month_start_days(days)
    return starts


def _usage_before(
    frame: Frame,
    family: RuleFamily,
    slot: int,
    rows: np.ndarray,
    slot_periods: list[tuple[np.ndarray, object]],
    group: Runs | Groups,
    state: ScoringState,
) -> tuple[list[tuple], np.ndarray, np.ndarray]:
    """(usage key, count, energy_g) of each group of one slot, as ``state`` holds them."""
    per, key = family.slots[slot]
    starts, _ = slot_periods[slot]
    keys = [
        (
            frame.user_ids[frame.user_codes[rows[i]]],
            family.id,
            per,
            frame.date_of(starts[i]),
            "" if key is None else frame.key_text(key, rows[i]),
        )
        for i in group.first_rows()
    ]
    used = [state.usage_rows.get(k) or (0, 0) for k in keys]  # rows are (count, energy_g, dirty)
    counts = np.array([u[0] for u in used], dtype=np.int64)
    energy = np.array([u[1] for u in used], dtype=np.int64)
    return keys, counts, energy


def caps_row_by_row(
    frame: Frame, family: RuleFamily, values: FamilyValues, grams: np.ndarray, state: ScoringState | None
) -> tuple[np.ndarray, np.ndarray]:
    """Caps applied event by event, in time order, with the online code (caps that do not
    vectorise)."""
    state = state if state is not None else ScoringState()
    rows, version_of = values.rows, values.version_of
    award = grams.copy()
    note = np.zeros(len(rows), dtype=np.int64)
    positive = np.flatnonzero(grams > 0)
    days = frame.t_days[values.at][positive]
    starts = _period_starts(days, family)
    for j, i in enumerate(positive):
        row = rows[i]
        user_id = frame.user_ids[frame.user_codes[row]]
        keys = [
            (user_id, family.id, per, frame.date_of(starts[per][j]), "" if key is None else frame.key_text(key, row))
            for per, key in family.slots
        ]
        award[i], note[i] = apply_caps(family.versions[version_of[i]], keys, int(grams[i]), state)
    return award, note
