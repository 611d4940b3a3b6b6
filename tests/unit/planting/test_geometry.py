"""Plot polygons: closed, in range, valid, plausible area, large enough; point-in-polygon."""

from __future__ import annotations

import pytest

from greenenergy.planting import check_planting_catalog
from greenenergy.planting.geometry import area_m2, contains, polygon_of, polygon_problems
from tests.unit.planting.conftest import NORTH, SOUTH, SQUARE, write_catalog
from tests.unit.planting.test_catalog_loader import line_of, only_problem


def problems_with_geometry(tmp_path, coordinates: str) -> list[str]:
    north = NORTH.replace(SQUARE, coordinates)
    return check_planting_catalog(write_catalog(tmp_path, partners={"north": north, "south": SOUTH}))


def test_unclosed_ring_is_refused_at_the_geometry_line(tmp_path):
    unclosed = "[[[105.20, 38.70], [105.21, 38.70], [105.21, 38.71], [105.20, 38.71]]]"
    problem = only_problem(problems_with_geometry(tmp_path, unclosed))
    assert f"north.yaml:{line_of(NORTH, 'geometry')}: a-01: outer ring is not closed" in problem


def test_self_intersecting_bow_tie_is_refused_with_where(tmp_path):
    bow_tie = "[[[105.20, 38.70], [105.21, 38.71], [105.21, 38.70], [105.20, 38.71], [105.20, 38.70]]]"
    problem = only_problem(problems_with_geometry(tmp_path, bow_tie))
    assert "a-01: polygon is not valid: Self-intersection[105.205 38.705]" in problem


def test_tiny_polygon_is_refused(tmp_path):
    # About 9 m x 11 m: below the 1,000 m2 minimum of a plot.
    tiny = "[[[105.20, 38.70], [105.2001, 38.70], [105.2001, 38.7001], [105.20, 38.7001], [105.20, 38.70]]]"
    problems = problems_with_geometry(tmp_path, tiny)
    assert len(problems) == 1
    assert "a-01: polygon area 96 m2 is below the plausible minimum of 1,000 m2" in problems[0]


def test_swapped_latitude_and_longitude_are_out_of_range(tmp_path):
    swapped = "[[[38.70, 105.20], [38.70, 105.21], [38.71, 105.21], [38.71, 105.20], [38.70, 105.20]]]"
    problems = problems_with_geometry(tmp_path, swapped)
    assert len(problems) == 5  # one per position (the closing one included)
    assert (
        "latitude 105.2 is outside [-90, 90] (GeoJSON positions are [longitude, latitude]; are they swapped?)"
        in problems[0]
    )


def test_polygon_too_small_for_its_capacity(tmp_path):
    # 0.001 degree square, about 9,700 m2: room for 970 trees at 10 m2 each, not 4,000.
    small = "[[[105.20, 38.70], [105.201, 38.70], [105.201, 38.701], [105.20, 38.701], [105.20, 38.70]]]"
    north = NORTH.replace(SQUARE, small).replace(
        "{species_id: saxaul, capacity: 3}", "{species_id: saxaul, capacity: 3999}", 1
    )
    problem = only_problem(check_planting_catalog(write_catalog(tmp_path, partners={"north": north, "south": SOUTH})))
    assert f"north.yaml:{line_of(north, 'species:')}: a-01: capacity of 4,000 trees needs at least 40,000 m2" in problem


def test_conservation_plot_needs_one_m2_per_share(tmp_path):
    south = SOUTH.replace("{species_id: share, capacity: 5000}", "{species_id: share, capacity: 2000000}")
    problem = only_problem(check_planting_catalog(write_catalog(tmp_path, partners={"north": NORTH, "south": south})))
    assert "c-01: capacity of 2,000,000 m2 shares needs at least 2,000,000 m2 (1 m2 each)" in problem


def test_position_with_altitude_is_refused(tmp_path):
    with_altitude = "[[[105.20, 38.70, 1200], [105.21, 38.70], [105.21, 38.71], [105.20, 38.71], [105.20, 38.70]]]"
    problem = only_problem(problems_with_geometry(tmp_path, with_altitude))
    assert "a-01: geometry.coordinates.0.0: Tuple should have at most 2 items" in problem


def test_area_of_a_known_square_is_within_half_a_percent():
    # 0.01 x 0.01 degree at 38.705 N: 1,111.95 m north-south x 867.9 m east-west.
    ring = [(105.20, 38.70), (105.21, 38.70), (105.21, 38.71), (105.20, 38.71), (105.20, 38.70)]
    assert area_m2([ring]) == pytest.approx(965_030, rel=0.005)


def test_a_hole_is_subtracted_and_is_outside():
    shell = [(105.20, 38.70), (105.21, 38.70), (105.21, 38.71), (105.20, 38.71), (105.20, 38.70)]
    hole = [(105.204, 38.704), (105.204, 38.706), (105.206, 38.706), (105.206, 38.704), (105.204, 38.704)]
    assert polygon_problems([shell, hole], min_area_m2=1_000, max_area_m2=1e9) == []
    assert area_m2([shell, hole]) == pytest.approx(area_m2([shell]) * (1 - 0.04), rel=0.001)
    polygon = polygon_of([shell, hole])
    assert not contains(polygon, latitude=38.705, longitude=105.205)
    assert contains(polygon, latitude=38.702, longitude=105.202)


def test_contains_takes_latitude_and_longitude_by_name():
    polygon = polygon_of([[(105.20, 38.70), (105.21, 38.70), (105.21, 38.71), (105.20, 38.71), (105.20, 38.70)]])
    assert contains(polygon, latitude=38.705, longitude=105.205)
    assert not contains(polygon, latitude=105.205, longitude=38.705)
    assert contains(polygon, latitude=38.70, longitude=105.205)  # on the boundary counts as inside
