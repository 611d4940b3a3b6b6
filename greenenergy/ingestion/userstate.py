"""What ingestion remembers per user, as one value (one stored row per user).

* ``lifetime_g``: grams awarded to the user's own accepted events, ever.
* ``scoring``: the scoring state that can still matter -- cap usage of periods an event
  inside the 7-day window can fall in, running totals of the last days, and the number of
  accepted events per event type and UTC clock hour (the ``implausible`` burst check) --
  pruned on every write, so it never grows with the user's history.
* ``tallies``: accepted events per event type (``n``) and the sum of every integer data
  field per type (``t``, key ``type:field``): the achievement metrics ``events_of_type`` and
  ``data_total``, counted in the commit that stores the events.

The stored form is compact JSON text (``to_texts`` / ``from_texts``); keys start with the
date or hour they belong to, so pruning compares text::

    scoring = {"u": {"YYYY-MM-DD|<rule_id>|<per>|<key>": [count, energy_g]},   # period start first
               "r": {"YYYY-MM-DD|<rule_id>": total},                          # local date first
               "h": {"YYYY-MM-DDTHH|<event_type>": count}}                    # UTC hour first
    tallies = {"n": {"<event_type>": count}, "t": {"<event_type>:<field>": total}}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import orjson

from greenenergy.scoring import ScoringState

USAGE_HORIZON = timedelta(days=7 + 31 + 1)  # a month cap's period can start 38 days before a 7-day-old event
RUNNING_HORIZON = timedelta(days=8)
HOURLY_HORIZON = timedelta(days=7, hours=2)
PRUNE_AT = 24
_dumps, _decode = orjson.dumps, orjson.loads  # not hashed: compact, unsorted


def hour_key(event_type: str, occurred_at: datetime) -> str:
    """``YYYY-MM-DDTHH|<type>`` of a UTC instant: the burst check's bucket."""
    return occurred_at.isoformat()[:13] + "|" + event_type


@dataclass(slots=True)
class UserIngestState:
    user_id: str
    lifetime_g: int = 0
    usage: dict[str, list[int]] = field(default_factory=dict)
    running: dict[str, int] = field(default_factory=dict)
    hourly: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # accepted events per type
    totals: dict[str, int] = field(default_factory=dict)  # "type:field" -> sum of an int field

    @classmethod
    def from_texts(cls, user_id: str, lifetime_g: int, scoring: str | None, tallies: str | None) -> UserIngestState:
        parsed = _decode(scoring) if scoring and scoring != "{}" else {}
        counted = _decode(tallies) if tallies and tallies != "{}" else {}
        return cls(
            user_id=user_id,
            lifetime_g=int(lifetime_g),
            usage=parsed.get("u", {}),
            running=parsed.get("r", {}),
            hourly=parsed.get("h", {}),
            counts=counted.get("n", {}),
            totals=counted.get("t", {}),
        )

    def to_texts(self) -> tuple[str, str]:
        scoring = _dumps({"u": self.usage, "r": self.running, "h": self.hourly}).decode()
        return scoring, _dumps({"n": self.counts, "t": self.totals}).decode()

    def load_into(self, state: ScoringState) -> None:
        """Put this user's cap usage and running totals into ``state`` (not dirty)."""
        user = self.user_id
        fromiso = date.fromisoformat
        if self.usage:
            rows = []
            for key, (count, energy_g) in self.usage.items():
                start, rule, per, cap_key = key.split("|", 3)
                rows.append(((user, rule, per, fromiso(start), cap_key), (count, energy_g)))
            state.load_usage(rows)
        if self.running:
            state.load_running([((user, *_rule_day(key, fromiso)), total) for key, total in self.running.items()])

    def take_from(self, usage: dict[tuple, tuple[int, int]], running: dict[tuple, int], now: datetime) -> None:
        """Merge ``usage`` / ``running`` (this user's changed rows of a ``ScoringState``,
        keyed without the user) and drop what can no longer matter at ``now``."""
        merged = self.usage
        for (rule, per, start, cap_key), (count, energy_g) in usage.items():
            merged[f"{start.isoformat()}|{rule}|{per}|{cap_key}"] = [count, energy_g]
        for (rule, day), total in running.items():
            self.running[f"{day.isoformat()}|{rule}"] = total
        # Pruned once a map passes a few entries: a user's state stays small (bounded by
        # PRUNE_AT plus what the live window holds) without a scan on every write.
        if len(merged) > PRUNE_AT:
            first_start = (now - USAGE_HORIZON).date().isoformat()
            self.usage = {k: v for k, v in merged.items() if k >= first_start}
        if len(self.running) > PRUNE_AT:
            first_day = (now - RUNNING_HORIZON).date().isoformat()
            self.running = {k: v for k, v in self.running.items() if k >= first_day}
        if len(self.hourly) > PRUNE_AT:
            first_hour = (now - HOURLY_HORIZON).isoformat()[:13]
            self.hourly = {k: n for k, n in self.hourly.items() if k >= first_hour}


def _rule_day(key: str, fromiso: object) -> tuple[str, date]:
    day, rule = key.split("|", 1)
    return rule, fromiso(day)  # type: ignore[operator]
