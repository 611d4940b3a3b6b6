"""Trees, plots, partners, certificates and co-planting pools.

Public (no token): ``GET /v1/species``, ``GET /v1/plots``, ``GET /v1/certificates/{no}``.

Users (role ``user``, own id; auditors and admins may read):

- ``POST /v1/users/{user_id}/trees`` ``{"species_id", "plot_id"?, "quantity"?}`` -> 201; a
  conservation entry (unit m2) takes ``quantity`` square metres, a tree species 1;
- ``GET /v1/users/{user_id}/trees``, ``GET /v1/users/{user_id}/certificates``;
- ``POST|GET /v1/users/{user_id}/national-certificates`` ``{"year"}``;
- co-planting: ``POST /v1/users/{user_id}/coplant-pools`` ``{"species_id", "plot_id"?,
  "daily_cap_g"?, "max_members"?}`` -> 201 (the caller is the first member);
  ``POST /v1/users/{user_id}/coplant-pools/{pool_id}/join``;
  ``POST /v1/users/{user_id}/coplant-pools/{pool_id}/contributions`` ``{"energy_g"}`` (the
  contribution that completes the pool redeems the tree: the answer's ``tree``);
  ``POST /v1/users/{user_id}/coplant-pools/{pool_id}/leave`` (before the redemption: refund);
  ``GET /v1/users/{user_id}/coplant-pools``; ``GET /v1/coplant-pools/{pool_id}`` (any user).

Partners (role ``partner``, own id; auditors and admins may read orders):
``GET /v1/partners/{partner_id}/orders``, ``POST .../plantings`` (201),
``POST .../plantings:bulk`` (CSV or JSON list), ``POST .../survival`` (201).

Auditors: ``GET /v1/audit/overdue-orders``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from greenenergy.api.deps import CurrentPrincipal, RuntimeDep, require_role, require_self_or_reader
from greenenergy.api.inputs import Input, Instant
from greenenergy.errors import Forbidden
from greenenergy.ids import ID_PATTERN
from greenenergy.planting import PlantingReport, SurvivalReport
from greenenergy.services.planting import catalog as planting_catalog
from greenenergy.services.planting import certificates as planting_certificates
from greenenergy.services.planting import coplant as planting_coplant
from greenenergy.services.planting import jobs as planting_jobs
from greenenergy.services.planting import partner as planting_partner
from greenenergy.services.planting import queries as planting_queries
from greenenergy.services.planting import redeem as planting_redeem
from greenenergy.services.tokens import Principal

router = APIRouter(prefix="/v1", tags=["planting"])
_ID = f"^{ID_PATTERN.pattern}$"
UserId = Annotated[str, Path(pattern=_ID, description="user id")]
PartnerId = Annotated[str, Path(pattern=_ID, description="partner id")]
PoolId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="co-planting pool id")]
CatalogId = Annotated[str, Field(min_length=1, max_length=48)]
TreeId = Annotated[str, Field(min_length=1, max_length=64)]


def _own(principal: Principal, role: str, subject: str) -> None:
    """Writes: only the subject itself (an auditor or admin token may read, never write)."""
    require_role(principal, role)
    if principal.subject != subject:
        raise Forbidden(
            f"this token belongs to {role} {principal.subject!r} and may not act for {subject!r}", code="not_yours"
        )


# --- catalog --------------------------------------------------------------------------


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


@router.get("/species", response_model=list[SpeciesOut])
def list_species(runtime: RuntimeDep) -> list[dict[str, object]]:
    return planting_catalog.species_list(runtime)


@router.get("/plots", response_model=list[PlotOut])
def list_plots(runtime: RuntimeDep) -> list[dict[str, object]]:
    return planting_catalog.plot_list(runtime)


# --- trees ----------------------------------------------------------------------------


class RedeemIn(Input):
    species_id: CatalogId
    plot_id: CatalogId | None = None
    quantity: int = Field(default=1, description="1 for a tree; square metres for a conservation entry")


class TreeRedeemed(BaseModel):
    tree_id: str
    species_id: str
    plot_id: str
    partner_id: str
    quantity: int
    energy_g: int
    status: str
    redeemed_at: datetime
    order_id: str
    deadline: datetime
    transaction_id: str
    pool_id: str | None


class HistoryItem(BaseModel):
    event: str
    status: str
    occurred_at: datetime
    recorded_at: datetime
    order_id: str | None
    confirmation_id: str | None


class TreeOut(BaseModel):
    tree_id: str
    species_id: str
    kind: str
    quantity: int
    plot_id: str
    partner_id: str
    energy_g: int
    share_g: int
    pool_id: str | None
    status: str
    redeemed_at: datetime
    planted_at: datetime | None
    transaction_id: str
    order_id: str | None
    deadline: datetime | None
    certificate_no: str | None
    certificate_nos: list[str]
    history: list[HistoryItem]


@router.post("/users/{user_id}/trees", response_model=TreeRedeemed, status_code=201)
def redeem_tree(user_id: UserId, body: RedeemIn, principal: CurrentPrincipal, runtime: RuntimeDep) -> dict[str, object]:
    _own(principal, "user", user_id)
    return planting_redeem.redeem(runtime, user_id, body.species_id, body.plot_id, body.quantity)


@router.get("/users/{user_id}/trees", response_model=list[TreeOut])
def user_trees(user_id: UserId, principal: CurrentPrincipal, runtime: RuntimeDep) -> list[dict[str, object]]:
    require_self_or_reader(principal, role="user", subject=user_id)
    return planting_queries.list_trees(runtime, user_id)


# --- certificates ---------------------------------------------------------------------


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


class NationalIn(Input):
    year: int


class NationalOut(BaseModel):
    national_no: str
    holder_id: str
    year: int
    issued_at: datetime
    certificates: list[str]


@router.get("/certificates/{certificate_no}", response_model=CertificateOut)
def certificate(certificate_no: Annotated[str, Path(max_length=64)], runtime: RuntimeDep) -> dict[str, object]:
    return planting_certificates.get_certificate(runtime, certificate_no)


@router.get("/users/{user_id}/certificates", response_model=list[CertificateOut])
def user_certificates(user_id: UserId, principal: CurrentPrincipal, runtime: RuntimeDep) -> list[dict[str, object]]:
    require_self_or_reader(principal, role="user", subject=user_id)
    return planting_certificates.list_certificates(runtime, user_id)


@router.post("/users/{user_id}/national-certificates", response_model=NationalOut, status_code=201)
def exchange_national(
    user_id: UserId, body: NationalIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> dict[str, object]:
    _own(principal, "user", user_id)
    return planting_certificates.exchange(runtime, user_id, body.year)


@router.get("/users/{user_id}/national-certificates", response_model=list[NationalOut])
def national_certificates(user_id: UserId, principal: CurrentPrincipal, runtime: RuntimeDep) -> list[dict[str, object]]:
    require_self_or_reader(principal, role="user", subject=user_id)
    return planting_certificates.list_national(runtime, user_id)


# --- co-planting ----------------------------------------------------------------------


class PoolIn(Input):
    species_id: CatalogId
    plot_id: CatalogId | None = None
    daily_cap_g: int | None = Field(default=None, description="per member per local day; default a third of the price")
    max_members: int | None = None


class ContributionIn(Input):
    energy_g: int


class PoolMember(BaseModel):
    user_id: str
    contributed_g: int


class PoolOut(BaseModel):
    pool_id: str
    species_id: str
    plot_id: str | None
    price_g: int
    daily_cap_g: int
    max_members: int
    status: str
    founder_id: str
    created_at: datetime
    redeemed_at: datetime | None
    tree_id: str | None
    total_g: int
    remaining_g: int
    members: list[PoolMember]


class ContributionOut(BaseModel):
    accepted_g: int
    pool: PoolOut
    tree: TreeRedeemed | None


class LeaveOut(BaseModel):
    refunded_g: int
    pool: PoolOut


@router.post("/users/{user_id}/coplant-pools", response_model=PoolOut, status_code=201)
def create_pool(user_id: UserId, body: PoolIn, principal: CurrentPrincipal, runtime: RuntimeDep) -> dict[str, object]:
    _own(principal, "user", user_id)
    return planting_coplant.create_pool(
        runtime, user_id, body.species_id, body.plot_id, daily_cap_g=body.daily_cap_g, max_members=body.max_members
    )


@router.get("/users/{user_id}/coplant-pools", response_model=list[PoolOut])
def user_pools(user_id: UserId, principal: CurrentPrincipal, runtime: RuntimeDep) -> list[dict[str, object]]:
    require_self_or_reader(principal, role="user", subject=user_id)
    return planting_coplant.list_pools(runtime, user_id)


@router.get("/coplant-pools/{pool_id}", response_model=PoolOut)
def pool(pool_id: PoolId, principal: CurrentPrincipal, runtime: RuntimeDep) -> dict[str, object]:
    require_role(principal, "user", "auditor", "admin")
    return planting_coplant.get_pool(runtime, pool_id)


@router.post("/users/{user_id}/coplant-pools/{pool_id}/join", response_model=PoolOut)
def join_pool(user_id: UserId, pool_id: PoolId, principal: CurrentPrincipal, runtime: RuntimeDep) -> dict[str, object]:
    _own(principal, "user", user_id)
    return planting_coplant.join_pool(runtime, user_id, pool_id)


@router.post("/users/{user_id}/coplant-pools/{pool_id}/contributions", response_model=ContributionOut)
def contribute(
    user_id: UserId, pool_id: PoolId, body: ContributionIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> dict[str, object]:
    _own(principal, "user", user_id)
    return planting_coplant.contribute_to_pool(runtime, user_id, pool_id, body.energy_g)


@router.post("/users/{user_id}/coplant-pools/{pool_id}/leave", response_model=LeaveOut)
def leave_pool(user_id: UserId, pool_id: PoolId, principal: CurrentPrincipal, runtime: RuntimeDep) -> dict[str, object]:
    _own(principal, "user", user_id)
    return planting_coplant.leave_pool(runtime, user_id, pool_id)


# --- partners -------------------------------------------------------------------------


class OrderOut(BaseModel):
    order_id: str
    tree_id: str
    plot_id: str
    species_id: str
    quantity: int
    redeemed_at: datetime
    ordered_at: datetime
    deadline: datetime
    status: str
    kind: str
    planting_no: int
    overdue_at: datetime | None
    planted_at: datetime | None


class PlantingIn(Input):
    tree_id: TreeId
    planted_at: Instant = Field(description="ISO 8601 with a zone offset")
    latitude: float = Field(description="degrees, a JSON number")
    longitude: float = Field(description="degrees, a JSON number")
    species_id: CatalogId
    photo_sha256: Annotated[str, Field(max_length=64)]
    tag: Annotated[str, Field(max_length=200)] | None = None


class ConfirmationOut(BaseModel):
    tree_id: str
    status: str | None
    confirmation_id: str | None
    certificate_no: str | None
    certificate_nos: list[str]


class BulkRow(ConfirmationOut):
    row: int
    result: Literal["confirmed", "rejected"]
    tree_id: str | None  # type: ignore[assignment]
    code: str | None
    message: str | None


class BulkOut(BaseModel):
    confirmed: int
    rejected: int
    results: list[BulkRow]


class SurvivalIn(Input):
    tree_id: TreeId
    checked_at: Instant = Field(description="ISO 8601 with a zone offset")
    alive: bool
    photo_sha256: Annotated[str, Field(max_length=64)]


class SurvivalOut(BaseModel):
    tree_id: str
    event: str
    status: str
    confirmation_id: str
    replanting_order_id: str | None
    replanting_deadline: datetime | None


@router.get("/partners/{partner_id}/orders", response_model=list[OrderOut])
def partner_orders(
    partner_id: PartnerId,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    status: Literal["pending", "overdue", "planted"] | None = None,
    limit: Annotated[int, Query(ge=1, le=planting_partner.MAX_ORDERS_PAGE)] = 100,
    after: Annotated[str | None, Query(max_length=32, description="order_id of the last order seen")] = None,
) -> list[dict[str, object]]:
    require_self_or_reader(principal, role="partner", subject=partner_id)
    return planting_partner.list_orders(runtime, partner_id, status=status, limit=limit, after=after)


@router.post("/partners/{partner_id}/plantings", response_model=ConfirmationOut, status_code=201)
def confirm_planting(
    partner_id: PartnerId, body: PlantingIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> dict[str, object]:
    _own(principal, "partner", partner_id)
    report = PlantingReport(
        tree_id=body.tree_id,
        partner_id=partner_id,
        species_id=body.species_id,
        planted_at=body.planted_at,
        latitude=body.latitude,
        longitude=body.longitude,
        photo_sha256=body.photo_sha256,
        tag=body.tag,
    )
    return planting_partner.confirm_planting(runtime, report)


@router.post(
    "/partners/{partner_id}/plantings:bulk",
    response_model=BulkOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "array", "items": PlantingIn.model_json_schema()}},
            },
        }
    },
)
async def confirm_bulk(
    partner_id: PartnerId, request: Request, principal: CurrentPrincipal, runtime: RuntimeDep
) -> dict[str, object]:
    _own(principal, "partner", partner_id)
    body = await request.body()
    return await run_in_threadpool(
        planting_partner.confirm_bulk, runtime, partner_id, body, request.headers.get("content-type", "")
    )


@router.post("/partners/{partner_id}/survival", response_model=SurvivalOut, status_code=201)
def survival(
    partner_id: PartnerId, body: SurvivalIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> dict[str, object]:
    _own(principal, "partner", partner_id)
    report = SurvivalReport(
        tree_id=body.tree_id,
        partner_id=partner_id,
        checked_at=body.checked_at,
        alive=body.alive,
        photo_sha256=body.photo_sha256,
    )
    return planting_partner.report_survival(runtime, report)


# --- auditors -------------------------------------------------------------------------


class OverdueOut(BaseModel):
    order_id: str
    tree_id: str
    partner_id: str
    plot_id: str
    species_id: str
    owner_id: str
    planting_no: int
    ordered_at: datetime
    deadline: datetime
    overdue_at: datetime | None
    days_overdue: int


@router.get("/audit/overdue-orders", response_model=list[OverdueOut])
def overdue_orders(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=planting_jobs.MAX_OVERDUE_PAGE)] = 100,
) -> list[dict[str, object]]:
    require_role(principal, "auditor", "admin")
    return planting_jobs.overdue_orders(runtime, limit=limit)
