"""Who am I, and a user's ledger history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from greenenergy.api.deps import CurrentPrincipal, RuntimeDep, require_subject
from greenenergy.ids import ID_PATTERN
from greenenergy.services import ledger as ledger_service
from greenenergy.services.ledger.posting import HistoryItem

router = APIRouter(prefix="/v1", tags=["ledger"])
UserId = Annotated[str, Path(pattern=f"^{ID_PATTERN.pattern}$", description="user id")]


class WhoAmI(BaseModel):
    token_id: str
    role: str
    subject: str
    allowed_types: list[str] | None


class LedgerItem(BaseModel):
    transaction_id: str
    kind: str
    energy_g: int
    account: str
    created_at: datetime
    refs: dict[str, str]


@router.get("/whoami", response_model=WhoAmI)
def whoami(principal: CurrentPrincipal) -> WhoAmI:
    allowed = sorted(principal.allowed_types) if principal.allowed_types is not None else None
    return WhoAmI(token_id=principal.token_id, role=principal.role, subject=principal.subject, allowed_types=allowed)


@router.get("/users/{user_id}/transactions", response_model=list[LedgerItem])
def user_transactions(
    user_id: UserId,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=ledger_service.MAX_HISTORY_LIMIT)] = 50,
    after: Annotated[str | None, Query(max_length=64, description="transaction_id of the last item seen")] = None,
) -> list[HistoryItem]:
    require_subject(principal, role="user", subject=user_id, read=True)
    return ledger_service.user_history(runtime, user_id, limit=limit, after=after)
