"""Checking a partner's planting confirmation and survival report; their canonical hashes.

One real tree backs exactly one virtual tree (DESIGN invariant 5): a photo hash, a tree
tag, or a GPS point on a date confirms at most one planting, ever. The database holds
what was used; the caller looks each key up (``photo_sha256``, ``normalize_tag(tag)``,
``location_key(...)``) and passes ``seen_*`` flags in, storing the keys under unique
constraints in the same commit as the confirmation, so two racing requests cannot both
pass.

Point uniqueness: latitude and longitude are rounded to 5 decimal places (half to even on
their decimal text) -- a cell about 1.1 m north-south and 0.9 m east-west at 38 deg N,
well under the 3 m x 5 m planting grid -- and joined with the local planting date.

Checks run in this order, the first failure raising: the partner owns the plot (403);
the report is well formed (photo hash, coordinates, tag, time zone); the tree still
awaits a tree (409 ``already_planted``); species; time (not in the future beyond 5
minutes of clock skew, not before the order was placed); point inside the plot polygon;
then photo, tag, point+date never used before.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

from greenenergy.clock import ensure_utc
from greenenergy.errors import InvalidInput
from greenenergy.periods import local_date
from greenenergy.planting.canonical import canonical_bytes, coordinate_text, format_instant, sha256_hex
from greenenergy.planting.errors import (
    CheckedBeforePlanted,
    DuplicateLocation,
    DuplicatePhoto,
    DuplicateTag,
    InFuture,
    InvalidCoordinates,
    InvalidPhotoHash,
    InvalidTag,
    InvalidTimestamp,
    NotYourTree,
    OutsidePlot,
    PlantedBeforeRedeemed,
    SpeciesMismatch,
)
from greenenergy.planting.model import Plot
from greenenergy.planting.status import TreeEvent, TreeStatus, next_status, planting_event

CLOCK_SKEW = timedelta(minutes=5)
LOCATION_DECIMALS = 5
PHOTO_SHA256 = re.compile(r"^[0-9a-f]{64}$")
TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")


@dataclass(frozen=True)
class OrderFacts:
    """The open planting order a confirmation answers, as the database knows it.

    ``ordered_at`` is when this order was placed: the redemption for the first planting,
    the death report for a replanting. ``tree_status`` is the tree's current status.
    """

    order_id: str
    tree_id: str
    plot_id: str
    species_id: str
    ordered_at: datetime
    tree_status: TreeStatus


@dataclass(frozen=True)
class PlantingReport:
    """A partner's confirmation: ``POST /v1/partners/{partner_id}/plantings``."""

    tree_id: str
    partner_id: str
    species_id: str
    planted_at: datetime
    latitude: float
    longitude: float
    photo_sha256: str
    tag: str | None = None


@dataclass(frozen=True)
class SurvivalReport:
    """A partner's survival check: ``POST /v1/partners/{partner_id}/survival``."""

    tree_id: str
    partner_id: str
    checked_at: datetime
    alive: bool
    photo_sha256: str


def _utc(moment: datetime, what: str) -> datetime:
    try:
        return ensure_utc(moment, what=what)
    except (ValueError, AttributeError) as error:
        raise InvalidTimestamp(f"{what} must be an ISO 8601 time with a zone offset: {error}") from None


def check_photo_hash(photo_sha256: object) -> str:
    if not isinstance(photo_sha256, str) or not PHOTO_SHA256.match(photo_sha256):
        raise InvalidPhotoHash("photo_sha256 must be the SHA-256 of the photo as 64 lowercase hex digits")
    return photo_sha256


def check_coordinates(latitude: object, longitude: object) -> None:
    for name, value, limit in (("latitude", latitude, 90.0), ("longitude", longitude, 180.0)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InvalidCoordinates(f"{name} must be a number of degrees, got {value!r}")
        if not -limit <= value <= limit:
            raise InvalidCoordinates(f"{name} {value} is outside [-{limit:g}, {limit:g}]")


def normalize_tag(tag: str) -> str:
    """The form of a tree tag that is stored and compared: trimmed and upper-cased."""
    text = tag.strip() if isinstance(tag, str) else tag
    if not isinstance(text, str) or not TAG.match(text):
        raise InvalidTag("tag must be 1-64 letters, digits or . _ / - and start with a letter or digit")
    return text.upper()


def _rounded(value: float) -> str:
    text = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-LOCATION_DECIMALS), rounding=ROUND_HALF_EVEN)
    return f"{abs(text) if text == 0 else text}"


def location_key(latitude: float, longitude: float, planted_on: date) -> str:
    """``"38.71234,105.20001,2026-04-02"``: the point (5 decimals) and local date of a planting."""
    check_coordinates(latitude, longitude)
    return f"{_rounded(latitude)},{_rounded(longitude)},{planted_on.isoformat()}"


def report_location_key(report: PlantingReport, *, tz: ZoneInfo) -> str:
    """``location_key`` of a report, on the local date of ``planted_at``."""
    return location_key(report.latitude, report.longitude, local_date(_utc(report.planted_at, "planted_at"), tz))


def check_planting(
    order: OrderFacts,
    report: PlantingReport,
    plot: Plot,
    now: datetime,
    *,
    seen_photo: bool,
    seen_tag: bool,
    seen_point_and_date: bool,
) -> TreeEvent:
    """Accept the confirmation or raise the specific error; returns the event to record.

    ``seen_*`` say whether the photo hash, the normalized tag (ignored without a tag) and
    the location key were already used by any confirmation.
    """
    if order.tree_id != report.tree_id or order.plot_id != plot.plot_id:
        raise ValueError("check_planting needs the order of the reported tree and that order's plot")
    if report.partner_id != plot.partner_id:
        raise NotYourTree(f"tree {report.tree_id} is in a plot of another partner", tree_id=report.tree_id)
    check_photo_hash(report.photo_sha256)
    check_coordinates(report.latitude, report.longitude)
    if report.tag is not None:
        normalize_tag(report.tag)
    planted_at = _utc(report.planted_at, "planted_at")
    now = ensure_utc(now, what="now")
    event = planting_event(order.tree_status)  # AlreadyPlanted unless the tree awaits a tree
    if report.species_id != order.species_id:
        raise SpeciesMismatch(
            f"tree {order.tree_id} was redeemed as {order.species_id}, not {report.species_id}",
            expected=order.species_id,
        )
    if planted_at > now + CLOCK_SKEW:
        raise InFuture(f"planted_at {planted_at.isoformat()} is in the future")
    if planted_at < ensure_utc(order.ordered_at, what="ordered_at"):
        raise PlantedBeforeRedeemed(
            f"planted_at {planted_at.isoformat()} is before the order was placed ({order.ordered_at.isoformat()})"
        )
    if not plot.contains(latitude=report.latitude, longitude=report.longitude):
        raise OutsidePlot(
            f"point (latitude {report.latitude}, longitude {report.longitude}) is outside plot {plot.plot_id}",
            plot_id=plot.plot_id,
        )
    if seen_photo:
        raise DuplicatePhoto("this photo already confirmed a tree; each tree needs its own photo")
    if seen_tag and report.tag is not None:
        raise DuplicateTag(f"tag {normalize_tag(report.tag)} already confirmed a tree")
    if seen_point_and_date:
        raise DuplicateLocation("a tree was already confirmed at this point on this date")
    return event


def check_survival(
    tree_status: TreeStatus | str,
    planted_at: datetime,
    plot: Plot,
    report: SurvivalReport,
    now: datetime,
) -> TreeEvent:
    """Accept a survival check of a tree in the ground; returns ``survival_alive``/``survival_dead``.

    ``planted_at`` is the latest (re)planting of the tree.
    """
    if report.partner_id != plot.partner_id:
        raise NotYourTree(f"tree {report.tree_id} is in a plot of another partner", tree_id=report.tree_id)
    check_photo_hash(report.photo_sha256)
    if not isinstance(report.alive, bool):
        raise InvalidInput("alive must be true or false", code="invalid_alive")
    checked_at = _utc(report.checked_at, "checked_at")
    event = TreeEvent.SURVIVAL_ALIVE if report.alive else TreeEvent.SURVIVAL_DEAD
    next_status(tree_status, event)  # InvalidTransition for a tree not in the ground
    if checked_at > ensure_utc(now, what="now") + CLOCK_SKEW:
        raise InFuture(f"checked_at {checked_at.isoformat()} is in the future")
    if checked_at < ensure_utc(planted_at, what="planted_at"):
        raise CheckedBeforePlanted(f"checked_at {checked_at.isoformat()} is before the tree was planted")
    return event


def confirmation_record(report: PlantingReport, *, plot_id: str, planting_no: int = 1) -> dict[str, object]:
    """The hashed facts of a confirmation; ``planting_no`` is 1, then 2 for the first replanting..."""
    return {
        "kind": "planting",
        "tree_id": report.tree_id,
        "partner_id": report.partner_id,
        "plot_id": plot_id,
        "species_id": report.species_id,
        "planted_at": format_instant(report.planted_at),
        "latitude": coordinate_text(report.latitude),
        "longitude": coordinate_text(report.longitude),
        "photo_sha256": report.photo_sha256,
        "tag": normalize_tag(report.tag) if report.tag is not None else None,
        "planting_no": int(planting_no),
    }


def confirmation_bytes(report: PlantingReport, *, plot_id: str, planting_no: int = 1) -> bytes:
    return canonical_bytes(confirmation_record(report, plot_id=plot_id, planting_no=planting_no))


def confirmation_hash(report: PlantingReport, *, plot_id: str, planting_no: int = 1) -> str:
    """SHA-256 (hex) of ``confirmation_bytes``: what a certificate cites."""
    return sha256_hex(confirmation_bytes(report, plot_id=plot_id, planting_no=planting_no))


def survival_record(report: SurvivalReport) -> dict[str, object]:
    return {
        "kind": "survival",
        "tree_id": report.tree_id,
        "partner_id": report.partner_id,
        "checked_at": format_instant(report.checked_at),
        "alive": bool(report.alive),
        "photo_sha256": report.photo_sha256,
    }


def survival_hash(report: SurvivalReport) -> str:
    return sha256_hex(canonical_bytes(survival_record(report)))
