"""What ingestion remembers per user, as one value (one stored row per user).

* ``lifetime_g``: grams awarded to the user's own accepted events, ever.
* ``scoring``: the scoring state that can still matter -- cap usage of periods an event
  inside the 7-day window can fall in, running totals of the last days, and the number of
  accepted events per event type and UTC clock hour (the ``implausible`` burst check) --
  pruned on every write, so it never grows with the user's history.
* ``tallies``: accepted events per event type (``n``) and the sum of every integer data
  field per type (``t``, key ``type:field``): the achievement metrics ``events_of_type`` and
  ``data_total``, counted in the commit that stores the events.

The stored form is compact JSON text (``to_texts`` / ``from_texts``)::

    scoring = {"u": [[rule_id, per, "YYYY-MM-DD", key, count, energy_g], ...],
               "r": [[rule_id, "YYYY-MM-DD", total], ...],
               "h": {"<event_type>|YYYY-MM-DDTHH": count}}
    tallies = {"n": {"<event_type>": count}, "t": {"<event_type>:<field>": total}}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from greenenergy.scoring import ScoringState

USAGE_HORIZON = timedelta(days=7 + 31 + 1)  # a month cap's period can start 38 days before a 7-day-old event
RUNNING_HORIZON = timedelta(days=8)
HOURLY_HORIZON = timedelta(days=7, hours=2)
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def hour_key(event_type: str, occurred_at: datetime) -> str:
    """``<type>|YYYY-MM-DDTHH`` of a UTC instant: the burst check's bucket."""
    return event_type + "|" + occurred_at.isoformat()[:13]


@dataclass(slots=True)
class UserIngestState:
    user_id: str
    lifetime_g: int = 0
    usage: list[list[Any]] = field(default_factory=list)  # [rule, per, start, key, count, g]
    running: list[list[Any]] = field(default_factory=list)  # [rule, date, total]
    hourly: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # accepted events per type
    totals: dict[str, int] = field(default_factory=dict)  # "type:field" -> sum of an int field
    is_new: bool = True  # no stored row yet

    @classmethod
    def from_texts(cls, user_id: str, lifetime_g: int, scoring: str, tallies: str) -> UserIngestState:
        parsed = json.loads(scoring) if scoring else {}
        counted = json.loads(tallies) if tallies else {}
        return cls(
            user_id=user_id,
            lifetime_g=int(lifetime_g),
            usage=parsed.get("u", []),
            running=parsed.get("r", []),
            hourly=parsed.get("h", {}),
            counts=counted.get("n", {}),
            totals=counted.get("t", {}),
            is_new=False,
        )

    def to_texts(self) -> tuple[str, str]:
        scoring = _COMPACT.encode({"u": self.usage, "r": self.running, "h": self.hourly})
        return scoring, _COMPACT.encode({"n": self.counts, "t": self.totals})

    def load_into(self, state: ScoringState) -> None:
        """Put this user's cap usage and running totals into ``state`` (not dirty)."""
        user = self.user_id
        fromiso = date.fromisoformat
        state.load_usage(((user, r, p, fromiso(s), k), (c, g)) for r, p, s, k, c, g in self.usage)
        state.load_running(((user, r, fromiso(d)), t) for r, d, t in self.running)

    def take_from(self, usage: dict[tuple, tuple[int, int]], running: dict[tuple, int], now: datetime) -> None:
        """Replace the scoring rows with ``usage`` / ``running`` (this user's rows of a
        ``ScoringState``, keyed without the user) and drop what can no longer matter."""
        first_start = (now - USAGE_HORIZON).date()
        first_day = (now - RUNNING_HORIZON).date()
        merged = {(r, p, s, k): (c, g) for r, p, s, k, c, g in self.usage}
        merged.update({(r, p, s.isoformat(), k): v for (r, p, s, k), v in usage.items()})
        self.usage = sorted(
            [r, p, s, k, c, g] for (r, p, s, k), (c, g) in merged.items() if s >= first_start.isoformat()
        )
        days = {(r, d): t for r, d, t in self.running}
        days.update({(r, d.isoformat()): t for (r, d), t in running.items()})
        self.running = sorted([r, d, t] for (r, d), t in days.items() if d >= first_day.isoformat())
        first_hour = (now - HOURLY_HORIZON).isoformat()[:13]
        self.hourly = {k: n for k, n in self.hourly.items() if k.split("|", 1)[1] >= first_hour}
