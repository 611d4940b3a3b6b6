"""Liveness and readiness: ``GET /healthz`` answers without a token."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from greenenergy.api.deps import RuntimeDep
from greenenergy.db.engine import read_tx

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    database: str


@router.get("/healthz", response_model=Health)
def healthz(runtime: RuntimeDep) -> Health:
    with read_tx(runtime.engine) as connection:
        connection.execute(text("SELECT 1"))
    return Health(status="ok", database=runtime.engine.dialect.name)
