"""The rule book: every rule family by event type, with the zone its periods are counted in,
and the online scorers built once for it (``scorers``: one closure per version, per event
type the latest version's); the scorers hold no state of their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from greenenergy.clock import UTC, ensure_utc
from greenenergy.scoring.calendar import LocalCalendar
from greenenergy.scoring.errors import UnknownEventType
from greenenergy.scoring.rules import RuleFamily, RuleVersion
from greenenergy.scoring.scorers import Scorer, build_scorers
from greenenergy.scoring.state import RunningKey, UsageKey


class RuleBook:
    """Every rule family, by event type, with the zone its periods are counted in."""

    def __init__(self, families: list[RuleFamily], tz: ZoneInfo) -> None:
        self.tz = tz
        self.calendar = LocalCalendar(tz)
        self.periods = self.calendar.periods  # (day, week start, month start) of a UTC instant
        self.by_type: dict[str, RuleFamily] = {f.event_type: f for f in families}
        self.by_id: dict[str, RuleFamily] = {f.id: f for f in families}
        # event type -> the online scorer compiled for it (see ``scorers``)
        self.scorers: dict[str, Scorer] = build_scorers(families, self.calendar)

    def __repr__(self) -> str:
        return f"RuleBook({len(self.by_id)} rules, tz={self.tz.key})"

    @property
    def event_types(self) -> frozenset[str]:
        return frozenset(self.by_type)

    def versions(self) -> list[RuleVersion]:
        """Every rule version, by rule id then version."""
        return [v for rule_id in sorted(self.by_id) for v in self.by_id[rule_id].versions]

    def family(self, event_type: str) -> RuleFamily:
        family = self.by_type.get(event_type)
        if family is None:
            raise UnknownEventType(f"no rule scores event type '{event_type}'", event_type=event_type)
        return family

    def rule_for(self, event_type: str, occurred_at: datetime) -> RuleVersion:
        """The version in force for ``event_type`` at ``occurred_at`` (tz-aware)."""
        family = self.family(event_type)
        moment = occurred_at if occurred_at.tzinfo is UTC else ensure_utc(occurred_at, what="occurred_at")
        single = family.single
        if single is not None and moment >= single.effective_from:
            return single
        return family.version_at(moment)

    def validate(self, event_type: str, occurred_at: datetime, data: Any) -> dict[str, Any]:
        """Typed ``data`` for the version in force; raises unknown_type / invalid_data."""
        return self.rule_for(event_type, occurred_at).validate(data)

    def state_keys(
        self, user_id: str, event_type: str, occurred_at: datetime, data: Mapping[str, Any]
    ) -> tuple[list[tuple], tuple | None]:
        """The usage keys and the running-total key (or None) scoring this event touches."""
        family = self.family(event_type)
        moment = occurred_at if occurred_at.tzinfo is UTC else ensure_utc(occurred_at)
        triple = self.calendar.periods(moment)
        usage = [
            (user_id, family.id, per, triple[index], "" if key is None else str(data[key]))
            for per, index, key in family.slot_specs
        ]
        running = (user_id, family.id, triple[0]) if family.running_field is not None else None
        return usage, running

    def state_keys_of(self, events: Iterable[Any]) -> tuple[set[UsageKey], set[RunningKey]]:
        """Every usage and running-total key that scoring ``events`` reads or writes: what a
        caller loads into a ``ScoringState`` first. Events of unknown types are skipped
        (scoring them raises anyway). ``events`` are ``EventIn``-like: ``user_id``,
        ``event_type``, ``occurred_at``, validated ``data``."""
        usage: set[UsageKey] = set()
        running: set[RunningKey] = set()
        for event in events:
            if event.event_type not in self.by_type:
                continue
            keys, running_key = self.state_keys(event.user_id, event.event_type, event.occurred_at, event.data)
            usage.update(UsageKey._make(k) for k in keys)
            if running_key is not None:
                running.add(RunningKey._make(running_key))
        return usage, running
