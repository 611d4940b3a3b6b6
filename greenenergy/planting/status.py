"""The life of one virtual tree and of the real tree (or trees) behind it.

    awaiting_planting --planted--> planted
    planted | alive | replanted --survival_alive--> alive
    planted | alive | replanted --survival_dead--> dead
    dead --replanted--> replanted

A survival check may repeat (``alive`` -> ``alive``, one per autumn count). A dead tree gets
a replanting order in the same plot at the partner's charge: the user's energy is not spent
again and the plot place is reused. Every other pair is refused with ``InvalidTransition``,
so a tree's history, replayed from ``awaiting_planting``, is always a path of this graph.
The same table serves conservation shares (``planted`` = the share is confirmed protected).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from types import MappingProxyType

from greenenergy.planting.errors import AlreadyPlanted, InvalidTransition


class TreeStatus(StrEnum):
    AWAITING_PLANTING = "awaiting_planting"
    PLANTED = "planted"
    ALIVE = "alive"
    DEAD = "dead"
    REPLANTED = "replanted"


class TreeEvent(StrEnum):
    PLANTED = "planted"
    SURVIVAL_ALIVE = "survival_alive"
    SURVIVAL_DEAD = "survival_dead"
    REPLANTED = "replanted"


_S, _E = TreeStatus, TreeEvent
TRANSITIONS = MappingProxyType(
    {
        (_S.AWAITING_PLANTING, _E.PLANTED): _S.PLANTED,
        (_S.PLANTED, _E.SURVIVAL_ALIVE): _S.ALIVE,
        (_S.PLANTED, _E.SURVIVAL_DEAD): _S.DEAD,
        (_S.ALIVE, _E.SURVIVAL_ALIVE): _S.ALIVE,
        (_S.ALIVE, _E.SURVIVAL_DEAD): _S.DEAD,
        (_S.REPLANTED, _E.SURVIVAL_ALIVE): _S.ALIVE,
        (_S.REPLANTED, _E.SURVIVAL_DEAD): _S.DEAD,
        (_S.DEAD, _E.REPLANTED): _S.REPLANTED,
    }
)

# Statuses with an open planting order: the first planting, or the replacement of a dead tree.
AWAITING_A_TREE = frozenset({TreeStatus.AWAITING_PLANTING, TreeStatus.DEAD})
# Statuses where a real tree stands in the ground (as far as the last check knows).
IN_THE_GROUND = frozenset({TreeStatus.PLANTED, TreeStatus.ALIVE, TreeStatus.REPLANTED})


def next_status(current: TreeStatus | str, event: TreeEvent | str) -> TreeStatus:
    """The status after ``event``; ``InvalidTransition`` if the graph has no such edge."""
    status, happened = TreeStatus(current), TreeEvent(event)
    try:
        return TRANSITIONS[(status, happened)]
    except KeyError:
        raise InvalidTransition(
            f"a tree that is {status.value} cannot take the event {happened.value}",
            status=status.value,
            event=happened.value,
        ) from None


def planting_event(current: TreeStatus | str) -> TreeEvent:
    """The event a planting confirmation applies: ``planted``, or ``replanted`` for a dead tree."""
    status = TreeStatus(current)
    if status is TreeStatus.AWAITING_PLANTING:
        return TreeEvent.PLANTED
    if status is TreeStatus.DEAD:
        return TreeEvent.REPLANTED
    raise AlreadyPlanted(f"this tree is already {status.value}; a planting is confirmed once", status=status.value)


def replay(events: Iterable[TreeEvent | str]) -> list[TreeStatus]:
    """Statuses along a history, starting at ``awaiting_planting``; raises on a bad step."""
    statuses = [TreeStatus.AWAITING_PLANTING]
    for event in events:
        statuses.append(next_status(statuses[-1], event))
    return statuses
