"""Score one event at a time: the online path.

``score(rulebook, event, state)`` applies the version in force at ``event.occurred_at``:

1. condition: ``when`` false -> 0 g, nothing counted, running total untouched;
2. formula: ``energy_g`` floored and clamped to [0, MAX_EVENT_ENERGY_G]; for a
   ``running_total`` rule, formula(new total) - formula(day's highest total so far) when
   the new total is higher (the day's highest is then raised), else 0;
3. multiplier: inside a campaign window, grams * factor, floored and clamped again;
4. count caps: an event with grams > 0 at this point counts; if any count cap of its
   period (and key) already holds ``max_count`` events, it earns 0 and counts nowhere;
5. energy caps: the award is cut to what is left under each ``max_energy_g``.

An event that passed the count caps increments the count of every usage slot of its rule
id (even when an energy cap then cuts it to 0 g) and adds its award to their energy.
Scores are immutable and cached per rule version, so repeated outcomes cost a lookup.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from greenenergy.clock import UTC, ensure_utc
from greenenergy.scoring.errors import UnknownEventType
from greenenergy.scoring.limits import MAX_EVENT_ENERGY_G
from greenenergy.scoring.rulebook import RuleBook, RuleVersion
from greenenergy.scoring.state import ScoringState

MAX_CACHED_SCORES = 100_000  # per rule version
_UNUSED = (0, 0, False)  # a usage row not loaded nor written yet
_NO_TOTAL = (0, False)  # a running total not loaded nor written yet


class EventIn(NamedTuple):
    """An event to score; ``data`` already validated by ``RuleBook.validate``."""

    user_id: str
    event_type: str
    occurred_at: datetime  # tz-aware; UTC is fastest
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Score:
    """What one event earned and why.

    ``energy_g`` is the award (int grams, after caps); ``explanation`` names the formula and
    its grams, the multiplier and the cap that bit, e.g. ``"37 * boxes = 74; multiplier x2
    (2026-09-05..2026-09-12) = 148; cap day max_energy_g 370 -> 111"``. ``condition_met`` is
    False when ``when`` was false; ``capped`` when a cap lowered the award; ``multiplier`` is
    the factor applied, or None.
    """

    energy_g: int
    rule_id: str
    rule_version: int
    rule_ref: str  # "id@version"
    explanation: str
    condition_met: bool
    capped: bool
    multiplier: int | float | None


def score(rulebook: RuleBook, event: EventIn, state: ScoringState) -> Score:
    """The grams ``event`` earns under ``rulebook``, updating ``state`` (caps, running totals)."""
    # One flat function on purpose: this is the hot path of ingestion, and every attribute
    # lookup and call costs. ``version.plan`` holds what it needs, unpacked in one step.
    family = rulebook.by_type.get(event.event_type)
    if family is None:
        raise UnknownEventType(f"no rule scores event type '{event.event_type}'", event_type=event.event_type)
    moment = event.occurred_at
    if moment.tzinfo is not UTC:
        moment = ensure_utc(moment, what="occurred_at")
    version = family.single
    if version is None or moment < version.effective_from:
        version = family.version_at(moment)
    when, const, energy, windows, slots, counts, energies, running, rule_id = version.plan
    data = event.data
    if when is not None and not when(data):
        return _outcome(version, -1, -1, 0, 0)
    triple = None
    if running is None:
        if const is None:
            x = energy(data)
            formula_g = 0 if x <= 0 else MAX_EVENT_ENERGY_G if x >= MAX_EVENT_ENERGY_G else int(x)
        else:
            formula_g = const
    else:
        triple = rulebook.hours.get(moment.toordinal() * 24 + moment.hour) or rulebook.periods(moment)
        running_key = (event.user_id, rule_id, triple[0])
        row = state.running_rows.get(running_key)
        previous, dirty = row if row is not None else _NO_TOTAL
        total = data[running]
        formula_g = 0
        if total > previous:
            state.running_rows[running_key] = (total, True)
            if not dirty:
                state.dirty_running_list.append(running_key)
            if const is None:
                x = energy({running: total})
                y = energy({running: previous})
                formula_g = (0 if x <= 0 else MAX_EVENT_ENERGY_G if x >= MAX_EVENT_ENERGY_G else int(x)) - (
                    0 if y <= 0 else MAX_EVENT_ENERGY_G if y >= MAX_EVENT_ENERGY_G else int(y)
                )
                if formula_g < 0:
                    formula_g = 0
    grams = formula_g
    window = -1
    if windows:
        for index, multiplier in enumerate(windows):
            if multiplier.start <= moment < multiplier.end:
                x = grams * multiplier.factor
                grams = 0 if x <= 0 else MAX_EVENT_ENERGY_G if x >= MAX_EVENT_ENERGY_G else int(x)
                window = index
                break
    if grams <= 0 or not slots:
        return _outcome(version, formula_g, window, grams, 0)
    if triple is None:
        # LocalCalendar.periods, its per-hour cache looked up inline
        triple = rulebook.hours.get(moment.toordinal() * 24 + moment.hour) or rulebook.periods(moment)
    user_id = event.user_id
    if len(slots) > 1:
        keys = [
            (user_id, rule_id, per, triple[index], "" if key_field is None else str(data[key_field]))
            for per, index, key_field in slots
        ]
        award, note = apply_caps(version, keys, grams, state)
        return _outcome(version, formula_g, window, award, note)
    # one usage slot (most rules): apply_caps inlined
    per, index, key_field = slots[0]
    key = (user_id, rule_id, per, triple[index], "" if key_field is None else str(data[key_field]))
    rows = state.usage_rows
    usage = rows.get(key)
    if usage is None:  # a new row: nothing used yet, so no cap can bite
        award = grams
        cut = 0
        for _, limit, note in energies:
            if award > limit:
                award = limit
                cut = note
        rows[key] = (1, award, True)
        state.dirty_usage_list.append(key)
        if not cut and window < 0 and award == formula_g:  # _outcome's common case, inlined
            found = version.plain_scores.get(award)
            if found is not None:
                return found
        return _outcome(version, formula_g, window, award, cut)
    count, used, dirty = usage
    for _, limit, note in counts:
        if count >= limit:
            return _outcome(version, formula_g, window, 0, note)
    award = grams
    cut = 0
    for _, limit, note in energies:
        room = limit - used
        if award > room:
            award = room if room > 0 else 0
            cut = note
    rows[key] = (count + 1, used + award, True)
    if not dirty:
        state.dirty_usage_list.append(key)
    if not cut and window < 0 and award == formula_g:  # _outcome's common case, inlined
        found = version.plain_scores.get(award)
        if found is not None:
            return found
    return _outcome(version, formula_g, window, award, cut)


def score_many(rulebook: RuleBook, events: Iterable[EventIn], state: ScoringState) -> list[Score]:
    """``score`` each event in the order given (give them in ``occurred_at`` order)."""
    return [score(rulebook, event, state) for event in events]


def apply_caps(version: RuleVersion, keys: list[tuple], grams: int, state: ScoringState) -> tuple[int, int]:
    """Apply ``version``'s caps to an event earning ``grams`` > 0 whose usage slots are
    ``keys`` (one per slot of its family); update the usage. Returns (award, note) where
    ``note`` is the 1-based index in ``version.cap_notes`` of the cap that bit, or 0."""
    rows = state.usage_rows
    usages = [rows.get(key) or _UNUSED for key in keys]
    for slot, limit, note in version.count_caps:
        if usages[slot][0] >= limit:
            return 0, note
    award = grams
    cut = 0
    for slot, limit, note in version.energy_caps:
        room = limit - usages[slot][1]
        if award > room:
            award = room if room > 0 else 0
            cut = note
    for key, (count, used, dirty) in zip(keys, usages):
        rows[key] = (count + 1, used + award, True)
        if not dirty:
            state.dirty_usage_list.append(key)
    return award, cut


def _outcome(version: RuleVersion, formula_g: int, window: int, award: int, note: int) -> Score:
    """The (cached) Score; ``formula_g`` -1 means the condition was not met; ``note`` is a
    1-based index into ``version.cap_notes`` of the cap that bit (0: none)."""
    if window < 0 and not note and award == formula_g:
        found = version.plain_scores.get(award)  # the common case: the formula's grams
        if found is None:
            if len(version.plain_scores) >= MAX_CACHED_SCORES:
                version.plain_scores.clear()
            found = version.plain_scores[award] = _build(version, formula_g, window, award, note)
        return found
    key = (formula_g, window, award, note)
    found = version.scores.get(key)
    if found is None:
        if len(version.scores) >= MAX_CACHED_SCORES:
            version.scores.clear()
        found = version.scores[key] = _build(version, formula_g, window, award, note)
    return found


def _build(version: RuleVersion, formula_g: int, window: int, award: int, note: int) -> Score:
    if formula_g < 0:
        text = f"condition not met: {version.when.text if version.when else 'True'}"
        return Score(0, version.id, version.version, version.ref, text, False, False, None)
    energy_text = version.energy.text.strip()
    if version.running_field is not None:
        text = f"{energy_text}: +{formula_g} over the day's highest {version.running_field}"
    elif version.energy_const is not None:
        text = f"{formula_g} g"
    else:
        text = f"{energy_text} = {formula_g}"
    factor = None
    grams = formula_g
    if window >= 0:
        multiplier = version.multipliers[window]
        factor = multiplier.factor
        grams = version.multiplied(formula_g, factor)
        text += f"; multiplier x{factor} ({multiplier.label}) = {grams}"
    if note:
        text += f"; {version.cap_notes[note - 1]} -> {award}"
    return Score(award, version.id, version.version, version.ref, text, True, award < grams, factor)
