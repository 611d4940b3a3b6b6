"""Load a rules directory into a ``RuleBook``, reporting every problem at once.

``load_rules(directory, tz)`` reads every ``*.yaml`` / ``*.yml`` file of ``directory``
(sorted by name), checks and compiles each rule (``draft``), then checks the rules
against each other: versions of one id (unique numbers, no overlapping windows, one
event type, one aggregate, cap keys declared by every version) and one rule id per event
type. Every problem of every file is collected as ``file:line: rule-id: message``; any
problem fails the whole load with ``greenenergy.errors.CatalogError(problems)``.
``check_rules`` returns the same list (empty when the rules are fine).
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from zoneinfo import ZoneInfo

from greenenergy.errors import CatalogError
from greenenergy.scoring.draft import Draft, draft_rule
from greenenergy.scoring.rulebook import RuleBook
from greenenergy.scoring.rules import Cap, RuleFamily, RuleVersion
from greenenergy.scoring.yamlfile import read_rule_file

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


def _load(sources: Iterable[tuple[str, str] | str], tz: ZoneInfo) -> tuple[RuleBook, list[str]]:
    problems: list[str] = []
    drafts: list[Draft] = []
    for source in sources:
        if isinstance(source, str):
            problems.append(source)
            continue
        raws, file_problems = read_rule_file(*source)
        problems.extend(file_problems)
        for raw in raws:
            draft = draft_rule(raw, tz, problems)
            if draft is not None:
                drafts.append(draft)
    families = _families(drafts, problems)
    return RuleBook(families, tz), sorted(problems, key=_file_and_line)


def _file_and_line(problem: str) -> tuple[str, int]:
    match = _WHERE.match(problem)
    return (match.group(1), int(match.group(2))) if match else (problem, 0)


def _families(drafts: list[Draft], problems: list[str]) -> list[RuleFamily]:
    by_id: dict[str, list[Draft]] = defaultdict(list)
    for draft in drafts:
        by_id[draft.spec.id].append(draft)
    families: list[RuleFamily] = []
    type_owner: dict[str, str] = {}
    for rule_id, group in by_id.items():
        group.sort(key=lambda d: (d.effective_from, d.spec.version))
        event_type = group[0].spec.event_type
        if event_type in type_owner:
            problems.append(
                group[0].problem(
                    f"event type '{event_type}' is already scored by rule {type_owner[event_type]}; "
                    "one rule id per event type (add a version instead)",
                    "event_type",
                )
            )
            continue
        type_owner[event_type] = rule_id
        if _consistent(group, problems):
            families.append(_family(rule_id, group))
    return families


def _consistent(group: list[Draft], problems: list[str]) -> bool:
    """Check the versions of one rule id against each other."""
    before = len(problems)
    first = group[0]
    rule_id = first.spec.id
    seen: dict[int, Draft] = {}
    for draft in sorted(group, key=lambda d: (d.raw.file, d.raw.line)):
        number = draft.spec.version
        if number in seen:
            problems.append(
                draft.problem(
                    f"version {number} is defined twice (also at {seen[number].source}); give it a new version number",
                    "version",
                )
            )
        seen.setdefault(number, draft)
    for draft in group[1:]:
        if draft.spec.event_type != first.spec.event_type:
            problems.append(
                draft.problem(
                    f"all versions of {rule_id} must share event_type '{first.spec.event_type}'", "event_type"
                )
            )
        if draft.spec.aggregate != first.spec.aggregate or (
            draft.spec.aggregate and draft.spec.types != first.spec.types
        ):
            problems.append(
                draft.problem(
                    f"all versions of {rule_id} must share aggregate (and a running total's field)", "aggregate"
                )
            )
    for earlier, later in itertools.pairwise(group):
        if earlier.spec.version == later.spec.version:
            continue  # reported above
        if earlier.effective_to is None or earlier.effective_to > later.effective_from:
            problems.append(
                later.problem(
                    f"version {later.spec.version} overlaps version {earlier.spec.version} ({earlier.source}); "
                    f"end version {earlier.spec.version} with effective_to: {later.spec.effective_from} or earlier",
                    "effective_from",
                )
            )
    for draft in group:
        for _, key in _slots(group):
            if key is not None and draft.spec.types.get(key) not in ("str", "int"):
                problems.append(
                    draft.problem(
                        f"another version of {rule_id} caps per '{key}'; caps carry across versions, "
                        f"so every version must declare field '{key}' (str or int)",
                        "fields",
                    )
                )
    return len(problems) == before


def _slots(group: list[Draft]) -> tuple[tuple[str, str | None], ...]:
    """The distinct (per, key) usage slots named by the caps of any version."""
    slots: list[tuple[str, str | None]] = []
    for draft in group:
        for cap in draft.spec.caps:
            if (cap.per, cap.key) not in slots:
                slots.append((cap.per, cap.key))
    return tuple(slots)


def _family(rule_id: str, group: list[Draft]) -> RuleFamily:
    slots = _slots(group)
    versions = []
    for draft in group:
        spec = draft.spec
        caps = tuple(Cap(c.per, c.key, c.max_count, c.max_energy_g, slots.index((c.per, c.key))) for c in spec.caps)
        versions.append(
            RuleVersion(
                id=spec.id,
                version=spec.version,
                event_type=spec.event_type,
                effective_from=draft.effective_from,
                effective_to=draft.effective_to,
                fields=spec.types,
                bounds=draft.bounds,
                when=draft.when,
                energy=draft.energy,
                caps=caps,
                multipliers=draft.multipliers,
                aggregate=spec.aggregate,
                methodology=spec.methodology,
                source=draft.source,
            )
        )
    # the batch path vectorises caps only when every version caps alike (same list, same order)
    signatures = {tuple((c.per, c.key, c.max_count, c.max_energy_g) for c in d.spec.caps) for d in group}
    return RuleFamily(
        rule_id,
        group[0].spec.event_type,
        tuple(versions),
        slots,
        versions[0].running_field,
        uniform_caps=len(signatures) == 1,
    )
