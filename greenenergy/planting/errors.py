"""Errors of trees, plots, confirmations, certificates and co-planting.

Each is a subclass of one category in ``greenenergy.errors`` (the category decides the HTTP
status, chosen in ``api/`` only) with the stable snake_case ``code`` of CONTRACT.md that
scripts and the API's error body match on. Messages say what was wrong and what to do.
"""

from __future__ import annotations

from greenenergy.errors import Conflict, Forbidden, InvalidInput, NotFound


# Catalog look-ups.
class SpeciesNotFound(NotFound):
    code = "species_not_found"


class PlotNotFound(NotFound):
    code = "plot_not_found"


# Redemption (choosing a plot place).
class SpeciesNotInPlot(Conflict):
    """The plot does not offer the species, or no plot offers it at all."""

    code = "species_not_in_plot"


class PlotFull(Conflict):
    code = "plot_full"


class InvalidQuantity(InvalidInput):
    """A tree is redeemed one at a time; conservation shares need a whole number of m2."""

    code = "invalid_quantity"


# Planting confirmations and survival reports (422 unless noted).
class NotYourTree(Forbidden):
    """A partner reported on a tree of another partner's plot (403)."""

    code = "not_your_tree"


class OutsidePlot(InvalidInput):
    code = "outside_plot"


class SpeciesMismatch(InvalidInput):
    code = "species_mismatch"


class DuplicatePhoto(InvalidInput):
    code = "duplicate_photo"


class DuplicateTag(InvalidInput):
    code = "duplicate_tag"


class DuplicateLocation(InvalidInput):
    """The same GPS point (rounded, see ``location_key``) and date already confirmed a tree."""

    code = "duplicate_location"


class PlantedBeforeRedeemed(InvalidInput):
    code = "planted_before_redeemed"


class InFuture(InvalidInput):
    code = "in_future"


class InvalidPhotoHash(InvalidInput):
    code = "invalid_photo_hash"


class InvalidCoordinates(InvalidInput):
    code = "invalid_coordinates"


class InvalidTag(InvalidInput):
    code = "invalid_tag"


class InvalidTimestamp(InvalidInput):
    """A time without a zone offset: we cannot tell which instant the partner meant."""

    code = "invalid_timestamp"


class CheckedBeforePlanted(InvalidInput):
    code = "checked_before_planted"


class AlreadyPlanted(Conflict):
    code = "already_planted"


class InvalidTransition(Conflict):
    """The tree's status does not allow this event (for example survival of an unplanted tree)."""

    code = "invalid_transition"


# Certificates.
class InvalidCertificateNumber(InvalidInput):
    code = "invalid_certificate_number"


class NotEnoughCertificates(Conflict):
    code = "not_enough_certificates"


# Co-planting pools.
class NotPoolMember(Forbidden):
    code = "not_pool_member"


class AlreadyPoolMember(Conflict):
    code = "already_pool_member"


class PoolClosed(Conflict):
    """The pool's tree was already redeemed: nobody joins, contributes or leaves any more."""

    code = "pool_closed"


class PoolComplete(Conflict):
    """The pool already holds the full price; it only waits to be redeemed."""

    code = "pool_complete"


class PoolMembersFull(Conflict):
    code = "pool_members_full"


class DailyCapReached(Conflict):
    code = "daily_cap_reached"


class InvalidEnergy(InvalidInput):
    code = "invalid_energy"
