"""End-user forest endpoints: energy, balls, friends, steal, water, items, achievements,
leaderboards and the yearly statement.

Who may call: a ``user`` token for its own ``user_id`` (writes: only that user);
``auditor`` and ``admin`` tokens may read anyone's. Two more: a mutual friend may list a
user's balls (to pick one to steal from), and stealing takes the *thief's* token on the
victim's path. Granting items is for ``admin``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, Field

from greenenergy.api.deps import CurrentPrincipal, RuntimeDep, require_role, require_subject
from greenenergy.api.inputs import Input
from greenenergy.ids import ID_PATTERN
from greenenergy.services.forest import achievements as forest_achievements
from greenenergy.services.forest import balls as forest_balls
from greenenergy.services.forest import friends as forest_friends
from greenenergy.services.forest import items as forest_items
from greenenergy.services.forest import leaderboard as forest_leaderboard
from greenenergy.services.forest import statement as forest_statement
from greenenergy.services.forest import steal as forest_steal
from greenenergy.services.forest import water as forest_water

router = APIRouter(prefix="/v1", tags=["forest"])
ID_REGEX = f"^{ID_PATTERN.pattern}$"
UserId = Annotated[str, Path(pattern=ID_REGEX, description="user id")]
BallId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,40}$", description="ball id")]
ItemId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,32}$", description="item id")]


class FriendRequest(Input):
    friend_id: str = Field(pattern=ID_REGEX)


class WaterRequest(Input):
    friend_id: str = Field(pattern=ID_REGEX)
    energy_g: int = Field(description="10, 18, 33 or 66")


class GrantRequest(Input):
    kind: str = Field(min_length=1, max_length=32, description="protection_cover or double_collect_card")


class EnergyOut(BaseModel):
    user_id: str
    available_g: int
    pending_g: int
    lifetime_g: int
    trees: int


class TheftOut(BaseModel):
    thief_id: str
    stolen_g: int
    at: datetime
    reason: str


class BallOut(BaseModel):
    ball_id: str
    user_id: str
    energy_g: int
    remaining_g: int
    status: str
    ripens_at: datetime
    visible_at: datetime
    expires_at: datetime
    event_type: str
    source: str
    collected_g: int
    stolen_g: int
    expired_g: int
    collected_at: datetime | None
    giver_id: str | None
    thefts: list[TheftOut]


class CollectOut(BaseModel):
    ball_id: str
    collected_g: int
    available_g: int


class CollectAllOut(BaseModel):
    collected_g: int
    available_g: int
    balls: int
    ball_ids: list[str]


class StealOut(BaseModel):
    ball_id: str
    victim_id: str
    thief_id: str
    stolen_g: int
    reason: str
    remaining_g: int
    available_g: int
    theft_id: str | None


class FriendshipOut(BaseModel):
    user_id: str
    friend_id: str
    status: str


class RemovalOut(FriendshipOut):
    was: str


class FriendOut(BaseModel):
    friend_id: str
    status: str
    since: datetime
    week_energy_g: int | None


class WaterOut(BaseModel):
    ball_id: str
    giver_id: str
    friend_id: str
    energy_g: int
    available_g: int
    waterings_today: int


class ItemOut(BaseModel):
    item_id: str
    user_id: str
    kind: str
    status: str
    granted_at: datetime
    expires_at: datetime
    granted_by: str
    used_at: datetime | None
    effect_starts_at: datetime | None
    effect_ends_at: datetime | None
    effect_active: bool


class AchievementOut(BaseModel):
    achievement_id: str
    name: dict[str, str]
    description: dict[str, str] | None
    metric: str
    threshold: int
    value: int
    reward_item: str | None
    awarded: bool
    awarded_at: datetime | None


class RankOut(BaseModel):
    rank: int
    user_id: str
    score: int


class BoardOut(BaseModel):
    scope: str
    period: str
    period_key: str
    total: int
    me: RankOut
    top: list[RankOut]


class BallSummaryOut(BaseModel):
    collected_count: int
    collected_g: int
    expired_count: int
    expired_g: int
    stolen_from_me_count: int
    stolen_from_me_g: int
    stolen_by_me_count: int
    stolen_by_me_g: int


class StatementOut(BaseModel):
    user_id: str
    year: int
    events: int
    energy_g: int
    carbon_g: int
    energy_by_type_g: dict[str, int]
    carbon_by_type_g: dict[str, int]
    energy_by_month_g: dict[int, int]
    carbon_by_month_g: dict[int, int]
    balls: BallSummaryOut
    trees_total: int
    trees_by_species: dict[str, int]
    trees_by_status: dict[str, int]
    certificates: list[str]
    best_streak_days: int
    percentile: int


@router.get("/users/{user_id}/energy", response_model=EnergyOut)
def get_energy(user_id: UserId, principal: CurrentPrincipal, runtime: RuntimeDep) -> object:
    require_subject(principal, role="user", subject=user_id, read=True)
    return forest_balls.energy(runtime, user_id)


BallStatus = Literal["waiting", "ripe", "collected", "expired"]


@router.get("/users/{user_id}/balls", response_model=list[BallOut])
def get_balls(
    user_id: UserId,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    status_: Annotated[
        list[BallStatus] | None,
        Query(
            alias="status",
            description="the statuses to list (repeat the parameter for several); default: the balls in play, "
            "waiting and ripe. Collected and expired balls are kept for 7 days.",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=forest_balls.MAX_PAGE, description="balls per page")] = 100,
    after: Annotated[
        str | None,
        Query(pattern=r"^[A-Za-z0-9_-]{1,40}$", description="the last ball_id of the previous page"),
    ] = None,
) -> object:
    """The user's balls by the time they became visible, a page at a time; own balls, and a
    mutual friend may read them too (to steal)."""
    if not (
        principal.role == "user"
        and principal.subject != user_id
        and forest_friends.are_friends(runtime, principal.subject, user_id)
    ):
        require_subject(principal, role="user", subject=user_id, read=True)
    statuses = tuple(status_) if status_ else forest_balls.IN_PLAY
    return forest_balls.list_balls(runtime, user_id, statuses=statuses, limit=limit, after=after)


@router.post("/users/{user_id}/balls/collect-all", response_model=CollectAllOut)
def post_collect_all(user_id: UserId, principal: CurrentPrincipal, runtime: RuntimeDep) -> object:
    require_subject(principal, role="user", subject=user_id)
    return forest_balls.collect_all(runtime, user_id)


@router.post("/users/{user_id}/balls/{ball_id}/collect", response_model=CollectOut)
def post_collect(user_id: UserId, ball_id: BallId, principal: CurrentPrincipal, runtime: RuntimeDep) -> object:
    require_subject(principal, role="user", subject=user_id)
    return forest_balls.collect(runtime, user_id, ball_id)


@router.post("/users/{victim_id}/balls/{ball_id}/steal", response_model=StealOut)
def post_steal(
    victim_id: Annotated[str, Path(pattern=ID_REGEX, description="the friend stolen from")],
    ball_id: BallId,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
) -> object:
    """The thief's own token; the thief must be a mutual friend of ``victim_id``."""
    require_role(principal, "user")
    return forest_steal.steal(runtime, thief_id=principal.subject, victim_id=victim_id, ball_id=ball_id)


@router.post("/users/{user_id}/friends", response_model=FriendshipOut)
def post_friend(user_id: UserId, body: FriendRequest, principal: CurrentPrincipal, runtime: RuntimeDep) -> object:
    """Ask ``friend_id``; when they have asked too, you are friends. Asking again is a no-op."""
    require_subject(principal, role="user", subject=user_id)
    return forest_friends.request(runtime, user_id, body.friend_id)


@router.delete("/users/{user_id}/friends/{friend_id}", response_model=RemovalOut)
def delete_friend(
    user_id: UserId,
    friend_id: Annotated[str, Path(pattern=ID_REGEX)],
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
) -> object:
    require_subject(principal, role="user", subject=user_id)
    return forest_friends.remove(runtime, user_id, friend_id)


@router.get("/users/{user_id}/friends", response_model=list[FriendOut])
def get_friends(user_id: UserId, principal: CurrentPrincipal, runtime: RuntimeDep) -> object:
    require_subject(principal, role="user", subject=user_id, read=True)
    return forest_friends.list_friends(runtime, user_id)


@router.post("/users/{user_id}/water", response_model=WaterOut)
def post_water(user_id: UserId, body: WaterRequest, principal: CurrentPrincipal, runtime: RuntimeDep) -> object:
    require_subject(principal, role="user", subject=user_id)
    return forest_water.water(runtime, giver_id=user_id, friend_id=body.friend_id, energy_g=body.energy_g)


@router.post("/admin/users/{user_id}/items", response_model=ItemOut, status_code=status.HTTP_201_CREATED)
def post_grant_item(user_id: UserId, body: GrantRequest, principal: CurrentPrincipal, runtime: RuntimeDep) -> object:
    require_role(principal, "admin")
    return forest_items.grant(runtime, user_id=user_id, kind=body.kind, granted_by=f"admin:{principal.subject}")


@router.get("/users/{user_id}/items", response_model=list[ItemOut])
def get_items(user_id: UserId, principal: CurrentPrincipal, runtime: RuntimeDep) -> object:
    require_subject(principal, role="user", subject=user_id, read=True)
    return forest_items.list_items(runtime, user_id)


@router.post("/users/{user_id}/items/{item_id}/use", response_model=ItemOut)
def post_use_item(user_id: UserId, item_id: ItemId, principal: CurrentPrincipal, runtime: RuntimeDep) -> object:
    require_subject(principal, role="user", subject=user_id)
    return forest_items.use(runtime, user_id=user_id, item_id=item_id)


@router.get("/users/{user_id}/achievements", response_model=list[AchievementOut])
def get_achievements(user_id: UserId, principal: CurrentPrincipal, runtime: RuntimeDep) -> object:
    require_subject(principal, role="user", subject=user_id, read=True)
    return forest_achievements.list_achievements(runtime, user_id)


@router.get("/users/{user_id}/leaderboard", response_model=BoardOut)
def get_leaderboard(
    user_id: UserId,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    scope: Literal["friends", "global"] = "friends",
    period: Literal["week", "lifetime"] = "week",
    limit: Annotated[int, Query(ge=1, le=forest_leaderboard.MAX_LIMIT)] = 10,
) -> object:
    require_subject(principal, role="user", subject=user_id, read=True)
    return forest_leaderboard.leaderboard(runtime, user_id, scope=scope, period=period, limit=limit)


@router.get("/users/{user_id}/statement", response_model=StatementOut)
def get_statement(
    user_id: UserId,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    year: Annotated[int, Query(ge=forest_statement.FIRST_YEAR, le=forest_statement.LAST_YEAR)],
) -> object:
    require_subject(principal, role="user", subject=user_id, read=True)
    return forest_statement.statement(runtime, user_id, year)
