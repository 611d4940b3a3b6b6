"""The tree's state machine: only the documented edges exist."""

from __future__ import annotations

import itertools

import pytest

from greenenergy.errors import Conflict
from greenenergy.planting import (
    AlreadyPlanted,
    InvalidTransition,
    TreeEvent,
    TreeStatus,
    next_status,
    planting_event,
    replay,
)

ALLOWED = {
    ("awaiting_planting", "planted"): "planted",
    ("planted", "survival_alive"): "alive",
    ("planted", "survival_dead"): "dead",
    ("alive", "survival_alive"): "alive",
    ("alive", "survival_dead"): "dead",
    ("replanted", "survival_alive"): "alive",
    ("replanted", "survival_dead"): "dead",
    ("dead", "replanted"): "replanted",
}


@pytest.mark.parametrize("status, event", list(itertools.product(TreeStatus, TreeEvent)))
def test_every_pair_is_either_the_documented_edge_or_refused(status, event):
    expected = ALLOWED.get((status.value, event.value))
    if expected is None:
        with pytest.raises(InvalidTransition) as raised:
            next_status(status, event)
        assert raised.value.code == "invalid_transition" and isinstance(raised.value, Conflict)
    else:
        assert next_status(status.value, event.value) == expected


def test_a_dead_tree_is_replanted_then_checked_again():
    history = ["planted", "survival_alive", "survival_dead", "replanted", "survival_alive"]
    assert [s.value for s in replay(history)] == ["awaiting_planting", "planted", "alive", "dead", "replanted", "alive"]


def test_replay_refuses_survival_before_planting():
    with pytest.raises(InvalidTransition):
        replay(["survival_alive"])


def test_planting_event_depends_on_status():
    assert planting_event("awaiting_planting") is TreeEvent.PLANTED
    assert planting_event("dead") is TreeEvent.REPLANTED
    for status in ("planted", "alive", "replanted"):
        with pytest.raises(AlreadyPlanted):
            planting_event(status)
