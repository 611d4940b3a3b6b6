"""check_planting / check_survival: every rejection code, and the confirmation hash.

Plot a-01 (conftest) is the square lon 105.20..105.21, lat 38.70..38.71 of partner north.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from greenenergy.errors import Conflict, Forbidden, InvalidInput
from greenenergy.planting import (
    OrderFacts,
    PlantingReport,
    SurvivalReport,
    TreeEvent,
    TreeStatus,
    check_planting,
    check_survival,
    confirmation_bytes,
    confirmation_hash,
    location_key,
    normalize_tag,
    report_location_key,
    survival_hash,
)

REDEEMED = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)
NOW = datetime(2026, 4, 10, 2, 0, tzinfo=UTC)
PHOTO = hashlib.sha256(b"photo of tree 1").hexdigest()

ORDER = OrderFacts(
    order_id="o-1",
    tree_id="t-1",
    plot_id="a-01",
    species_id="saxaul",
    ordered_at=REDEEMED,
    tree_status=TreeStatus.AWAITING_PLANTING,
)
REPORT = PlantingReport(
    tree_id="t-1",
    partner_id="north",
    species_id="saxaul",
    planted_at=datetime(2026, 4, 9, 1, 30, tzinfo=UTC),
    latitude=38.705,
    longitude=105.205,
    photo_sha256=PHOTO,
    tag="AX-0001",
)
UNSEEN = {"seen_photo": False, "seen_tag": False, "seen_point_and_date": False}


def rejection(catalog, order=ORDER, report=REPORT, now=NOW, **seen) -> str:
    with pytest.raises((InvalidInput, Conflict, Forbidden)) as raised:
        check_planting(order, report, catalog.get_plot("a-01"), now, **{**UNSEEN, **seen})
    return raised.value.code


def test_a_good_confirmation_plants_the_tree(catalog):
    assert check_planting(ORDER, REPORT, catalog.get_plot("a-01"), NOW, **UNSEEN) is TreeEvent.PLANTED


def test_a_dead_trees_replacement_is_a_replanting(catalog):
    order = replace(ORDER, tree_status=TreeStatus.DEAD)
    assert check_planting(order, REPORT, catalog.get_plot("a-01"), NOW, **UNSEEN) is TreeEvent.REPLANTED


@pytest.mark.parametrize(
    "change, code",
    [
        ({"photo_sha256": PHOTO.upper()}, "invalid_photo_hash"),
        ({"photo_sha256": PHOTO[:63]}, "invalid_photo_hash"),
        ({"latitude": 95.0}, "invalid_coordinates"),
        ({"longitude": float("nan")}, "invalid_coordinates"),
        ({"latitude": True}, "invalid_coordinates"),
        ({"tag": "has space"}, "invalid_tag"),
        ({"tag": ""}, "invalid_tag"),
        ({"planted_at": datetime(2026, 4, 9, 1, 30)}, "invalid_timestamp"),
        ({"species_id": "fir"}, "species_mismatch"),
        ({"planted_at": NOW + timedelta(minutes=5, seconds=1)}, "in_future"),
        ({"planted_at": REDEEMED - timedelta(seconds=1)}, "planted_before_redeemed"),
        ({"latitude": 38.72}, "outside_plot"),
        ({"latitude": 105.205, "longitude": 38.705}, "invalid_coordinates"),  # swapped
        ({"partner_id": "south"}, "not_your_tree"),
    ],
)
def test_each_bad_report_has_its_code(catalog, change, code):
    assert rejection(catalog, report=replace(REPORT, **change)) == code


def test_point_on_the_plot_boundary_is_inside(catalog):
    report = replace(REPORT, latitude=38.70, longitude=105.205)
    assert check_planting(ORDER, report, catalog.get_plot("a-01"), NOW, **UNSEEN) is TreeEvent.PLANTED


def test_five_minutes_of_clock_skew_are_allowed(catalog):
    report = replace(REPORT, planted_at=NOW + timedelta(minutes=5))
    assert check_planting(ORDER, report, catalog.get_plot("a-01"), NOW, **UNSEEN) is TreeEvent.PLANTED


def test_planted_at_in_another_zone_is_compared_as_an_instant(catalog):
    # 09:59 in Shanghai on 1 April is 01:59 UTC: one minute before the redemption.
    early = datetime(2026, 4, 1, 9, 59, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert rejection(catalog, report=replace(REPORT, planted_at=early)) == "planted_before_redeemed"


@pytest.mark.parametrize(
    "seen, code",
    [
        ({"seen_photo": True}, "duplicate_photo"),
        ({"seen_tag": True}, "duplicate_tag"),
        ({"seen_point_and_date": True}, "duplicate_location"),
    ],
)
def test_used_evidence_is_refused(catalog, seen, code):
    assert rejection(catalog, **seen) == code


def test_a_seen_tag_does_not_matter_without_a_tag(catalog):
    report = replace(REPORT, tag=None)
    assert check_planting(ORDER, report, catalog.get_plot("a-01"), NOW, **{**UNSEEN, "seen_tag": True})


@pytest.mark.parametrize("status", ["planted", "alive", "replanted"])
def test_a_tree_in_the_ground_is_already_planted_even_if_resent(catalog, status):
    # A re-sent confirmation finds its own photo "seen": already_planted is the useful answer.
    order = replace(ORDER, tree_status=TreeStatus(status))
    assert rejection(catalog, order=order, seen_photo=True, seen_tag=True) == "already_planted"


def test_another_partner_is_refused_before_anything_else(catalog):
    report = replace(REPORT, partner_id="south", photo_sha256="not a hash")
    assert rejection(catalog, report=report) == "not_your_tree"


def test_location_key_rounds_to_five_decimals_half_even():
    assert location_key(38.712345, 105.2, date(2026, 4, 2)) == "38.71234,105.20000,2026-04-02"
    assert location_key(38.712355, 105.2, date(2026, 4, 2)) == "38.71236,105.20000,2026-04-02"
    # Points about 1 m apart share a key; another day does not.
    assert location_key(38.700001, 105.200004, date(2026, 4, 2)) == location_key(38.70000, 105.20000, date(2026, 4, 2))
    assert location_key(38.7, 105.2, date(2026, 4, 3)) != location_key(38.7, 105.2, date(2026, 4, 2))
    assert location_key(-0.000001, 0.0, date(2026, 4, 2)) == "0.00000,0.00000,2026-04-02"


def test_report_location_key_uses_the_local_planting_date():
    # 17:00 UTC on 8 April is 01:00 on 9 April in Shanghai.
    report = replace(REPORT, planted_at=datetime(2026, 4, 8, 17, 0, tzinfo=UTC))
    assert report_location_key(report, tz=ZoneInfo("Asia/Shanghai")).endswith(",2026-04-09")


def test_tags_compare_case_insensitively():
    assert normalize_tag(" ax-0001 ") == normalize_tag("AX-0001") == "AX-0001"


def test_confirmation_bytes_are_the_documented_canonical_json():
    expected = (
        '{"kind":"planting","latitude":"38.7050000","longitude":"105.2050000","partner_id":"north",'
        f'"photo_sha256":"{PHOTO}","planted_at":"2026-04-09T01:30:00.000000Z","planting_no":1,'
        '"plot_id":"a-01","species_id":"saxaul","tag":"AX-0001","tree_id":"t-1"}'
    ).encode()
    assert confirmation_bytes(REPORT, plot_id="a-01") == expected
    assert confirmation_hash(REPORT, plot_id="a-01") == hashlib.sha256(expected).hexdigest()


def test_confirmation_hash_changes_with_any_fact():
    base = confirmation_hash(REPORT, plot_id="a-01")
    assert confirmation_hash(replace(REPORT, latitude=38.7050001), plot_id="a-01") != base
    assert confirmation_hash(REPORT, plot_id="a-01", planting_no=2) != base
    # The same instant written in another zone is the same fact.
    shanghai = REPORT.planted_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert confirmation_hash(replace(REPORT, planted_at=shanghai), plot_id="a-01") == base


# Survival checks.

SURVIVAL = SurvivalReport(tree_id="t-1", partner_id="north", checked_at=NOW, alive=False, photo_sha256=PHOTO)
PLANTED_AT = REPORT.planted_at


def test_survival_of_a_planted_tree(catalog):
    plot = catalog.get_plot("a-01")
    assert check_survival("planted", PLANTED_AT, plot, SURVIVAL, NOW) is TreeEvent.SURVIVAL_DEAD
    assert check_survival("alive", PLANTED_AT, plot, replace(SURVIVAL, alive=True), NOW) is TreeEvent.SURVIVAL_ALIVE


@pytest.mark.parametrize(
    "status, change, code",
    [
        ("awaiting_planting", {}, "invalid_transition"),
        ("dead", {}, "invalid_transition"),
        ("planted", {"checked_at": PLANTED_AT - timedelta(seconds=1)}, "checked_before_planted"),
        ("planted", {"checked_at": NOW + timedelta(minutes=6)}, "in_future"),
        ("planted", {"photo_sha256": "x"}, "invalid_photo_hash"),
        ("planted", {"partner_id": "south"}, "not_your_tree"),
    ],
)
def test_bad_survival_checks(catalog, status, change, code):
    with pytest.raises((InvalidInput, Conflict, Forbidden)) as raised:
        check_survival(status, PLANTED_AT, catalog.get_plot("a-01"), replace(SURVIVAL, **change), NOW)
    assert raised.value.code == code


def test_survival_hash_is_stable_and_covers_alive():
    assert survival_hash(SURVIVAL) == survival_hash(replace(SURVIVAL))
    assert survival_hash(SURVIVAL) != survival_hash(replace(SURVIVAL, alive=True))
