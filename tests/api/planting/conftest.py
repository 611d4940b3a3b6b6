"""A small planting catalog written as YAML next to the tests, and helpers to fund users.

Partner ``north``: plot ``a-01`` (saxaul 10, fir 1; spring season, 90 days) and ``a-02``
(saxaul 3; all year, 30 days). Partner ``south``: conservation plot ``c-01`` (5,000 m2
shares). Both a-plots are 0.01-degree squares near Alxa; the clock starts on 2026-11-20.
"""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

import pytest

from greenenergy.config import load_settings
from greenenergy.ledger import transfer, user_account
from greenenergy.services import ledger
from greenenergy.services.runtime import Runtime
from greenenergy.units import shard_of

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
    co2_absorbed_kg_lifetime: 330.8
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

NORTH = """
partner_id: north
name: {zh: 北, en: North}
plots:
  - plot_id: a-01
    name: {zh: 甲, en: A 1}
    kind: planting
    region: {province: Inner Mongolia, county: Alxa Left Banner}
    geometry: {type: Polygon, coordinates: [[[105.20, 38.70], [105.21, 38.70], [105.21, 38.71], [105.20, 38.71], [105.20, 38.70]]]}
    species:
      - {species_id: saxaul, capacity: 10}
      - {species_id: fir, capacity: 1}
    season: {start: 2026-03-15, end: 2026-05-31}
    planting_deadline_days: 90
  - plot_id: a-02
    name: {zh: 乙, en: A 2}
    kind: planting
    region: {province: Inner Mongolia, county: Alxa Left Banner}
    geometry: {type: Polygon, coordinates: [[[105.30, 38.70], [105.31, 38.70], [105.31, 38.71], [105.30, 38.71], [105.30, 38.70]]]}
    species:
      - {species_id: saxaul, capacity: 3}
    season: {start: 2026-01-01, end: 2026-12-31}
    planting_deadline_days: 30
"""

SOUTH = """
partner_id: south
name: {zh: 南, en: South}
plots:
  - plot_id: c-01
    name: {zh: 丙, en: C 1}
    kind: conservation
    region: {province: Sichuan, county: Pingwu County}
    geometry: {type: Polygon, coordinates: [[[104.20, 32.70], [104.21, 32.70], [104.21, 32.71], [104.20, 32.71], [104.20, 32.70]]]}
    species:
      - {species_id: share, capacity: 5000}
    season: {start: 2026-01-01, end: 2026-12-30}
    planting_deadline_days: 30
"""

SAXAUL_G = 17_900
# Points inside a-01 / a-02 / c-01 (latitude, longitude).
IN_A01 = (38.705, 105.205)
IN_A02 = (38.705, 105.305)
IN_C01 = (32.705, 104.205)


def write_catalog(root: Path, partners: dict[str, str] | None = None) -> Path:
    (root / "trees").mkdir(parents=True, exist_ok=True)
    (root / "partners").mkdir(parents=True, exist_ok=True)
    (root / "trees" / "species.yaml").write_text(textwrap.dedent(TREES), encoding="utf-8")
    for name, text in (partners or {"north": NORTH, "south": SOUTH}).items():
        (root / "partners" / f"{name}.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def use_catalog(runtime: Runtime, root: Path) -> None:
    runtime.settings = load_settings(database_url=runtime.settings.database_url, catalog_dir=root)
    runtime.cache.clear()


@pytest.fixture(autouse=True)
def small_catalog(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Point the test's runtime (when it has one) at the small catalog above."""
    if "runtime" in request.fixturenames:
        use_catalog(request.getfixturevalue("runtime"), write_catalog(tmp_path_factory.mktemp("catalog")))


def fund(runtime: Runtime, user_id: str, energy_g: int) -> None:
    ledger.post_one(
        runtime,
        transfer(
            "mint",
            debit="mint:test",
            credit=user_account(user_id, "available"),
            energy_g=energy_g,
            shard=shard_of(user_id),
        ),
    )


def available(runtime: Runtime, user_id: str) -> int:
    return ledger.balance(runtime, user_account(user_id, "available"))


def photo(label: object) -> str:
    return hashlib.sha256(str(label).encode()).hexdigest()
