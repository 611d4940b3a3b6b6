"""Errors of the social game: each a subclass of one category in ``greenenergy.errors``.

The category decides the HTTP status (chosen in ``api/`` only); the ``code`` is what
scripts and the API's error body match on. ``BallInvariantError`` is not a user error: it
means the rows handed to a pure function contradict each other (a bug or a tampered row).
"""

from __future__ import annotations

from greenenergy.errors import Conflict, Forbidden, GreenEnergyError, InvalidInput


class BallInvariantError(GreenEnergyError):
    """A ball's parts do not add up, or its thefts do not match its ``stolen_g``."""

    code = "ball_invariant"


# Collecting, stealing: the ball is in the wrong state.
class NotRipe(Conflict):
    code = "not_ripe"


class BallExpired(Conflict):
    code = "expired"


class AlreadyCollected(Conflict):
    code = "already_collected"


class BallClosed(Conflict):
    """Energy can join a ball only while it is still waiting and untouched."""

    code = "ball_closed"


# Stealing.
class AlreadyStolen(Conflict):
    code = "already_stolen"


class TooManyThieves(Conflict):
    code = "too_many_thieves"


class NothingLeft(Conflict):
    code = "nothing_left"


class OwnBall(InvalidInput):
    code = "own_ball"


class NotFriends(Forbidden):
    """Raised by the services: stealing and watering need a mutual friendship."""

    code = "not_friends"


# Watering.
class InvalidAmount(InvalidInput):
    code = "invalid_amount"


class SelfWatering(InvalidInput):
    code = "self_watering"


class WateringLimit(Conflict):
    code = "watering_limit"


# Items.
class UnknownItem(InvalidInput):
    code = "unknown_item"


class ItemExpired(Conflict):
    code = "item_expired"


class ItemUsed(Conflict):
    code = "item_used"
