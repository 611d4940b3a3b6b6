"""A small planting catalog written as YAML, shared by the domain tests.

Two partners: ``north`` with plots ``a-01`` (saxaul 3, fir 1) and ``a-02`` (saxaul 3), both
squares of 0.01 degree near Alxa (about 0.97 km2); ``south`` with the conservation plot
``c-01`` (5,000 m2 shares). Loader tests write their own files inline.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from greenenergy.planting import PlantingCatalog, load_planting_catalog

TREES = """
species:
  - species_id: saxaul
    kind: tree
    unit: tree
    names: {zh: 梭梭, en: saxaul}
    scientific_name: Haloxylon ammodendron
    energy_g: 17900
    verified: true
    price_source: reference table
    typical_regions: [Alxa]
    co2_absorbed_kg_lifetime: 17.9
    co2_source: estimate
    co2_verified: false
  - species_id: fir
    kind: tree
    unit: tree
    names: {zh: 冷杉, en: fir}
    scientific_name: Abies
    energy_g: 330759
    verified: true
    price_source: reference table
    typical_regions: [Sichuan]
    co2_absorbed_kg_lifetime: 330.759
    co2_source: estimate
    co2_verified: false
  - species_id: share
    kind: conservation
    unit: m2
    names: {zh: 保护地, en: share}
    scientific_name: null
    energy_g: 1000
    verified: false
    price_source: chosen
    typical_regions: [Sichuan]
    co2_absorbed_kg_lifetime: null
    co2_source: none
    co2_verified: false
"""

SQUARE = "[[[105.20, 38.70], [105.21, 38.70], [105.21, 38.71], [105.20, 38.71], [105.20, 38.70]]]"
SQUARE_2 = "[[[105.30, 38.70], [105.31, 38.70], [105.31, 38.71], [105.30, 38.71], [105.30, 38.70]]]"
SQUARE_3 = "[[[104.20, 32.70], [104.21, 32.70], [104.21, 32.71], [104.20, 32.71], [104.20, 32.70]]]"

NORTH = f"""
partner_id: north
name: {{zh: 北, en: North}}
plots:
  - plot_id: a-01
    name: {{zh: 甲, en: A 1}}
    kind: planting
    region: {{province: Inner Mongolia, county: Alxa Left Banner}}
    geometry: {{type: Polygon, coordinates: {SQUARE}}}
    species:
      - {{species_id: saxaul, capacity: 3}}
      - {{species_id: fir, capacity: 1}}
    season: {{start: 2026-03-15, end: 2026-05-31}}
    planting_deadline_days: 90
  - plot_id: a-02
    name: {{zh: 乙, en: A 2}}
    kind: planting
    region: {{province: Inner Mongolia, county: Alxa Left Banner}}
    geometry: {{type: Polygon, coordinates: {SQUARE_2}}}
    species:
      - {{species_id: saxaul, capacity: 3}}
    season: {{start: 2026-03-15, end: 2026-05-31}}
    planting_deadline_days: 90
"""

SOUTH = f"""
partner_id: south
name: {{zh: 南, en: South}}
plots:
  - plot_id: c-01
    name: {{zh: 丙, en: C 1}}
    kind: conservation
    region: {{province: Sichuan, county: Pingwu County}}
    geometry: {{type: Polygon, coordinates: {SQUARE_3}}}
    species:
      - {{species_id: share, capacity: 5000}}
    season: {{start: 2026-01-01, end: 2026-12-30}}
    planting_deadline_days: 30
"""


def write_catalog(root: Path, trees: str = TREES, partners: dict[str, str] | None = None) -> Path:
    """Write ``trees/species.yaml`` and ``partners/<name>.yaml`` under ``root``; return root."""
    (root / "trees").mkdir(parents=True, exist_ok=True)
    (root / "partners").mkdir(parents=True, exist_ok=True)
    (root / "trees" / "species.yaml").write_text(textwrap.dedent(trees), encoding="utf-8")
    for name, text in (partners if partners is not None else {"north": NORTH, "south": SOUTH}).items():
        (root / "partners" / f"{name}.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return root


@pytest.fixture
def catalog(tmp_path: Path) -> PlantingCatalog:
    return load_planting_catalog(write_catalog(tmp_path))
