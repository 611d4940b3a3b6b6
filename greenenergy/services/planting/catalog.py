"""The planting catalog (``trees/`` and ``partners/``), loaded once per process, and its
public views: ``GET /v1/species`` and ``GET /v1/plots``.

Loaded from ``settings.catalog_dir`` on first use and cached on the runtime, keyed by the
folder, so a runtime pointed at another folder loads that one. A bad file raises
``CatalogError`` listing every problem as ``file:line: id: message``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from greenenergy.db import planting_views_repo
from greenenergy.db.engine import read_tx
from greenenergy.planting import PlantingCatalog, check_planting_catalog, load_planting_catalog
from greenenergy.services.runtime import Runtime

CACHE_KEY = "planting_catalog"


def catalog(runtime: Runtime) -> PlantingCatalog:
    """The species and plots in force, loaded once per runtime (and catalog folder)."""
    root = runtime.settings.catalog_dir
    cached = runtime.cache.get(CACHE_KEY)
    if cached is None or cached[0] != root:
        cached = (root, load_planting_catalog(root))
        runtime.cache[CACHE_KEY] = cached
    return cached[1]


def reload(runtime: Runtime) -> PlantingCatalog:
    runtime.cache.pop(CACHE_KEY, None)
    return catalog(runtime)


def problems(runtime: Runtime) -> list[str]:
    """Every problem of trees/ and partners/ (empty when both load)."""
    return check_planting_catalog(runtime.settings.catalog_dir)


@dataclass(frozen=True)
class SpeciesView:
    species_id: str
    name: str
    name_zh: str
    kind: str
    unit: str
    scientific_name: str | None
    energy_g: int
    verified: bool
    price_source: str
    typical_regions: list[str]
    co2_absorbed_kg_lifetime: float | None
    co2_source: str
    co2_verified: bool
    description: str | None
    plots: list[str]


@dataclass(frozen=True)
class PlotSpeciesView:
    species_id: str
    capacity: int
    planted: int
    reserved: int
    free: int


@dataclass(frozen=True)
class PlotView:
    plot_id: str
    partner_id: str
    name: str
    name_zh: str
    kind: str
    region: dict[str, str | None]
    geometry: dict[str, Any]  # GeoJSON Polygon, positions [longitude, latitude]
    species: list[str]
    capacity: int
    planted: int
    reserved: int
    by_species: list[PlotSpeciesView]
    season: dict[str, str]
    planting_deadline_days: int
    area_m2: int


def species_list(runtime: Runtime) -> list[SpeciesView]:
    """Every species and conservation entry, cheapest first."""
    current = catalog(runtime)
    return [
        SpeciesView(
            species_id=s.species_id,
            name=s.names.en,
            name_zh=s.names.zh,
            kind=s.kind,
            unit=s.unit,
            scientific_name=s.scientific_name,
            energy_g=int(s.energy_g),
            verified=s.verified,
            price_source=s.price_source,
            typical_regions=list(s.typical_regions),
            co2_absorbed_kg_lifetime=s.co2_absorbed_kg_lifetime,
            co2_source=s.co2_source,
            co2_verified=s.co2_verified,
            description=s.description,
            plots=[plot.plot_id for plot in current.plots_offering(s.species_id)],
        )
        for s in current.species_catalog
    ]


def plot_list(runtime: Runtime) -> list[PlotView]:
    """Every plot with its polygon and, per species and in total, capacity, planted, reserved.

    ``planted`` counts trees (or m2) in the ground; ``reserved`` those awaiting a tree
    (first planting or replacement of a dead one); ``free`` = capacity - planted - reserved.
    """
    current = catalog(runtime)
    with read_tx(runtime.engine) as connection:
        counts = planting_views_repo.plot_counts(connection)
    plots = []
    for plot_id, plot in sorted(current.plots.items()):
        by_species = []
        for entry in plot.species:
            planted, reserved = counts.get((plot_id, entry.species_id), (0, 0))
            capacity = int(entry.capacity)
            by_species.append(
                PlotSpeciesView(entry.species_id, capacity, planted, reserved, max(0, capacity - planted - reserved))
            )
        plots.append(
            PlotView(
                plot_id=plot_id,
                partner_id=plot.partner_id,
                name=plot.name.en,
                name_zh=plot.name.zh,
                kind=plot.kind,
                region={
                    "province": plot.region.province,
                    "prefecture": plot.region.prefecture,
                    "county": plot.region.county,
                },
                geometry={
                    "type": "Polygon",
                    "coordinates": [[list(p) for p in ring] for ring in plot.geometry.coordinates],
                },
                species=list(plot.species_ids),
                capacity=sum(item.capacity for item in by_species),
                planted=sum(item.planted for item in by_species),
                reserved=sum(item.reserved for item in by_species),
                by_species=by_species,
                season={"start": plot.season.start.isoformat(), "end": plot.season.end.isoformat()},
                planting_deadline_days=plot.planting_deadline_days,
                area_m2=int(plot.area_m2),
            )
        )
    return plots
