"""The public planting catalog (no token): ``GET /v1/species``, ``GET /v1/plots`` and the
public certificate page ``GET /v1/certificates/{certificate_no}``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from greenenergy.api.deps import RuntimeDep
from greenenergy.services.planting import catalog as planting_catalog
from greenenergy.services.planting import certificates as planting_certificates
from greenenergy.services.planting.catalog import PlotView, SpeciesView
from greenenergy.services.planting.certificates import CertificateView

router = APIRouter(prefix="/v1", tags=["planting"])


class SpeciesOut(BaseModel):
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


class PlotSpeciesOut(BaseModel):
    species_id: str
    capacity: int
    planted: int
    reserved: int
    free: int


class PlotOut(BaseModel):
    plot_id: str
    partner_id: str
    name: str
    name_zh: str
    kind: str
    region: dict[str, str | None]
    geometry: dict[str, Any] = Field(description="GeoJSON Polygon, positions [longitude, latitude]")
    species: list[str]
    capacity: int
    planted: int
    reserved: int
    by_species: list[PlotSpeciesOut]
    season: dict[str, str]
    planting_deadline_days: int
    area_m2: int


class CertificateOut(BaseModel):
    certificate_no: str
    holder_id: str
    tree_id: str
    species_id: str
    plot_id: str
    partner_id: str
    kind: str
    quantity: int
    energy_g: int
    share_g: int
    redeemed_at: datetime
    planted_at: datetime
    issued_on: date
    issued_at: datetime
    planting_no: int
    ledger_tx_id: str
    ledger_tx_hash: str = Field(description="hash of the ledger redeem transaction")
    confirmation_id: str
    confirmation_hash: str = Field(description="planting.confirmation_hash of the partner's confirmation")
    certificate_hash: str = Field(description="SHA-256 of the canonical bytes of the certificate's facts")
    national_no: str | None
    species_name: str | None = None
    plot_name: str | None = None
    partner_name: str | None = None
    hash_verified: bool | None = None


@router.get("/species", response_model=list[SpeciesOut])
def list_species(runtime: RuntimeDep) -> list[SpeciesView]:
    return planting_catalog.species_list(runtime)


@router.get("/plots", response_model=list[PlotOut])
def list_plots(runtime: RuntimeDep) -> list[PlotView]:
    return planting_catalog.plot_list(runtime)


@router.get("/certificates/{certificate_no}", response_model=CertificateOut)
def certificate(certificate_no: Annotated[str, Path(max_length=64)], runtime: RuntimeDep) -> CertificateView:
    return planting_certificates.get_certificate(runtime, certificate_no)
