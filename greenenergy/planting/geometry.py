"""Plot polygons: validation, area in square metres, and point-in-polygon.

Coordinates follow GeoJSON (RFC 7946): each position is ``[longitude, latitude]`` in WGS 84
degrees; a Polygon is a list of linear rings, the first the outer boundary, the others
holes; a ring has at least four positions and its last position repeats its first.

Area: the rings are projected onto a local equirectangular plane around the polygon's
centroid (x = R cos(lat0) dlon, y = R dlat, R = 6,371,008.8 m, the mean Earth radius)
and measured there. For plots a few kilometres across the error is far below 1 %, which
is all a plausibility check needs.

Invariant: a polygon that passes ``polygon_problems`` is a valid shapely Polygon whose
every coordinate is in range, so ``contains`` never sees a broken shape.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import shapely
from shapely.geometry import Point, Polygon
from shapely.validation import explain_validity

EARTH_RADIUS_M = 6_371_008.8

Position = Sequence[float]
Ring = Sequence[Position]


def ring_problems(ring: Ring, *, which: str) -> list[str]:
    """Problems of one ring's shape (count, closure, coordinate ranges), as messages."""
    problems: list[str] = []
    if len(ring) < 4:
        problems.append(f"{which} has {len(ring)} positions; a closed ring needs at least 4")
    elif tuple(ring[0]) != tuple(ring[-1]):
        problems.append(
            f"{which} is not closed: its last position {list(ring[-1])} must repeat its first {list(ring[0])}"
        )
    for index, (lon, lat) in enumerate(ring):
        if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
            problems.append(f"{which} position {index}: longitude {lon} is outside [-180, 180]")
        if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
            problems.append(
                f"{which} position {index}: latitude {lat} is outside [-90, 90]"
                " (GeoJSON positions are [longitude, latitude]; are they swapped?)"
            )
    return problems


def polygon_of(rings: Sequence[Ring]) -> Polygon:
    """The shapely Polygon (lon/lat) of GeoJSON rings; no checking."""
    shell, *holes = rings
    return Polygon([tuple(p) for p in shell], [[tuple(p) for p in hole] for hole in holes])


def _project(ring: Ring, lon0: float, lat0: float) -> list[tuple[float, float]]:
    scale_x = EARTH_RADIUS_M * math.cos(math.radians(lat0))
    return [(scale_x * math.radians(lon - lon0), EARTH_RADIUS_M * math.radians(lat - lat0)) for lon, lat in ring]


def area_m2(rings: Sequence[Ring]) -> float:
    """Area of a valid polygon in square metres (local equirectangular projection)."""
    centroid = polygon_of(rings).centroid
    lon0, lat0 = centroid.x, centroid.y
    shell, *holes = rings
    return Polygon(_project(shell, lon0, lat0), [_project(hole, lon0, lat0) for hole in holes]).area


def polygon_problems(rings: Sequence[Ring], *, min_area_m2: float, max_area_m2: float) -> list[str]:
    """Every problem of a GeoJSON Polygon's rings; empty when it is usable as a plot."""
    if not rings:
        return ["a Polygon needs at least one ring (its outer boundary)"]
    problems: list[str] = []
    for index, ring in enumerate(rings):
        problems += ring_problems(ring, which="outer ring" if index == 0 else f"hole {index}")
    if problems:
        return problems
    polygon = polygon_of(rings)
    if not polygon.is_valid:
        # e.g. "Self-intersection[105.2 38.7]" for a bow-tie: say where, so it can be fixed.
        return [f"polygon is not valid: {explain_validity(polygon)}"]
    area = area_m2(rings)
    if area < min_area_m2:
        problems.append(f"polygon area {area:,.0f} m2 is below the plausible minimum of {min_area_m2:,.0f} m2")
    if area > max_area_m2:
        problems.append(f"polygon area {area:,.0f} m2 is above the plausible maximum of {max_area_m2:,.0f} m2")
    return problems


def prepared(polygon: Polygon) -> Polygon:
    """``polygon`` with shapely's spatial index built, for many point tests."""
    shapely.prepare(polygon)
    return polygon


def contains(polygon: Polygon, *, latitude: float, longitude: float) -> bool:
    """True when the point lies inside the polygon or on its boundary (lon/lat order!)."""
    return bool(polygon.covers(Point(longitude, latitude)))
