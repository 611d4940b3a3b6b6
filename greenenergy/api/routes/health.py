"""Liveness and readiness: ``GET /healthz`` answers without a token."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from greenenergy.api.deps import RuntimeDep
from greenenergy.services.runtime import check_database

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    database: str


@router.get("/healthz", response_model=Health)
def healthz(runtime: RuntimeDep) -> Health:
    return Health(status="ok", database=check_database(runtime))
