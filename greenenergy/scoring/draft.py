"""Check and compile one rule of a rule file, on its own.

``draft_rule`` validates the rule's keys and types (``schema``), converts its times to
UTC, compiles ``when`` and ``energy_g`` (``expr``) and checks what one rule can check
alone (field bounds, cap keys, running totals, multiplier windows). Each problem is
appended as ``file:line: rule-id: message``, the line being that of the offending key.
Checks between rules (versions, event types) are in ``loader``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from greenenergy.clock import UTC
from greenenergy.scoring.errors import ExpressionError
from greenenergy.scoring.expr import Expression, compile_expression
from greenenergy.scoring.limits import MAX_FIELD_MAGNITUDE
from greenenergy.scoring.rules import Multiplier
from greenenergy.scoring.schema import FieldSpec, RuleSpec
from greenenergy.scoring.yamlfile import RawRule

Problem = Callable[..., None]  # report a problem: (message, *path into the rule)


@dataclass
class Draft:
    """One rule that passed the schema and compiled, before families are formed."""

    raw: RawRule
    spec: RuleSpec
    effective_from: datetime
    effective_to: datetime | None
    when: Expression | None
    energy: Expression
    multipliers: tuple[Multiplier, ...]
    bounds: dict[str, tuple[int | float | None, int | float | None]]  # field -> (min, max), bounded fields

    def problem(self, message: str, *path: str | int) -> str:
        line = self.raw.line_of(path) if path else self.raw.line
        return f"{self.raw.file}:{line}: {self.spec.id}: {message}"

    @property
    def source(self) -> str:
        return f"{self.raw.file}:{self.raw.line}"


def draft_rule(raw: RawRule, tz: ZoneInfo, problems: list[str]) -> Draft | None:
    """The checked rule, or None after appending its problems to ``problems``."""
    where = f"{raw.file}:{{line}}: {raw.label}: "
    for key, line in raw.duplicate_keys():
        problems.append(where.format(line=line) + f"key '{key}' appears twice; keep one")
    if not isinstance(raw.value, dict):
        problems.append(where.format(line=raw.line) + "a rule must be a mapping of keys (id, version, ...)")
        return None
    try:
        spec = RuleSpec.model_validate(raw.value)
    except ValidationError as error:
        for message, path in _schema_messages(error, raw.value):
            problems.append(where.format(line=raw.line_of(path)) + message)
        return None
    before = len(problems)

    def problem(message: str, *path: str | int) -> None:
        problems.append(f"{raw.file}:{raw.line_of(path) if path else raw.line}: {spec.id}: {message}")

    start = to_utc(spec.effective_from, tz)
    end = to_utc(spec.effective_to, tz) if spec.effective_to is not None else None
    if end is not None and end <= start:
        problem("effective_to must be later than effective_from (it is exclusive)", "effective_to")
    bounds = _bounds(spec, problem)
    when = _expression(spec, "when", problem)
    energy = _expression(spec, "energy_g", problem)
    if when is not None and when.type != "bool":
        problem(
            f"when must be a condition (True/False), but '{spec.when}' is a number; e.g. write '{spec.when} > 0'",
            "when",
        )
    if energy is not None and energy.type not in ("int", "float"):
        problem(
            f"energy_g must be a number of grams, but '{spec.energy_g}' is a condition; "
            f"e.g. write '5 if ({spec.energy_g}) else 0'",
            "energy_g",
        )
    types = spec.types
    declared = ", ".join(sorted(types)) or "none"
    for index, cap in enumerate(spec.caps):
        if cap.key is not None and types.get(cap.key) not in ("str", "int"):
            problem(
                f"cap key '{cap.key}' must be a declared str or int field (declared: {declared})", "caps", index, "key"
            )
    if spec.aggregate == "running_total" and list(types.values()) != ["int"]:
        problem(
            "aggregate: running_total needs exactly one field, an int holding the day's total so far "
            "(e.g. fields: {steps: int})",
            "aggregate",
        )
    multipliers = _multipliers(spec, tz, problem)
    if len(problems) > before or energy is None:
        return None
    return Draft(raw, spec, start, end, when, energy, multipliers, bounds)


def to_utc(moment: date | datetime, tz: ZoneInfo) -> datetime:
    """A rule's date (local midnight) or date-time (local if naive) as a UTC instant."""
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, time(0))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)


def _bounds(spec: RuleSpec, problem: Problem) -> dict[str, tuple[int | float | None, int | float | None]]:
    """``{field: (min, max)}`` of the fields declared with a bound; problems reported."""
    bounds = {}
    for name, field in spec.fields.items():
        if field.min is None and field.max is None:
            continue
        if _bounds_fit(name, field, problem):
            bounds[name] = (field.min, field.max)
    return bounds


def _bounds_fit(name: str, field: FieldSpec, problem: Problem) -> bool:
    where = f"fields.{name}"
    if field.type not in ("int", "float"):
        key = "min" if field.min is not None else "max"
        problem(
            f"{where}: min and max apply to int and float fields only, not to a {field.type} field; remove them",
            "fields",
            name,
            key,
        )
        return False
    fine = True
    for key in ("min", "max"):
        bound = getattr(field, key)
        if bound is None:
            continue
        if abs(bound) > MAX_FIELD_MAGNITUDE:
            problem(
                f"{where}.{key}: a bound must lie between -{MAX_FIELD_MAGNITUDE:,} and {MAX_FIELD_MAGNITUDE:,} "
                f"(the values a field can hold), got {bound!r}",
                "fields",
                name,
                key,
            )
            fine = False
        elif field.type == "int" and not isinstance(bound, int):
            whole = math.ceil(bound) if key == "min" else math.floor(bound)
            problem(
                f"{where}.{key}: an int field's bound must be a whole number: write {key}: {whole} (got {bound!r})",
                "fields",
                name,
                key,
            )
            fine = False
    if fine and field.min is not None and field.max is not None and field.min > field.max:
        problem(
            f"{where}: min {field.min!r} is greater than max {field.max!r}; no value could pass", "fields", name, "min"
        )
        fine = False
    return fine


def _expression(spec: RuleSpec, key: str, problem: Problem) -> Expression | None:
    text = getattr(spec, key)
    if text is None:
        return None
    try:
        return compile_expression(text, spec.types)
    except ExpressionError as error:
        problem(f"{key}: {error.message}", key)
        return None


def _multipliers(spec: RuleSpec, tz: ZoneInfo, problem: Problem) -> tuple[Multiplier, ...]:
    windows = []
    for index, item in enumerate(spec.multipliers):
        start, end = to_utc(item.start, tz), to_utc(item.to, tz)
        if end <= start:
            problem("a multiplier's 'to' must be later than its 'from' ('to' is exclusive)", "multipliers", index, "to")
            continue
        windows.append(Multiplier(start, end, item.factor, f"{item.start.isoformat()}..{item.to.isoformat()}"))
    windows.sort(key=lambda m: m.start)
    for earlier, later in itertools.pairwise(windows):
        if later.start < earlier.end:
            problem(
                f"multiplier windows {earlier.label} and {later.label} overlap; "
                "at most one multiplier applies to an event",
                "multipliers",
            )
    return tuple(windows)


_DATE_HINT = "expected a date like 2026-09-01 or a date-time like 2026-09-01T08:00:00+08:00"
_KEY_HINTS = {
    "effective_from": _DATE_HINT,
    "effective_to": _DATE_HINT + " (or null)",
    "from": _DATE_HINT,
    "to": _DATE_HINT,
    "factor": "factor must be a number > 0 and at most 100",
    "fields": "fields maps lower-case names to int, float, str or bool",
    "min": "a bound must be a finite number",
    "max": "a bound must be a finite number",
}
_RULE_KEYS_HINT = "see rules/README.md for the keys of a rule"
_FIELD_HINT = "a field is declared as int, float, str or bool, or as {type: int, min: 1, max: 100}"


def _schema_messages(error: ValidationError, value: dict) -> list[tuple[str, tuple]]:
    """One message per offending key: what is wrong and what to write instead."""
    messages: dict[tuple, tuple[str, tuple]] = {}
    for item in error.errors():
        loc = item["loc"]
        path = _present(value, loc)
        where = _dotted(path)
        kind = item["type"]
        if kind == "missing":
            text = f"missing required key '{loc[len(path)]}'"
        elif kind == "extra_forbidden":
            keys = "a field takes type, min and max" if _declaration(path[:-1]) else _RULE_KEYS_HINT
            text = f"unknown key '{path[-1]}'; {keys}"
            where = _dotted(path[:-1])
        elif "[key]" in loc:
            text = f"field name '{path[-1]}' must be lower-case letters, digits and _"
        elif _declaration(path) or (_declaration(path[:-1]) and path[-1] == "type"):
            text = f"{_FIELD_HINT} (got {item.get('input')!r:.60})"
        else:
            key = next((str(p) for p in reversed(path) if not isinstance(p, int)), "")
            text = f"{_KEY_HINTS.get(key) or item['msg']} (got {item.get('input')!r:.60})"
        # one message per offending key: a union type reports each alternative
        dedupe = (path, loc if kind == "missing" else ())
        messages.setdefault(dedupe, (f"{where}: {text}" if where else text, path))
    return list(messages.values())


def _declaration(path: tuple) -> bool:
    """Whether ``path`` names one field's declaration (``fields.boxes``)."""
    return len(path) == 2 and path[0] == "fields"


def _present(value: object, loc: tuple) -> tuple:
    """The longest prefix of ``loc`` that names keys / items present in ``value``."""
    path: list = []
    for part in loc:
        if (isinstance(value, dict) and part in value) or (
            isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value)
        ):
            value = value[part]
        else:
            break
        path.append(part)
    return tuple(path)


def _dotted(path: tuple) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
