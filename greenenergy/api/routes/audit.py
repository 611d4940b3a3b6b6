"""Auditors' routes (role ``auditor``; ``admin`` may read too): ``GET /v1/audit/overdue-orders``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from greenenergy.api.deps import CurrentPrincipal, RuntimeDep, require_role
from greenenergy.services.planting import jobs as planting_jobs
from greenenergy.services.planting.jobs import OverdueOrder

router = APIRouter(prefix="/v1")


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


@router.get("/audit/overdue-orders", response_model=list[OverdueOut], tags=["planting"])
def overdue_orders(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=planting_jobs.MAX_OVERDUE_PAGE)] = 100,
) -> list[OverdueOrder]:
    require_role(principal, "auditor", "admin")
    return planting_jobs.overdue_orders(runtime, limit=limit)
