"""Scorers: each rule version turned, once at load, into one closure for its shape.

``build_scorers(families, calendar)`` returns ``{event_type: scorer}``; ``scorer(event, state)``
scores one ``EventIn`` (a tuple ``user_id, event_type, occurred_at, data``) exactly as
rules/README.md orders it: condition -> formula -> multiplier -> count caps -> energy caps.

Why closures per shape: the online path is CPython executing one event at a time, and
its cost is bytecodes and memory touched per event, not arithmetic. A closure binds the
version's constants (window, condition, grams, cap limits, slot layout, the Scores it can
return) as cell variables, so the per-event code reads no attribute of the rule and
skips every branch its shape cannot take. The shapes:

* ``fixed_count``: one usage slot, constant grams, one count cap, nothing else (most
  shipped rules): every possible Score is built at load;
* ``one_slot``: one usage slot, any count / energy caps, no multiplier, no running total;
* ``running``: a running total with at most one usage slot and no multiplier;
* ``general``: anything else (several slots, multipliers), the reference order in full.

Every shape gives the Score and state change that ``general`` gives for the same event
(tests/unit/scoring/test_scorers.py and a property of tests/property/
test_scoring_equivalence.py check each against it). A version's scorer scores the
events of its own window ``[effective_from, effective_to)``; an event outside it goes to
the family's ``elsewhere``, which finds the version in force (or raises NoRuleInForce).
No code is generated: the closures are ordinary Python functions written below.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from greenenergy.clock import UTC, ensure_utc
from greenenergy.scoring.calendar import LocalCalendar
from greenenergy.scoring.limits import MAX_EVENT_ENERGY_G
from greenenergy.scoring.outcome import Score, outcome
from greenenergy.scoring.rules import RuleFamily, RuleVersion
from greenenergy.scoring.state import ScoringState

Scorer = Callable[[Any, ScoringState], Score]
_OPEN_END = datetime.max.replace(tzinfo=UTC)  # effective_to of an open-ended version
_UNUSED = (0, 0, False)  # a usage row not loaded nor written yet
_NO_TOTAL = (0, False)  # a running total not loaded nor written yet
MAX_G = MAX_EVENT_ENERGY_G


def build_scorers(families: Iterable[RuleFamily], calendar: LocalCalendar) -> dict[str, Scorer]:
    """One scorer per event type: that of the family's latest version, which hands events
    of another version's window on."""
    return {family.event_type: family_scorers(calendar, family)[-1] for family in families}


def family_scorers(calendar: LocalCalendar, family: RuleFamily, *, shapes: bool = True) -> list[Scorer]:
    """The scorer of each version of ``family`` (``shapes=False``: all ``general``, the
    reference the specialised shapes are tested against)."""
    scorers: list[Scorer] = []
    versions = family.versions

    def elsewhere(event: Any, state: ScoringState) -> Score:
        at = event[2]
        if at.tzinfo is not UTC:
            at = ensure_utc(at, what="occurred_at")
        version = family.version_at(at)  # raises NoRuleInForce when no version covers ``at``
        return scorers[versions.index(version)](event, state)

    for version in versions:
        build = shape_of(family, version) if shapes else _general
        scorers.append(build(calendar, family, version, elsewhere))
    return scorers


def shape_of(family: RuleFamily, version: RuleVersion) -> Callable[..., Scorer]:
    """The most specialised shape that can score ``version``."""
    if version.multipliers or len(family.slot_specs) > 1:
        return _general
    if version.running_field is not None:
        return _running
    if not family.slot_specs or (version.energy_const is not None and version.energy_const <= 0):
        return _general  # never touches usage: nothing to specialise
    if version.energy_const is not None and len(version.count_caps) == 1 and not version.energy_caps:
        return _fixed_count
    return _one_slot


def _window(version: RuleVersion) -> tuple[datetime, datetime]:
    return version.effective_from, version.effective_to or _OPEN_END


def _fixed_count(calendar: LocalCalendar, family: RuleFamily, version: RuleVersion, elsewhere: Scorer) -> Scorer:
    start, end = _window(version)
    when = version.when_fn
    recent, periods = calendar.recent, calendar.periods
    rule_id = version.id
    ((per, index, key_field),) = family.slot_specs
    ((_, limit, note),) = version.count_caps
    grams = version.energy_const
    first_row = (1, grams, True)
    not_met = outcome(version, -1, -1, 0, 0)
    earned = outcome(version, grams, -1, grams, 0)
    blocked = outcome(version, grams, -1, 0, note)

    def fixed_count(event: Any, state: ScoringState) -> Score:
        user_id, _, at, data = event
        if at.tzinfo is not UTC:
            at = ensure_utc(at, what="occurred_at")
        if not start <= at < end:
            return elsewhere(event, state)
        if when is not None and not when(data):
            return not_met
        low, high, triple = recent[0]  # the periods of the hour last seen (see calendar)
        if not low <= at < high:
            triple = periods(at)
        key = (user_id, rule_id, per, triple[index], "" if key_field is None else str(data[key_field]))
        rows = state.usage_rows
        usage = rows.get(key)
        if usage is None:
            rows[key] = first_row
            state.dirty_usage_list.append(key)
            return earned
        count, used, dirty = usage
        if count >= limit:
            return blocked
        rows[key] = (count + 1, used + grams, True)
        if not dirty:
            state.dirty_usage_list.append(key)
        return earned

    return fixed_count


def _one_slot(calendar: LocalCalendar, family: RuleFamily, version: RuleVersion, elsewhere: Scorer) -> Scorer:
    start, end = _window(version)
    when, energy, const = version.when_fn, version.energy_fn, version.energy_const
    recent, periods = calendar.recent, calendar.periods
    rule_id = version.id
    ((per, index, key_field),) = family.slot_specs
    counts = tuple((limit, note) for _, limit, note in version.count_caps)
    energies = tuple((limit, note) for _, limit, note in version.energy_caps)
    plain_scores = version.plain_scores
    not_met = outcome(version, -1, -1, 0, 0)
    zero = outcome(version, 0, -1, 0, 0)

    def one_slot(event: Any, state: ScoringState) -> Score:
        user_id, _, at, data = event
        if at.tzinfo is not UTC:
            at = ensure_utc(at, what="occurred_at")
        if not start <= at < end:
            return elsewhere(event, state)
        if when is not None and not when(data):
            return not_met
        if const is None:
            x = energy(data)
            if x < 1:
                return zero  # floors to 0 g: counts toward no cap
            grams = MAX_G if x >= MAX_G else int(x)
        else:
            grams = const
        low, high, triple = recent[0]  # the periods of the hour last seen (see calendar)
        if not low <= at < high:
            triple = periods(at)
        key = (user_id, rule_id, per, triple[index], "" if key_field is None else str(data[key_field]))
        rows = state.usage_rows
        count, used, dirty = rows.get(key) or _UNUSED
        for limit, note in counts:
            if count >= limit:
                return outcome(version, grams, -1, 0, note)
        award = grams
        cut = 0
        for limit, note in energies:
            room = limit - used
            if award > room:
                award = room if room > 0 else 0
                cut = note
        rows[key] = (count + 1, used + award, True)
        if not dirty:
            state.dirty_usage_list.append(key)
        if not cut:
            found = plain_scores.get(award)
            if found is not None:
                return found
        return outcome(version, grams, -1, award, cut)

    return one_slot


def _running(calendar: LocalCalendar, family: RuleFamily, version: RuleVersion, elsewhere: Scorer) -> Scorer:
    start, end = _window(version)
    when, energy, const = version.when_fn, version.energy_fn, version.energy_const
    recent, periods = calendar.recent, calendar.periods
    rule_id, field = version.id, version.running_field
    slot = family.slot_specs[0] if family.slot_specs else None
    per, index, key_field = slot or ("", 0, None)
    counts = tuple((limit, note) for _, limit, note in version.count_caps)
    energies = tuple((limit, note) for _, limit, note in version.energy_caps)
    plain_scores = version.plain_scores
    not_met = outcome(version, -1, -1, 0, 0)
    zero = outcome(version, 0, -1, 0, 0)
    at_zero_g = version.grams_at({field: 0})  # formula(0): the day's start

    def running(event: Any, state: ScoringState) -> Score:
        user_id, _, at, data = event
        if at.tzinfo is not UTC:
            at = ensure_utc(at, what="occurred_at")
        if not start <= at < end:
            return elsewhere(event, state)
        if when is not None and not when(data):
            return not_met
        low, high, triple = recent[0]
        if not low <= at < high:
            triple = periods(at)
        running_key = (user_id, rule_id, triple[0])
        running_rows = state.running_rows
        previous, dirty = running_rows.get(running_key) or _NO_TOTAL
        total = data[field]
        if total <= previous:
            return zero
        running_rows[running_key] = (total, True)
        if not dirty:
            state.dirty_running_list.append(running_key)
        if const is not None:
            return zero  # a constant formula never rises
        x = energy(data)  # data holds exactly the running field
        grams = 0 if x <= 0 else MAX_G if x >= MAX_G else int(x)
        if previous:
            y = energy({field: previous})
            grams -= 0 if y <= 0 else MAX_G if y >= MAX_G else int(y)
        else:
            grams -= at_zero_g
        if grams <= 0:
            return zero
        if slot is None:
            return plain_scores.get(grams) or outcome(version, grams, -1, grams, 0)
        key = (user_id, rule_id, per, triple[index], "" if key_field is None else str(data[key_field]))
        rows = state.usage_rows
        count, used, dirty = rows.get(key) or _UNUSED
        for limit, note in counts:
            if count >= limit:
                return outcome(version, grams, -1, 0, note)
        award = grams
        cut = 0
        for limit, note in energies:
            room = limit - used
            if award > room:
                award = room if room > 0 else 0
                cut = note
        rows[key] = (count + 1, used + award, True)
        if not dirty:
            state.dirty_usage_list.append(key)
        if not cut:
            found = plain_scores.get(award)
            if found is not None:
                return found
        return outcome(version, grams, -1, award, cut)

    return running


def _general(calendar: LocalCalendar, family: RuleFamily, version: RuleVersion, elsewhere: Scorer) -> Scorer:
    """Any version: the whole order of rules/README.md, step by step."""
    start, end = _window(version)
    when, energy, const = version.when_fn, version.energy_fn, version.energy_const
    periods = calendar.periods
    rule_id, running = version.id, version.running_field
    windows = version.multipliers
    slots = family.slot_specs
    not_met = outcome(version, -1, -1, 0, 0)

    def general(event: Any, state: ScoringState) -> Score:
        user_id, _, moment, data = event
        if moment.tzinfo is not UTC:
            moment = ensure_utc(moment, what="occurred_at")
        if not start <= moment < end:
            return elsewhere(event, state)
        if when is not None and not when(data):
            return not_met
        triple = None
        if running is None:
            if const is None:
                x = energy(data)
                formula_g = 0 if x <= 0 else MAX_G if x >= MAX_G else int(x)
            else:
                formula_g = const
        else:
            triple = periods(moment)
            running_key = (user_id, rule_id, triple[0])
            previous, dirty = state.running_rows.get(running_key) or _NO_TOTAL
            total = data[running]
            formula_g = 0
            if total > previous:
                state.running_rows[running_key] = (total, True)
                if not dirty:
                    state.dirty_running_list.append(running_key)
                if const is None:
                    formula_g = max(0, version.grams_at({running: total}) - version.grams_at({running: previous}))
        grams = formula_g
        window = -1
        for index, multiplier in enumerate(windows):
            if multiplier.start <= moment < multiplier.end:
                grams = version.multiplied(grams, multiplier.factor)
                window = index
                break
        if grams <= 0 or not slots:
            return outcome(version, formula_g, window, grams, 0)
        if triple is None:
            triple = periods(moment)
        keys = [
            (user_id, rule_id, per, triple[index], "" if key_field is None else str(data[key_field]))
            for per, index, key_field in slots
        ]
        award, note = apply_caps(version, keys, grams, state)
        return outcome(version, formula_g, window, award, note)

    return general


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
    for key, (count, used, dirty) in zip(keys, usages, strict=True):
        rows[key] = (count + 1, used + award, True)
        if not dirty:
            state.dirty_usage_list.append(key)
    return award, cut
