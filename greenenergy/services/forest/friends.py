"""Friendships: ask, answer, unfriend, list.

Friendship is mutual. ``request`` records that the user asks the other (an edge row); the
same request from the other side records the reverse edge, and two edges are a friendship.
Statuses seen from one user: ``friends`` (both asked), ``requested`` (I asked, they have
not), ``incoming`` (they asked, I have not).

Decisions:

* Users are implicit: any valid id can be asked; nothing checks that the other user exists.
* Asking again is idempotent: it answers the current status (``requested`` or ``friends``)
  with 200 and changes nothing, so a retried request never fails.
* ``remove`` deletes both edges: it unfriends, withdraws my request, or declines theirs;
  404 ``friendship_not_found`` if there was no edge either way.
* Asks and unfriending of one pair run one after the other (``forest_repo.lock_pair``), so
  two users asking each other at the same moment end as friends: the second sees the first
  ask and writes the friendship rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from greenenergy.db import forest_repo
from greenenergy.db.engine import Tx, in_write_tx, read_tx
from greenenergy.services.forest import achievements as forest_achievements
from greenenergy.services.forest.errors import FriendshipNotFound, SelfFriend
from greenenergy.services.runtime import Runtime

FriendStatus = Literal["friends", "requested", "incoming"]
STATUS_ORDER = {"friends": 0, "incoming": 1, "requested": 2}


@dataclass(frozen=True)
class Friendship:
    user_id: str
    friend_id: str
    status: FriendStatus


@dataclass(frozen=True)
class Removal:
    user_id: str
    friend_id: str
    status: Literal["removed"]
    was: FriendStatus


@dataclass(frozen=True)
class FriendView:
    friend_id: str
    status: FriendStatus
    since: datetime  # when the friendship was made (the later ask), or when the ask was made
    week_energy_g: int | None  # this week's leaderboard score, friends only


def _status(asked: bool, asked_back: bool) -> FriendStatus | None:
    if asked and asked_back:
        return "friends"
    if asked:
        return "requested"
    if asked_back:
        return "incoming"
    return None


def are_friends(runtime: Runtime, user_id: str, other_id: str) -> bool:
    with read_tx(runtime.engine) as connection:
        return forest_repo.are_friends(connection, user_id, other_id)


def request(runtime: Runtime, user_id: str, friend_id: str) -> Friendship:
    """``user_id`` asks ``friend_id``; answers the status after the ask."""
    if user_id == friend_id:
        raise SelfFriend("you cannot befriend yourself; send the id of another user", user_id=user_id)
    now = runtime.clock.now()

    def ask(connection: Tx) -> FriendStatus | None:
        forest_repo.lock_pair(connection, user_id, friend_id)
        forest_repo.add_ask(connection, user_id, friend_id, now=now)
        status = _status(*forest_repo.asks(connection, user_id, friend_id))
        if status == "friends":
            forest_repo.make_friends(connection, user_id, friend_id, now=now)
        return status

    status = in_write_tx(runtime.engine, ask)
    assert status is not None  # our own edge was just written or already there
    if status == "friends":
        forest_achievements.evaluate_quietly(runtime, user_id, forest_achievements.AFTER_FRIENDSHIP)
        forest_achievements.evaluate_quietly(runtime, friend_id, forest_achievements.AFTER_FRIENDSHIP)
    return Friendship(user_id, friend_id, status)


def remove(runtime: Runtime, user_id: str, friend_id: str) -> Removal:
    """Delete the friendship or request between the two, for both sides."""

    def unfriend(connection: Tx) -> set[tuple[str, str]]:
        forest_repo.lock_pair(connection, user_id, friend_id)
        return forest_repo.remove_pair(connection, user_id, friend_id)

    removed = in_write_tx(runtime.engine, unfriend)
    was = _status((user_id, friend_id) in removed, (friend_id, user_id) in removed)
    if was is None:
        raise FriendshipNotFound(
            f"you and {friend_id} are not friends and neither has asked the other", friend_id=friend_id
        )
    return Removal(user_id, friend_id, "removed", was)


def list_friends(runtime: Runtime, user_id: str) -> list[FriendView]:
    """Friends first (by this week's energy, highest first), then incoming, then sent requests."""
    now = runtime.clock.now()
    with read_tx(runtime.engine) as connection:
        outgoing, incoming = forest_repo.edges_of(connection, user_id)
        friends = outgoing.keys() & incoming.keys()
        week = forest_repo.scores_of(connection, friends, forest_repo.week_period(now, runtime.settings.zone))
    views = []
    for other in outgoing.keys() | incoming.keys():
        status = _status(other in outgoing, other in incoming)
        assert status is not None
        since = max(t for t in (outgoing.get(other), incoming.get(other)) if t is not None)
        energy = week.get(other, 0) if status == "friends" else None
        views.append(FriendView(other, status, since, energy))
    views.sort(key=lambda v: (STATUS_ORDER[v.status], -(v.week_energy_g or 0), v.friend_id))
    return views
