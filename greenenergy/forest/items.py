"""Inventory items and the effects they start when used.

Two kinds exist:

* ``protection_cover``: for 24 hours, a steal from the owner's balls yields 0 g;
* ``double_collect_card``: for 5 minutes, the owner may steal from each friend's ball twice
  instead of once.

An item is granted (by an admin or an achievement) at ``granted_at`` and, if unused, lapses
``UNUSED_ITEM_LIFETIME`` (7 days) later. Using it is a recorded action: it sets
``used_at`` and starts an ``ActiveEffect`` over ``[starts_at, ends_at)``. An item is used at
most once; an effect is active at ``now`` when ``starts_at <= now < ends_at``. Using a
second cover while one is active does not extend the first: effects overlap, they do not add.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal, get_args

from greenenergy.clock import ensure_utc
from greenenergy.forest.errors import ItemExpired, ItemUsed, UnknownItem

ItemKind = Literal["protection_cover", "double_collect_card"]
ITEM_KINDS: tuple[str, ...] = get_args(ItemKind)

PROTECTION_COVER: ItemKind = "protection_cover"
DOUBLE_COLLECT_CARD: ItemKind = "double_collect_card"

EFFECT_DURATION: dict[str, timedelta] = {
    PROTECTION_COVER: timedelta(hours=24),
    DOUBLE_COLLECT_CARD: timedelta(minutes=5),
}
UNUSED_ITEM_LIFETIME = timedelta(days=7)


@dataclass(frozen=True)
class Item:
    """One item in a user's inventory."""

    item_id: str
    user_id: str
    kind: ItemKind
    granted_at: datetime
    expires_at: datetime
    used_at: datetime | None = None

    def __post_init__(self) -> None:
        require_kind(self.kind)
        for name in ("granted_at", "expires_at", "used_at"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, ensure_utc(value, what=name))


@dataclass(frozen=True)
class ActiveEffect:
    """What using an item started: ``kind`` applies to ``user_id`` over ``[starts_at, ends_at)``."""

    kind: ItemKind
    user_id: str
    item_id: str
    starts_at: datetime
    ends_at: datetime

    def active_at(self, now: datetime) -> bool:
        return self.starts_at <= ensure_utc(now, what="now") < self.ends_at


def require_kind(kind: str) -> ItemKind:
    if kind not in ITEM_KINDS:
        raise UnknownItem(f"unknown item kind {kind!r}; use one of {', '.join(ITEM_KINDS)}", kind=kind)
    return kind  # type: ignore[return-value]


def grant_item(*, item_id: str, user_id: str, kind: str, now: datetime) -> Item:
    """A new unused item, lapsing ``UNUSED_ITEM_LIFETIME`` after the grant."""
    granted = ensure_utc(now, what="now")
    return Item(
        item_id=item_id,
        user_id=user_id,
        kind=require_kind(kind),
        granted_at=granted,
        expires_at=granted + UNUSED_ITEM_LIFETIME,
    )


def item_status(item: Item, now: datetime) -> Literal["unused", "used", "expired"]:
    if item.used_at is not None:
        return "used"
    return "expired" if ensure_utc(now, what="now") >= item.expires_at else "unused"


def use_item(item: Item, now: datetime) -> ActiveEffect:
    """Start the item's effect at ``now``; the service records ``used_at = starts_at``.

    ``ItemUsed`` if it was used before, ``ItemExpired`` if it lapsed unused.
    """
    status = item_status(item, now)
    if status == "used":
        raise ItemUsed(f"item {item.item_id} was already used", item_id=item.item_id)
    if status == "expired":
        raise ItemExpired(f"item {item.item_id} lapsed unused at {item.expires_at.isoformat()}", item_id=item.item_id)
    starts = ensure_utc(now)
    return ActiveEffect(
        kind=item.kind,
        user_id=item.user_id,
        item_id=item.item_id,
        starts_at=starts,
        ends_at=starts + EFFECT_DURATION[item.kind],
    )


def mark_used(item: Item, effect: ActiveEffect) -> Item:
    """The item row to write after ``use_item``."""
    return replace(item, used_at=effect.starts_at)


def active_effects(effects: Iterable[ActiveEffect], now: datetime) -> list[ActiveEffect]:
    """The effects in force at ``now``, earliest end first."""
    return sorted((e for e in effects if e.active_at(now)), key=lambda e: (e.ends_at, e.item_id))


def has_active(effects: Iterable[ActiveEffect], kind: str, now: datetime, *, user_id: str | None = None) -> bool:
    """Whether an effect of ``kind`` (of ``user_id``, when given) is in force at ``now``."""
    return any(e.kind == kind and (user_id is None or e.user_id == user_id) and e.active_at(now) for e in effects)
