"""A user's trees, certificates and co-planting pools.

Role ``user``, own id (auditors and admins may read):

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
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from greenenergy.api.deps import CurrentPrincipal, RuntimeDep, require_role, require_subject
from greenenergy.api.inputs import Input
from greenenergy.api.routes.catalog import CertificateOut
from greenenergy.ids import ID_PATTERN
from greenenergy.planting.certificates import NationalCertificate
from greenenergy.planting.pools import PoolView
from greenenergy.planting.redemption import Redemption
from greenenergy.services.planting import certificates as planting_certificates
from greenenergy.services.planting import coplant as planting_coplant
from greenenergy.services.planting import queries as planting_queries
from greenenergy.services.planting import redeem as planting_redeem
from greenenergy.services.planting.certificates import CertificateView
from greenenergy.services.planting.coplant import Contributed, Left
from greenenergy.services.planting.queries import TreeView

router = APIRouter(prefix="/v1", tags=["planting"])
UserId = Annotated[str, Path(pattern=f"^{ID_PATTERN.pattern}$", description="user id")]
PoolId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="co-planting pool id")]
CatalogId = Annotated[str, Field(min_length=1, max_length=48)]


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
def redeem_tree(user_id: UserId, body: RedeemIn, principal: CurrentPrincipal, runtime: RuntimeDep) -> Redemption:
    require_subject(principal, role="user", subject=user_id)
    return planting_redeem.redeem(runtime, user_id, body.species_id, body.plot_id, body.quantity)


@router.get("/users/{user_id}/trees", response_model=list[TreeOut])
def user_trees(user_id: UserId, principal: CurrentPrincipal, runtime: RuntimeDep) -> list[TreeView]:
    require_subject(principal, role="user", subject=user_id, read=True)
    return planting_queries.list_trees(runtime, user_id)


# --- certificates ---------------------------------------------------------------------


class NationalIn(Input):
    year: int


class NationalOut(BaseModel):
    national_no: str
    holder_id: str
    year: int
    issued_at: datetime
    certificates: list[str]


@router.get("/users/{user_id}/certificates", response_model=list[CertificateOut])
def user_certificates(user_id: UserId, principal: CurrentPrincipal, runtime: RuntimeDep) -> list[CertificateView]:
    require_subject(principal, role="user", subject=user_id, read=True)
    return planting_certificates.list_certificates(runtime, user_id)


@router.post("/users/{user_id}/national-certificates", response_model=NationalOut, status_code=201)
def exchange_national(
    user_id: UserId, body: NationalIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> NationalCertificate:
    require_subject(principal, role="user", subject=user_id)
    return planting_certificates.exchange(runtime, user_id, body.year)


@router.get("/users/{user_id}/national-certificates", response_model=list[NationalOut])
def national_certificates(
    user_id: UserId, principal: CurrentPrincipal, runtime: RuntimeDep
) -> list[NationalCertificate]:
    require_subject(principal, role="user", subject=user_id, read=True)
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
def create_pool(user_id: UserId, body: PoolIn, principal: CurrentPrincipal, runtime: RuntimeDep) -> PoolView:
    require_subject(principal, role="user", subject=user_id)
    return planting_coplant.create_pool(
        runtime, user_id, body.species_id, body.plot_id, daily_cap_g=body.daily_cap_g, max_members=body.max_members
    )


@router.get("/users/{user_id}/coplant-pools", response_model=list[PoolOut])
def user_pools(user_id: UserId, principal: CurrentPrincipal, runtime: RuntimeDep) -> list[PoolView]:
    require_subject(principal, role="user", subject=user_id, read=True)
    return planting_coplant.list_pools(runtime, user_id)


@router.get("/coplant-pools/{pool_id}", response_model=PoolOut)
def pool(pool_id: PoolId, principal: CurrentPrincipal, runtime: RuntimeDep) -> PoolView:
    require_role(principal, "user", "auditor", "admin")
    return planting_coplant.get_pool(runtime, pool_id)


@router.post("/users/{user_id}/coplant-pools/{pool_id}/join", response_model=PoolOut)
def join_pool(user_id: UserId, pool_id: PoolId, principal: CurrentPrincipal, runtime: RuntimeDep) -> PoolView:
    require_subject(principal, role="user", subject=user_id)
    return planting_coplant.join_pool(runtime, user_id, pool_id)


@router.post("/users/{user_id}/coplant-pools/{pool_id}/contributions", response_model=ContributionOut)
def contribute(
    user_id: UserId, pool_id: PoolId, body: ContributionIn, principal: CurrentPrincipal, runtime: RuntimeDep
) -> Contributed:
    require_subject(principal, role="user", subject=user_id)
    return planting_coplant.contribute_to_pool(runtime, user_id, pool_id, body.energy_g)


@router.post("/users/{user_id}/coplant-pools/{pool_id}/leave", response_model=LeaveOut)
def leave_pool(user_id: UserId, pool_id: PoolId, principal: CurrentPrincipal, runtime: RuntimeDep) -> Left:
    require_subject(principal, role="user", subject=user_id)
    return planting_coplant.leave_pool(runtime, user_id, pool_id)
