"""Business units send events; sources and auditors read one event's result; admins block users."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, BeforeValidator, Field

from greenenergy.api.deps import CurrentPrincipal, RuntimeDep, require_role, require_subject
from greenenergy.api.inputs import EXAMPLE_TIME, Input, iso_8601
from greenenergy.errors import TooLarge
from greenenergy.ids import ID_PATTERN
from greenenergy.services import ingest as ingest_service
from greenenergy.services import moderation
from greenenergy.services.ingest import MAX_BATCH, EventResult, IncomingEvent

router = APIRouter(prefix="/v1", tags=["events"])
ID_REGEX = f"^{ID_PATTERN.pattern}$"
Id = Annotated[str, Path(pattern=ID_REGEX)]


# An ISO 8601 string with an offset: a number (lax pydantic: Unix seconds) or a local time
# without an offset makes the whole body malformed (422, nothing stored).
OccurredAt = Annotated[AwareDatetime, BeforeValidator(iso_8601)]


class EventItem(Input):
    event_id: str = Field(pattern=ID_REGEX, description="unique per source; re-sending it is a duplicate")
    type: str = Field(min_length=1, max_length=64, description="event type, e.g. recycling.box")
    user_id: str = Field(pattern=ID_REGEX)
    occurred_at: OccurredAt = Field(description="ISO 8601 with an offset", examples=[EXAMPLE_TIME])
    data: dict[str, Any] = Field(
        default_factory=dict, description="the type's fields (CONTRACT.md), checked against the rule in force"
    )


class EventBatch(Input):
    events: list[EventItem] = Field(description=f"at most {MAX_BATCH} events")


class EventResultOut(BaseModel):
    event_id: str
    status: str = Field(description="accepted | duplicate | rejected")
    energy_g: int | None
    rule: str | None
    transaction_id: str | None = Field(
        description="the ledger transaction that moved the event's grams; null while they wait in ball_id "
        "(they reach the ledger when the ball is collected, stolen or expires)"
    )
    reason: str | None
    ball_id: str | None = Field(default=None, description="the energy ball holding the event's grams")
    message: str | None = None
    explanation: str | None = None
    details: dict[str, Any] | None = None


_ALWAYS = ("event_id", "status", "energy_g", "rule", "transaction_id", "reason", "ball_id")
_WHEN_SET = ("message", "explanation", "details")


def result_json(result: EventResult) -> dict[str, Any]:
    """One ``EventResultOut`` as JSON: the contract's keys always, the others when set."""
    out = {name: getattr(result, name) for name in _ALWAYS}
    for name in _WHEN_SET:
        value = getattr(result, name)
        if value:
            out[name] = value
    return out


class IngestAnswer(BaseModel):
    accepted: int
    duplicates: int
    rejected: int
    results: list[EventResultOut]


class BlockIn(Input):
    reason: str = Field(min_length=1, max_length=moderation.MAX_REASON_CHARS)


class BlockOut(BaseModel):
    user_id: str
    blocked: bool
    changed: bool


@router.post("/events", response_model=IngestAnswer)
def post_events(batch: EventBatch, principal: CurrentPrincipal, runtime: RuntimeDep) -> Response:
    require_role(principal, "source")
    if len(batch.events) > MAX_BATCH:
        raise TooLarge(
            f"a batch holds at most {MAX_BATCH} events; this one has {len(batch.events)}", code="too_many_events"
        )
    incoming = [IncomingEvent(e.event_id, e.type, e.user_id, e.occurred_at, e.data) for e in batch.events]
    summary = ingest_service.ingest(
        runtime, source_id=principal.subject, events=incoming, allowed_types=principal.allowed_types
    )
    # Built here, in IngestAnswer's shape (the documented response_model), rather than
    # validated against it again: up to 10,000 results a request.
    return Response(
        orjson.dumps(
            {
                "accepted": summary.accepted,
                "duplicates": summary.duplicates,
                "rejected": summary.rejected,
                "results": [result_json(r) for r in summary.results],
            }
        ),
        media_type="application/json",
    )


@router.get("/sources/{source_id}/events/{event_id}", response_model=EventResultOut)
def get_event_result(source_id: Id, event_id: Id, principal: CurrentPrincipal, runtime: RuntimeDep) -> dict[str, Any]:
    require_subject(principal, role="source", subject=source_id, read=True)
    return result_json(ingest_service.event_result(runtime, source_id=source_id, event_id=event_id))


@router.post("/admin/users/{user_id}/block", response_model=BlockOut)
def block_user(user_id: Id, body: BlockIn, principal: CurrentPrincipal, runtime: RuntimeDep) -> BlockOut:
    require_role(principal, "admin")
    changed = moderation.block(runtime, user_id, reason=body.reason, by=principal.subject)
    return BlockOut(user_id=user_id, blocked=True, changed=changed)


@router.delete("/admin/users/{user_id}/block", response_model=BlockOut)
def unblock_user(user_id: Id, principal: CurrentPrincipal, runtime: RuntimeDep) -> BlockOut:
    require_role(principal, "admin")
    changed = moderation.unblock(runtime, user_id)
    return BlockOut(user_id=user_id, blocked=False, changed=changed)
