"""Errors the forest services raise about rows (the rules' own errors are in greenenergy.forest.errors)."""

from __future__ import annotations

from greenenergy.errors import Forbidden, InvalidInput, NotFound


class BallNotFound(NotFound):
    code = "ball_not_found"


class NotYourBall(Forbidden):
    """Collecting someone else's ball (a friend's ball is stolen from, not collected)."""

    code = "not_your_ball"


class SelfFriend(InvalidInput):
    code = "self_friend"


class FriendshipNotFound(NotFound):
    code = "friendship_not_found"


class ItemNotFound(NotFound):
    code = "item_not_found"


class NotYourItem(Forbidden):
    code = "not_your_item"
