"""Planting partners (role ``partner``, own id; auditors and admins may read orders):
``GET /v1/partners/{partner_id}/orders``, ``POST .../plantings`` (201),
``POST .../plantings:bulk`` (CSV or JSON list), ``POST .../survival`` (201)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from greenenergy.api.deps import CurrentPrincipal, RuntimeDep, require_subject
from greenenergy.api.inputs import Input, Instant
from greenenergy.errors import InvalidInput
from greenenergy.ids import ID_PATTERN
from greenenergy.planting import PlantingReport, SurvivalReport
from greenenergy.planting.reports import SurvivalOutcome
from greenenergy.services.planting import partner as planting_partner
from greenenergy.services.planting.partner import BulkResult, Confirmation, OrderView

router = APIRouter(prefix="/v1", tags=["planting"])
PartnerId = Annotated[str, Path(pattern=f"^{ID_PATTERN.pattern}$", description="partner id")]
CatalogId = Annotated[str, Field(min_length=1, max_length=48)]
TreeId = Annotated[str, Field(min_length=1, max_length=64)]


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
) -> list[OrderView]:
    require_subject(principal, role="partner", subject=partner_id, read=True)
    return planting_partner.list_orders(runtime, partner_id, status=status, limit=limit, after=after)


@router.post("/partners/{partner_id}/plantings", response_model=ConfirmationOut, status_code=201)
def confirm_planting(
    partner_id: PartnerId, body: PlantingIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> Confirmation:
    require_subject(principal, role="partner", subject=partner_id)
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
) -> BulkResult:
    require_subject(principal, role="partner", subject=partner_id)
    body_format = _bulk_format(request.headers.get("content-type", ""))
    body = await request.body()
    return await run_in_threadpool(planting_partner.confirm_bulk, runtime, partner_id, body, body_format=body_format)


BULK_MEDIA = {"text/csv": "csv", "application/csv": "csv", "application/json": "json", "": "json"}


def _bulk_format(content_type: str) -> planting_partner.BulkFormat:
    """The body format of a bulk confirmation, from its media type (content negotiation is the API's)."""
    media = content_type.split(";")[0].strip().lower()
    if media not in BULK_MEDIA:
        raise InvalidInput(f"send text/csv or application/json, not {media!r}", code="unsupported_media_type")
    return BULK_MEDIA[media]  # type: ignore[return-value]


@router.post("/partners/{partner_id}/survival", response_model=SurvivalOut, status_code=201)
def survival(
    partner_id: PartnerId, body: SurvivalIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> SurvivalOutcome:
    require_subject(principal, role="partner", subject=partner_id)
    report = SurvivalReport(
        tree_id=body.tree_id,
        partner_id=partner_id,
        checked_at=body.checked_at,
        alive=body.alive,
        photo_sha256=body.photo_sha256,
    )
    return planting_partner.report_survival(runtime, report)
