"""Compiled rules as values: versions, families, caps, multipliers, and what data must look like.

A ``RuleFamily`` holds the ``RuleVersion``s of one rule id (and so of one event type: at most
one rule id may score an event type); their effective windows ``[effective_from,
effective_to)`` in UTC are disjoint, and the version in force at ``occurred_at`` validates and
scores an event.

Caps are kept per rule *id*: a family's usage **slots** are the distinct ``(per, key)``
pairs named by the caps of any of its versions, and every scored event of the family
updates all of them, so a day's count carries across a version change even when the
versions' caps differ. ``rulebook.RuleBook`` puts families together with their scorers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# numpy scalars count as ints / floats / bools too: data may come from a DataFrame row
from numpy import bool_ as _np_bool
from numpy import floating as _np_float
from numpy import integer as _np_int

from greenenergy.scoring.calendar import PER_INDEX
from greenenergy.scoring.errors import InvalidEventData, NoRuleInForce
from greenenergy.scoring.expr import Expression
from greenenergy.scoring.limits import MAX_EVENT_ENERGY_G, MAX_FIELD_MAGNITUDE, MAX_TEXT_FIELD_CHARS
from greenenergy.scoring.schema import Methodology


@dataclass(frozen=True)
class Cap:
    per: str
    key: str | None
    max_count: int | None
    max_energy_g: int | None
    slot: int  # index into the family's slots

    def describe(self, what: str) -> str:
        limit = self.max_count if what == "max_count" else self.max_energy_g
        per_key = f" per {self.key}" if self.key else ""
        return f"cap {self.per}{per_key} {what} {limit}"


@dataclass(frozen=True)
class Multiplier:
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive
    factor: int | float
    label: str  # as written, e.g. "2026-09-05..2026-09-12"


@dataclass(eq=False)
class RuleVersion:
    id: str
    version: int
    event_type: str
    effective_from: datetime
    effective_to: datetime | None
    fields: dict[str, str]
    when: Expression | None
    energy: Expression
    caps: tuple[Cap, ...]
    multipliers: tuple[Multiplier, ...]
    aggregate: str | None
    methodology: Methodology
    source: str  # "file:line"
    bounds: dict[str, tuple[int | float | None, int | float | None]] = field(default_factory=dict)
    # ^ (min, max) as declared, inclusive, of the int / float fields declared with a bound
    # derived for the hot path:
    ref: str = ""
    checks: tuple[tuple[str, str, Any, Any], ...] = ()  # (field, type, lowest, highest value) to validate
    when_fn: Any = None  # scalar closure of ``when`` or None (always true)
    energy_fn: Any = None  # scalar closure of ``energy_g``
    energy_const: int | None = None  # grams when ``energy_g`` folded to a constant
    cap_notes: tuple[str, ...] = ()  # "cap day max_count 10 reached", ...
    count_caps: tuple[tuple[int, int, int], ...] = ()  # (slot, max_count, 1-based note)
    energy_caps: tuple[tuple[int, int, int], ...] = ()  # (slot, max_energy_g, 1-based note)
    running_field: str | None = None
    scores: dict[tuple, Any] = field(default_factory=dict)  # online Score cache (see outcome)
    plain_scores: dict[int, Any] = field(default_factory=dict)  # ... when no multiplier or cap bit

    def __post_init__(self) -> None:
        self.ref = f"{self.id}@{self.version}"
        self.checks = field_checks(self.fields, self.bounds)
        self.when_fn = self.when.scalar if self.when is not None and self.when.constant is not True else None
        self.energy_fn = self.energy.scalar
        constant = self.energy.constant
        if constant is not None:
            self.energy_const = to_grams(constant)
        notes: list[str] = []
        count_caps, energy_caps = [], []
        for cap in self.caps:
            if cap.max_count is not None:
                notes.append(cap.describe("max_count") + " reached")
                count_caps.append((cap.slot, cap.max_count, len(notes)))
            if cap.max_energy_g is not None:
                notes.append(cap.describe("max_energy_g"))
                energy_caps.append((cap.slot, cap.max_energy_g, len(notes)))
        self.cap_notes = tuple(notes)
        self.count_caps = tuple(count_caps)
        self.energy_caps = tuple(energy_caps)
        if self.aggregate == "running_total":
            (self.running_field,) = self.fields

    @staticmethod
    def multiplied(grams: int, factor: int | float) -> int:
        """Grams inside a multiplier window: floored, clamped like any formula result."""
        return to_grams(grams * factor)

    def in_force(self, moment: datetime) -> bool:
        return self.effective_from <= moment and (self.effective_to is None or moment < self.effective_to)

    def validate(self, data: Any) -> dict[str, Any]:
        """Typed copy of ``data``; raises ``InvalidEventData`` naming the field and why."""
        return validate_data(self.fields, self.checks, self.bounds, data, self.ref)

    def grams_at(self, values: Mapping[str, Any]) -> int:
        """The formula's grams for ``values``: floored and clamped to [0, MAX_EVENT_ENERGY_G]."""
        if self.energy_const is not None:
            return self.energy_const
        return to_grams(self.energy.scalar(values))


def to_grams(value: float) -> int:
    """Floor a formula result to whole grams within [0, MAX_EVENT_ENERGY_G]."""
    if value <= 0:
        return 0
    if value >= MAX_EVENT_ENERGY_G:
        return MAX_EVENT_ENERGY_G
    return int(value)  # positive, so truncation is floor


@dataclass(eq=False)
class RuleFamily:
    """All versions of one rule id, sorted by ``effective_from``."""

    id: str
    event_type: str
    versions: tuple[RuleVersion, ...]
    slots: tuple[tuple[str, str | None], ...]  # (per, key) usage rows kept per event
    running_field: str | None
    uniform_caps: bool  # every version has the same caps (the batch path vectorises them)
    slot_specs: tuple[tuple[str, int, str | None], ...] = ()  # (per, index in period triple, key)
    single: RuleVersion | None = None  # the one version, open-ended, if so

    def __post_init__(self) -> None:
        self.slot_specs = tuple((per, PER_INDEX[per], key) for per, key in self.slots)
        if len(self.versions) == 1 and self.versions[0].effective_to is None:
            self.single = self.versions[0]

    def version_at(self, moment: datetime) -> RuleVersion:
        """The version in force at the UTC ``moment``."""
        for version in self.versions:
            if version.in_force(moment):
                return version
        raise NoRuleInForce(
            f"no version of rule {self.id} is in force at {moment.isoformat()}",
            event_type=self.event_type,
        )


def field_checks(
    fields: Mapping[str, str], bounds: Mapping[str, tuple[Any, Any]]
) -> tuple[tuple[str, str, Any, Any], ...]:
    """Per declared field: (name, type, lowest, highest value it may hold): for numbers the
    declared bounds within the magnitude limit, so that one chained comparison of the hot
    path checks both; None for text and bools."""
    checks = []
    for name, kind in fields.items():
        low = high = None
        if kind in ("int", "float"):
            declared_low, declared_high = bounds.get(name, (None, None))
            low = -MAX_FIELD_MAGNITUDE if declared_low is None else declared_low
            high = MAX_FIELD_MAGNITUDE if declared_high is None else declared_high
        checks.append((name, kind, low, high))
    return tuple(checks)


def validate_data(
    fields: Mapping[str, str],
    checks: tuple[tuple[str, str, Any, Any], ...],
    bounds: Mapping[str, tuple[Any, Any]],
    data: Any,
    ref: str,
) -> dict[str, Any]:
    """Check ``data`` against declared ``fields`` (``checks``: see ``field_checks``, and
    their declared ``bounds``); return typed values (floats as float)."""
    if type(data) is not dict and not isinstance(data, Mapping):
        raise InvalidEventData(f"{ref}: data must be an object of fields", field="data", reason="not_a_mapping")
    if not data.keys() <= fields.keys():
        name = next(n for n in data if n not in fields)
        declared = ", ".join(sorted(fields)) or "none"
        raise InvalidEventData(
            f"{ref}: unknown field '{name}' (declared: {declared})", field=str(name), reason="unknown_field"
        )
    values: dict[str, Any] = {}
    for name, kind, low, high in checks:
        value = data.get(name, _MISSING)
        # fast paths for the usual Python types; anything else goes through typed_value
        kind_of = type(value)
        if (kind_of is int and kind == "int" and low <= value <= high) or (
            kind_of is str and kind == "str" and len(value) <= MAX_TEXT_FIELD_CHARS
        ):
            values[name] = value
        elif value is _MISSING:
            raise InvalidEventData(f"{ref}: field '{name}' ({kind}) is missing", field=name, reason="missing")
        else:
            typed = typed_value(name, kind, value, ref)
            if name in bounds:
                lowest, highest = bounds[name]
                if (lowest is not None and typed < lowest) or (highest is not None and typed > highest):
                    raise outside_bounds(ref, name, lowest, highest, typed)
            values[name] = typed
    return values


_MISSING = object()


def typed_value(name: str, kind: str, value: Any, ref: str) -> Any:
    """``value`` of field ``name`` as its declared ``kind``; raises ``InvalidEventData``."""
    is_bool = isinstance(value, (bool, _np_bool))
    if kind == "int":
        if is_bool or not isinstance(value, (int, _np_int)):
            raise _wrong(ref, name, "an integer", value)
        value = int(value)
        if abs(value) > MAX_FIELD_MAGNITUDE:
            raise _too_large(ref, name)
        return value
    if kind == "float":
        if is_bool or not isinstance(value, (int, float, _np_int, _np_float)):
            raise _wrong(ref, name, "a number", value)
        if isinstance(value, (int, _np_int)) and abs(int(value)) > MAX_FIELD_MAGNITUDE:
            raise _too_large(ref, name)
        number = float(value)
        if not math.isfinite(number) or abs(number) > MAX_FIELD_MAGNITUDE:
            raise _too_large(ref, name)
        return number
    if kind == "bool":
        if not is_bool:
            raise _wrong(ref, name, "true or false", value)
        return bool(value)
    if not isinstance(value, str):
        raise _wrong(ref, name, "text", value)
    if len(value) > MAX_TEXT_FIELD_CHARS:
        raise InvalidEventData(
            f"{ref}: field '{name}' is longer than {MAX_TEXT_FIELD_CHARS} characters",
            field=name,
            reason="out_of_bounds",
        )
    return value


def _wrong(ref: str, name: str, expected: str, value: Any) -> InvalidEventData:
    return InvalidEventData(
        f"{ref}: field '{name}' must be {expected}, got {type(value).__name__} {value!r:.40}",
        field=name,
        reason="wrong_type",
    )


def outside_bounds(ref: str, name: str, lowest: Any, highest: Any, value: int | float) -> InvalidEventData:
    """A value within the magnitude limit but outside the field's declared bounds."""
    return InvalidEventData(
        f"{ref}: field '{name}' {bounds_text(lowest, highest, value)}", field=name, reason="out_of_bounds"
    )


def bounds_text(lowest: Any, highest: Any, value: int | float) -> str:
    """``must be at least 1, got 0``: the declared bounds (None: none) and the value."""
    if highest is None:
        allowed = f"at least {lowest!r}"
    elif lowest is None:
        allowed = f"at most {highest!r}"
    else:
        allowed = f"at least {lowest!r} and at most {highest!r}"
    return f"must be {allowed}, got {value!r}"


def _too_large(ref: str, name: str) -> InvalidEventData:
    return InvalidEventData(
        f"{ref}: field '{name}' is out of bounds (|value| <= {MAX_FIELD_MAGNITUDE:.0e})",
        field=name,
        reason="out_of_bounds",
    )
