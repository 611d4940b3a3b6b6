"""What one event earned and why: the immutable ``Score`` and its per-version cache.

An outcome is fully described by five numbers: the rule version, the formula's grams
(``formula_g``, -1 when the condition was not met), the multiplier window that applied
(-1: none), the award after caps and the cap that bit (``note``: a 1-based index into
``version.cap_notes``, 0: none). Equal numbers give an equal ``Score``, so each version
caches its Scores by those numbers and the hot path returns a cached object instead of
building text per event. The caches are bounded (``MAX_CACHED_SCORES``); a Score handed
out stays valid after a cache is cleared because Scores are immutable.
"""

from __future__ import annotations

from dataclasses import dataclass

from greenenergy.scoring.rules import RuleVersion

MAX_CACHED_SCORES = 100_000  # per rule version


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


def outcome(version: RuleVersion, formula_g: int, window: int, award: int, note: int) -> Score:
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
