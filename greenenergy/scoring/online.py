"""Score one event at a time: the online path.

``score(rulebook, event, state)`` applies the version in force at ``event.occurred_at``:

1. condition: ``when`` false -> 0 g, nothing counted, running total untouched;
2. formula: ``energy_g`` floored and clamped to [0, MAX_EVENT_ENERGY_G]; for a
   ``running_total`` rule, formula(new total) - formula(day's highest total so far) when
   the new total is higher (the day's highest is then raised), else 0;
3. multiplier: inside a campaign window, grams * factor, floored and clamped again;
4. count caps: an event with grams > 0 at this point counts; if any count cap of its
   period (and key) already holds ``max_count`` events, it earns 0 and counts nowhere;
5. energy caps: the award is cut to what is left under each ``max_energy_g``.

An event that passed the count caps increments the count of every usage slot of its rule
id (even when an energy cap then cuts it to 0 g) and adds its award to their energy.
The work is done by the scorer the rule book compiled for the event type (``scorers``);
Scores are immutable and cached per rule version, so repeated outcomes cost a lookup.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from greenenergy.scoring.errors import UnknownEventType
from greenenergy.scoring.outcome import Score
from greenenergy.scoring.rulebook import RuleBook
from greenenergy.scoring.scorers import apply_caps
from greenenergy.scoring.state import ScoringState

__all__ = ["EventIn", "Score", "apply_caps", "score", "score_many"]


class EventIn(NamedTuple):
    """An event to score; ``data`` already validated by ``RuleBook.validate``."""

    user_id: str
    event_type: str
    occurred_at: datetime  # tz-aware; UTC is fastest
    data: Mapping[str, Any]


def score(rulebook: RuleBook, event: EventIn, state: ScoringState) -> Score:
    """The grams ``event`` earns under ``rulebook``, updating ``state`` (caps, running totals)."""
    scorer = rulebook.scorers.get(event.event_type)
    if scorer is None:
        raise _unknown(event)
    return scorer(event, state)


def score_many(rulebook: RuleBook, events: Iterable[EventIn], state: ScoringState) -> list[Score]:
    """``score`` each event in the order given (give them in ``occurred_at`` order)."""
    scorer_of = rulebook.scorers.get
    # one comprehension, no call of ``score`` per event: this is the hot loop of ingestion
    # (``event[1]`` is the event type: indexing a tuple is cheaper than its named field)
    return [(scorer_of(event[1]) or _refuse)(event, state) for event in events]


def _refuse(event: EventIn, state: ScoringState) -> Score:
    raise _unknown(event)


def _unknown(event: EventIn) -> UnknownEventType:
    return UnknownEventType(f"no rule scores event type '{event.event_type}'", event_type=event.event_type)
