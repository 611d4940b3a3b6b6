"""Load a rules directory into a ``RuleBook``, reporting every problem at once.

``load_rules(directory, tz)`` reads every ``*.yaml`` / ``*.yml`` file of ``directory``
(sorted by name), validates each rule (``schema``), compiles its expressions
(``expr``), then checks the rules against each other. Every problem of every file is
collected as ``file:line: rule-id: message``; any problem fails the whole load with
``greenenergy.errors.CatalogError(problems)``. ``check_rules`` returns the same list.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from greenenergy.clock import UTC
from greenenergy.errors import CatalogError
from greenenergy.scoring.errors import ExpressionError
from greenenergy.scoring.expr import Expression, compile_expression
from greenenergy.scoring.rulebook import Cap, Multiplier, RuleBook, RuleFamily, RuleVersion
from greenenergy.scoring.schema import CapSpec, RuleSpec
from greenenergy.scoring.yamlfile import RawRule, read_rule_file

MAX_FILE_BYTES = 1_000_000
_WHERE = re.compile(r"^(.*?):(\d+): ")


def load_rules(directory: Path, tz: ZoneInfo) -> RuleBook:
    """The compiled rules of ``directory``; raises ``CatalogError`` listing every problem."""
    book, problems = _load(_read_directory(Path(directory)), tz)
    if problems:
        raise CatalogError(problems)
    return book


def check_rules(directory: Path, tz: ZoneInfo) -> list[str]:
    """Every problem of the rule files in ``directory`` (empty when they are fine)."""
    return _load(_read_directory(Path(directory)), tz)[1]


def rules_from_yaml(text: str, tz: ZoneInfo, *, name: str = "<rules>") -> RuleBook:
    """A ``RuleBook`` from one rule file's text (tests, back-tests of a draft rule)."""
    book, problems = _load([(name, text)], tz)
    if problems:
        raise CatalogError(problems)
    return book


def _read_directory(directory: Path) -> list[tuple[str, str] | str]:
    """(name, text) of each rule file, or a problem string for a file that cannot be read."""
    if not directory.is_dir():
        return [f"{directory}:1: -: not a directory of rule files"]
    paths = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    if not paths:
        return [f"{directory}:1: -: no rule files (*.yaml) found"]
    sources: list[tuple[str, str] | str] = []
    for path in paths:
        if path.stat().st_size > MAX_FILE_BYTES:
            sources.append(f"{path}:1: -: file is larger than {MAX_FILE_BYTES} bytes")
            continue
        try:
            sources.append((str(path), path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as error:
            sources.append(f"{path}:1: -: cannot read: {error}")
    return sources


@dataclass
class _Draft:
    """One rule that passed the schema and compiled, before families are formed."""

    raw: RawRule
    spec: RuleSpec
    effective_from: datetime
    effective_to: datetime | None
    when: Expression | None
    energy: Expression
    multipliers: tuple[Multiplier, ...]

    def problem(self, message: str, *path: str | int) -> str:
        line = self.raw.line_of(path) if path else self.raw.line
        return f"{self.raw.file}:{line}: {self.spec.id}: {message}"

    @property
    def source(self) -> str:
        return f"{self.raw.file}:{self.raw.line}"


def _load(sources: Iterable[tuple[str, str] | str], tz: ZoneInfo) -> tuple[RuleBook, list[str]]:
    problems: list[str] = []
    drafts: list[_Draft] = []
    for source in sources:
        if isinstance(source, str):
            problems.append(source)
            continue
        raws, file_problems = read_rule_file(*source)
        problems.extend(file_problems)
        for raw in raws:
            draft = _draft(raw, tz, problems)
            if draft is not None:
                drafts.append(draft)
    families = _families(drafts, problems)
    return RuleBook(families, tz), sorted(problems, key=_file_and_line)


def _file_and_line(problem: str) -> tuple[str, int]:
    match = _WHERE.match(problem)
    return (match.group(1), int(match.group(2))) if match else (problem, 0)


def _draft(raw: RawRule, tz: ZoneInfo, problems: list[str]) -> _Draft | None:
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
    start = to_utc(spec.effective_from, tz)
    end = to_utc(spec.effective_to, tz) if spec.effective_to is not None else None
    before = len(problems)

    def draft_problem(message: str, *path: str | int) -> None:
        problems.append(f"{raw.file}:{raw.line_of(path) if path else raw.line}: {spec.id}: {message}")

    if end is not None and end <= start:
        draft_problem("effective_to must be later than effective_from (it is exclusive)", "effective_to")
    when = _expression(spec, "when", draft_problem)
    energy = _expression(spec, "energy_g", draft_problem)
    if when is not None and when.type != "bool":
        draft_problem(f"when must be a condition (True/False), but '{spec.when}' is a number; e.g. write '{spec.when} > 0'", "when")
    if energy is not None and energy.type not in ("int", "float"):
        draft_problem(f"energy_g must be a number of grams, but '{spec.energy_g}' is a condition; e.g. write '5 if ({spec.energy_g}) else 0'", "energy_g")
    for index, cap in enumerate(spec.caps):
        if cap.key is not None and spec.fields.get(cap.key) not in ("str", "int"):
            draft_problem(f"cap key '{cap.key}' must be a declared str or int field (declared: {', '.join(sorted(spec.fields)) or 'none'})", "caps", index, "key")
    if spec.aggregate == "running_total" and (len(spec.fields) != 1 or next(iter(spec.fields.values())) != "int"):
        draft_problem("aggregate: running_total needs exactly one field, an int holding the day's total so far (e.g. fields: {steps: int})", "aggregate")
    multipliers = _multipliers(spec, tz, draft_problem)
    if len(problems) > before or energy is None:
        return None
    return _Draft(raw, spec, start, end, when, energy, multipliers)


def _expression(spec: RuleSpec, key: str, problem) -> Expression | None:
    text = getattr(spec, key)
    if text is None:
        return None
    try:
        return compile_expression(text, spec.fields)
    except ExpressionError as error:
        problem(f"{key}: {error.message}", key)
        return None


def _multipliers(spec: RuleSpec, tz: ZoneInfo, problem) -> tuple[Multiplier, ...]:
    windows = []
    for index, item in enumerate(spec.multipliers):
        start, end = to_utc(item.start, tz), to_utc(item.to, tz)
        if end <= start:
            problem("a multiplier's 'to' must be later than its 'from' ('to' is exclusive)", "multipliers", index, "to")
            continue
        windows.append(Multiplier(start, end, item.factor, f"{item.start.isoformat()}..{item.to.isoformat()}"))
    windows.sort(key=lambda m: m.start)
    for earlier, later in zip(windows, windows[1:]):
        if later.start < earlier.end:
            problem(f"multiplier windows {earlier.label} and {later.label} overlap; at most one multiplier applies to an event", "multipliers")
    return tuple(windows)


def _families(drafts: list[_Draft], problems: list[str]) -> list[RuleFamily]:
    by_id: dict[str, list[_Draft]] = defaultdict(list)
    for draft in drafts:
        by_id[draft.spec.id].append(draft)
    families: list[RuleFamily] = []
    type_owner: dict[str, str] = {}
    for rule_id, group in by_id.items():
        group.sort(key=lambda d: (d.effective_from, d.spec.version))
        event_type = group[0].spec.event_type
        if event_type in type_owner:
            problems.append(group[0].problem(f"event type '{event_type}' is already scored by rule {type_owner[event_type]}; one rule id per event type (add a version instead)", "event_type"))
            continue
        type_owner[event_type] = rule_id
        if _consistent(group, problems):
            families.append(_family(rule_id, group, problems))
    return families


def _consistent(group: list[_Draft], problems: list[str]) -> bool:
    before = len(problems)
    first = group[0]
    seen: dict[int, _Draft] = {}
    for draft in sorted(group, key=lambda d: (d.raw.file, d.raw.line)):
        if draft.spec.version in seen:
            problems.append(draft.problem(f"version {draft.spec.version} is defined twice (also at {seen[draft.spec.version].source}); give it a new version number", "version"))
        seen.setdefault(draft.spec.version, draft)
    for draft in group[1:]:
        if draft.spec.event_type != first.spec.event_type:
            problems.append(draft.problem(f"all versions of {first.spec.id} must share event_type '{first.spec.event_type}'", "event_type"))
        if draft.spec.aggregate != first.spec.aggregate or (draft.spec.aggregate and draft.spec.fields != first.spec.fields):
            problems.append(draft.problem(f"all versions of {first.spec.id} must share aggregate (and a running total's field)", "aggregate"))
    for earlier, later in zip(group, group[1:]):
        if earlier.spec.version == later.spec.version:
            continue  # reported above
        if earlier.effective_to is None or earlier.effective_to > later.effective_from:
            problems.append(later.problem(f"version {later.spec.version} overlaps version {earlier.spec.version} ({earlier.source}); end version {earlier.spec.version} with effective_to: {later.spec.effective_from} or earlier", "effective_from"))
    slots = _slots(group)
    for draft in group:
        for per, key in slots:
            if key is not None and draft.spec.fields.get(key) not in ("str", "int"):
                problems.append(draft.problem(f"another version of {first.spec.id} caps per '{key}'; caps carry across versions, so every version must declare field '{key}' (str or int)", "fields"))
    return len(problems) == before


def _slots(group: list[_Draft]) -> tuple[tuple[str, str | None], ...]:
    slots: list[tuple[str, str | None]] = []
    for draft in group:
        for cap in draft.spec.caps:
            if (cap.per, cap.key) not in slots:
                slots.append((cap.per, cap.key))
    return tuple(slots)


def _family(rule_id: str, group: list[_Draft], problems: list[str]) -> RuleFamily:
    slots = _slots(group)
    versions = []
    for draft in group:
        spec = draft.spec
        caps = tuple(Cap(c.per, c.key, c.max_count, c.max_energy_g, slots.index((c.per, c.key))) for c in spec.caps)
        versions.append(RuleVersion(
            id=spec.id, version=spec.version, event_type=spec.event_type,
            effective_from=draft.effective_from, effective_to=draft.effective_to,
            fields=dict(spec.fields), when=draft.when, energy=draft.energy, caps=caps,
            multipliers=draft.multipliers, aggregate=spec.aggregate, methodology=spec.methodology,
            source=draft.source,
        ))
    cap_sets = {_cap_signature(d.spec.caps) for d in group}
    running = versions[0].running_field
    return RuleFamily(rule_id, group[0].spec.event_type, tuple(versions), slots, running, uniform_caps=len(cap_sets) == 1)


def _cap_signature(caps: list[CapSpec]) -> tuple:
    return tuple((c.per, c.key, c.max_count, c.max_energy_g) for c in caps)


def to_utc(moment: date | datetime, tz: ZoneInfo) -> datetime:
    """A rule's date (local midnight) or date-time (local if naive) as a UTC instant."""
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, time(0))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)


_DATE_HINT = "expected a date like 2026-09-01 or a date-time like 2026-09-01T08:00:00+08:00"
_KEY_HINTS = {
    "effective_from": _DATE_HINT,
    "effective_to": _DATE_HINT + " (or null)",
    "from": _DATE_HINT,
    "to": _DATE_HINT,
    "factor": "factor must be a number > 0 and at most 100",
    "fields": "fields maps lower-case names to int, float, str or bool",
}


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
            text = f"unknown key '{path[-1]}'; see rules/README.md for the keys of a rule"
            where = _dotted(path[:-1])
        elif "[key]" in loc:
            text = f"field name '{path[-1]}' must be lower-case letters, digits and _"
        else:
            key = next((str(p) for p in reversed(path) if not isinstance(p, int)), "")
            text = f"{_KEY_HINTS.get(key) or item['msg']} (got {item.get('input')!r:.60})"
        # one message per offending key (a union type reports each alternative)
        messages.setdefault((path, loc if kind == "missing" else ()), (f"{where}: {text}" if where else text, path))
    return list(messages.values())


def _present(value: object, loc: tuple) -> tuple:
    """The longest prefix of ``loc`` that names keys / items present in ``value``."""
    path: list = []
    for part in loc:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
            value = value[part]
        else:
            break
        path.append(part)
    return tuple(path)


def _dotted(path: tuple) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
