"""The planting catalog's records: species, plots and partners, as validated by pydantic.

A *species* is anything a user can redeem energy for: a kind of tree (unit ``tree``, one
real tree per redemption) or a conservation share (unit ``m2``, one square metre of a
protected area per unit). ``energy_g`` is the integer price of one unit.

A *plot* is one numbered forest or protected area of one partner: a GeoJSON Polygon, the
species it offers with a capacity each, a planting season and a deadline in days.

Capacity is the plot's total for that species: the number of trees (or m2) the partner
will ever plant there. A plot entry describes one planting campaign; a new campaign on new
land is a new plot. The season gives the planting window, which recurs every year on the
same month and day; it sets deadlines (see ``deadlines``), never blocks a redemption.

All records are frozen and reject unknown keys, so a typo in a catalog file is an error,
not a silently ignored field. Integers and dates must be written as such in YAML (``strict``):
``energy_g: 17900.0`` or ``start: "2026-03-01"`` are refused.
"""

from __future__ import annotations

from datetime import date
from functools import cached_property
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, StrictBool, StrictFloat, StrictInt, model_validator
from shapely.geometry import Polygon

from greenenergy.planting import geometry

SNAKE_ID = r"^[a-z][a-z0-9_]{0,47}$"
KEBAB_ID = r"^[a-z0-9]+(-[a-z0-9]+){0,11}$"

Text = Annotated[str, Strict(), Field(min_length=1, max_length=200)]
LongText = Annotated[str, Strict(), Field(min_length=1, max_length=2000)]
SpeciesId = Annotated[str, Strict(), Field(pattern=SNAKE_ID)]
PlotId = Annotated[str, Strict(), Field(pattern=KEBAB_ID, max_length=48)]
PartnerId = Annotated[str, Strict(), Field(pattern=KEBAB_ID, max_length=48)]
StrictDate = Annotated[date, Strict()]
Degrees = StrictFloat  # also accepts YAML integers such as 105
PositiveInt = Annotated[StrictInt, Field(gt=0)]

# Plausible size of one plot, in m2: from a tenth of a hectare to 200 km2 (the whole Ant
# Forest reported about 4,366 km2 over 13 provinces in 2025; one numbered forest of
# 150,000 saxaul at 45 trees per mu is about 2.2 km2).
MIN_PLOT_AREA_M2 = 1_000.0
MAX_PLOT_AREA_M2 = 200_000_000.0

# Densest planting we accept when checking that a polygon can hold its capacity. The
# reported grid is 3 m x 5 m = 15 m2 per tree (about 45 trees per mu of 666.7 m2); we allow
# down to 10 m2 per tree (about 67 per mu) so partners may plant somewhat denser.
MIN_M2_PER_TREE = 10.0
# A conservation share is one real square metre of the protected area.
M2_PER_SHARE = 1.0


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Names(Record):
    zh: Text
    en: Text


class Species(Record):
    species_id: SpeciesId
    kind: Literal["tree", "conservation"]
    names: Names
    scientific_name: Text | None
    energy_g: PositiveInt
    unit: Literal["tree", "m2"]
    verified: StrictBool
    price_source: LongText
    typical_regions: Annotated[tuple[Text, ...], Field(min_length=1)]
    co2_absorbed_kg_lifetime: Annotated[StrictFloat, Field(ge=0)] | None
    co2_source: LongText
    co2_verified: StrictBool
    description: LongText | None = None

    @model_validator(mode="after")
    def _unit_matches_kind(self) -> Species:
        expected = "tree" if self.kind == "tree" else "m2"
        if self.unit != expected:
            raise ValueError(f"a {self.kind} entry is sold per {expected}, not per {self.unit}")
        if self.kind == "tree" and self.scientific_name is None:
            raise ValueError("a tree species needs its scientific_name")
        if self.kind == "tree" and self.co2_absorbed_kg_lifetime is None:
            raise ValueError("a tree species needs an estimate of co2_absorbed_kg_lifetime")
        return self


class Region(Record):
    province: Text
    county: Text
    prefecture: Text | None = None


class Season(Record):
    """The planting window, ``start`` to ``end`` inclusive; it recurs yearly on the same days."""

    start: StrictDate
    end: StrictDate

    @model_validator(mode="after")
    def _ordered(self) -> Season:
        if self.end <= self.start:
            raise ValueError(f"season end {self.end} must be after its start {self.start}")
        if (self.end - self.start).days >= 365:
            raise ValueError("a season must be shorter than a year: it recurs every year")
        return self


class PlotSpecies(Record):
    species_id: SpeciesId
    capacity: PositiveInt


class PolygonGeometry(Record):
    """A GeoJSON Polygon: rings of [longitude, latitude] positions (RFC 7946)."""

    type: Literal["Polygon"]
    coordinates: Annotated[tuple[tuple[tuple[Degrees, Degrees], ...], ...], Field(min_length=1)]


class PlotDoc(Record):
    """One plot as written in a partner file."""

    plot_id: PlotId
    name: Names
    kind: Literal["planting", "conservation"]
    region: Region
    geometry: PolygonGeometry
    species: Annotated[tuple[PlotSpecies, ...], Field(min_length=1)]
    season: Season
    planting_deadline_days: Annotated[StrictInt, Field(ge=1, le=730)]
    description: LongText | None = None


class Plot(PlotDoc):
    """A loaded plot, with its partner and its polygon ready for point tests."""

    partner_id: PartnerId

    @cached_property
    def polygon(self) -> Polygon:
        return geometry.prepared(geometry.polygon_of(self.geometry.coordinates))

    @cached_property
    def area_m2(self) -> float:
        return geometry.area_m2(self.geometry.coordinates)

    @cached_property
    def capacities(self) -> dict[str, int]:
        """Capacity per offered species id."""
        return {entry.species_id: entry.capacity for entry in self.species}

    @property
    def species_ids(self) -> tuple[str, ...]:
        return tuple(entry.species_id for entry in self.species)

    def offers(self, species_id: str) -> bool:
        return species_id in self.capacities

    def capacity_of(self, species_id: str) -> int:
        """Total places for ``species_id`` (0 when the plot does not offer it)."""
        return self.capacities.get(species_id, 0)

    @property
    def total_capacity(self) -> int:
        return sum(self.capacities.values())

    def contains(self, *, latitude: float, longitude: float) -> bool:
        return geometry.contains(self.polygon, latitude=latitude, longitude=longitude)


class PartnerHeader(Record):
    """A partner file without its ``plots:`` list (each plot is validated on its own)."""

    partner_id: PartnerId
    name: Names
    website: Annotated[str, Strict(), Field(pattern=r"^https?://[^\s]+$", max_length=200)] | None = None
    description: LongText | None = None


class Partner(Record):
    partner_id: PartnerId
    name: Names
    website: str | None = None
    description: str | None = None
    plot_ids: tuple[str, ...]
