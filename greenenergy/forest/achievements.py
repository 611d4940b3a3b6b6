"""Achievements: declared as data (``achievements/achievements.yaml``), awarded once.

An achievement names a *metric* of the user, a *threshold*, and optionally an item granted
as its reward. Metrics come from a fixed set, so a catalog cannot ask for something the
services do not compute:

==============================  =====================================================
``trees_planted``               virtual trees the user redeemed
``lifetime_energy_g``           grams minted for the user's own events, ever
                                (1 g energy = 1 g CO2e avoided; 1 tonne = 1,000,000)
``collect_streak_days``         the user's best run of consecutive local days with a collect
``balls_collected``             own balls collected
``friends``                     current mutual friends
``waterings_given``             waterings the user gave
``steals``                      steals that took grams
``events_of_type:<type>``       accepted events of that event type
``data_total:<type>:<field>``   sum of an integer ``data`` field over accepted events of
                                that type (``data_total:recycling.box:boxes`` = boxes)
==============================  =====================================================

``evaluate`` is idempotent: it never returns an achievement the user already holds, so
running it after every change, twice, or concurrently with a unique (user, achievement)
row, awards each achievement once.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from greenenergy.errors import CatalogError
from greenenergy.forest.items import ItemKind

SIMPLE_METRICS: dict[str, str] = {
    # metric name -> UserStats attribute
    "trees_planted": "trees_planted",
    "lifetime_energy_g": "lifetime_energy_g",
    "collect_streak_days": "best_collect_streak_days",
    "balls_collected": "balls_collected",
    "friends": "friends",
    "waterings_given": "waterings_given",
    "steals": "steals",
}
EVENTS_OF_TYPE = "events_of_type"
DATA_TOTAL = "data_total"


@dataclass(frozen=True)
class UserStats:
    """What the services count for one user; the metrics read only this."""

    trees_planted: int = 0
    lifetime_energy_g: int = 0
    best_collect_streak_days: int = 0
    balls_collected: int = 0
    friends: int = 0
    waterings_given: int = 0
    steals: int = 0
    event_counts: Mapping[str, int] = field(default_factory=dict)  # event type -> events
    data_totals: Mapping[str, int] = field(default_factory=dict)  # "type:field" -> sum


class Names(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


def metric_problem(metric: str) -> str | None:
    """Why ``metric`` is not one we compute, or None."""
    if metric in SIMPLE_METRICS:
        return None
    kind, _, rest = metric.partition(":")
    if kind == EVENTS_OF_TYPE and rest and ":" not in rest:
        return None
    if kind == DATA_TOTAL and rest.count(":") == 1 and all(rest.split(":")):
        return None
    return (
        f"unknown metric {metric!r}; use one of {', '.join(SIMPLE_METRICS)}, "
        f"{EVENTS_OF_TYPE}:<type> or {DATA_TOTAL}:<type>:<field>"
    )


class Achievement(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=64)
    name: Names
    description: Names | None = None
    metric: str
    threshold: int = Field(ge=1)
    reward_item: ItemKind | None = None

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, metric: str) -> str:
        problem = metric_problem(metric)
        if problem:
            raise ValueError(problem)
        return metric

    @property
    def event_type(self) -> str | None:
        """The event type a per-type metric reads, else None."""
        kind, _, rest = self.metric.partition(":")
        return rest.split(":")[0] if kind in (EVENTS_OF_TYPE, DATA_TOTAL) else None


@dataclass(frozen=True)
class Award:
    """An achievement reached now; the service stores it and grants ``reward_item``."""

    achievement_id: str
    value: int
    threshold: int
    reward_item: ItemKind | None = None


def metric_value(metric: str, stats: UserStats) -> int:
    """The user's current value of ``metric``."""
    if metric in SIMPLE_METRICS:
        return int(getattr(stats, SIMPLE_METRICS[metric]))
    kind, _, rest = metric.partition(":")
    if kind == EVENTS_OF_TYPE:
        return int(stats.event_counts.get(rest, 0))
    if kind == DATA_TOTAL:
        return int(stats.data_totals.get(rest, 0))
    raise ValueError(metric_problem(metric))


def evaluate(achievements: Iterable[Achievement], stats: UserStats, already: Collection[str]) -> list[Award]:
    """Achievements newly reached, in catalog order; never one in ``already``."""
    awards = []
    for achievement in achievements:
        if achievement.id in already:
            continue
        value = metric_value(achievement.metric, stats)
        if value >= achievement.threshold:
            awards.append(Award(achievement.id, value, achievement.threshold, achievement.reward_item))
    return awards


def streak_days(collect_dates: Iterable[date], *, today: date | None = None) -> tuple[int, int]:
    """``(current, best)`` runs of consecutive local days with at least one collect.

    ``best`` is the longest run. ``current`` is the run ending on the latest date; given
    ``today``, it is the run ending today or yesterday (a streak is not broken until a whole
    day passes without a collect), else 0.
    """
    days = sorted(set(collect_dates))
    if not days:
        return 0, 0
    best = run = 1
    for before, after in itertools.pairwise(days):
        run = run + 1 if after - before == timedelta(days=1) else 1
        best = max(best, run)
    current = run  # the run ending on days[-1]
    if today is not None and days[-1] < today - timedelta(days=1):
        current = 0
    return current, best


# Loading ---------------------------------------------------------------------------------


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int:
    """The 1-based line of the YAML node at ``loc``, or of its deepest existing parent."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = [(key, value) for key, value in node.value if key.value == part]
            if not match:
                break
            key, node = match[0]
            line = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def parse_achievements(
    text: str, *, source: str = "<string>", event_types: Collection[str] | None = None
) -> tuple[Achievement, ...]:
    """Validate a catalog's text; every problem as ``file:line: id: message`` in one CatalogError.

    With ``event_types`` (those the rules declare), a per-type metric naming another type is
    an error too, so a typo cannot make an achievement nobody can reach.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise CatalogError([f"{source}:{line}: yaml: {error}"]) from error
    if not isinstance(data, dict) or not isinstance(data.get("achievements"), list):
        raise CatalogError([f"{source}:1: the file must hold a mapping with an 'achievements' list"])

    problems: list[str] = []
    loaded: list[Achievement] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(data["achievements"]):
        item_loc = ("achievements", index)
        raw_id = raw.get("id") if isinstance(raw, dict) else None
        label = raw_id if isinstance(raw_id, str) else f"#{index + 1}"
        line = _line_of(root, item_loc)
        # Duplicates are judged on the raw id, so an invalid first entry still claims it.
        if isinstance(raw_id, str):
            if label in seen:
                problems.append(f"{source}:{line}: {label}: duplicate id (first at line {seen[label]})")
                continue
            seen[label] = line
        try:
            achievement = Achievement.model_validate(raw)
        except ValidationError as error:
            for detail in error.errors():
                where = ".".join(str(p) for p in detail["loc"]) or "entry"
                problems.append(
                    f"{source}:{_line_of(root, item_loc + tuple(detail['loc']))}: {label}: {where}: {detail['msg']}"
                )
            continue
        if event_types is not None and achievement.event_type is not None and achievement.event_type not in event_types:
            problems.append(
                f"{source}:{_line_of(root, (*item_loc, 'metric'))}: {achievement.id}: metric "
                f"{achievement.metric!r} names unknown event type {achievement.event_type!r}; "
                f"use a type declared in rules/"
            )
            continue
        loaded.append(achievement)
    if problems:
        raise CatalogError(problems)
    return tuple(loaded)


def load_achievements(path: str | Path, *, event_types: Collection[str] | None = None) -> tuple[Achievement, ...]:
    """Load and validate one catalog file (see ``parse_achievements``)."""
    path = Path(path)
    return parse_achievements(path.read_text(encoding="utf-8"), source=str(path), event_types=event_types)
