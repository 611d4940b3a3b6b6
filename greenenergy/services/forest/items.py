"""Inventory items: grant (admin or achievement), list, use.

Using an item is a recorded action: in one commit the item row is locked, ``forest.use_item``
decides (409 ``item_used`` / ``item_expired``), ``used_at`` is set and the effect window
``[starts_at, ends_at)`` is stored in ``forest_effects``, where steals read it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from greenenergy.db import forest_repo
from greenenergy.db.engine import Tx, in_write_tx, read_tx
from greenenergy.forest import Item, grant_item, item_status, mark_used
from greenenergy.forest import use_item as start_effect
from greenenergy.services.forest import achievements as forest_achievements
from greenenergy.services.forest.errors import ItemNotFound, NotYourItem
from greenenergy.services.runtime import Runtime


@dataclass(frozen=True)
class ItemView:
    item_id: str
    user_id: str
    kind: str
    status: str  # unused | used | expired
    granted_at: datetime
    expires_at: datetime  # when an unused item lapses
    granted_by: str
    used_at: datetime | None
    effect_starts_at: datetime | None
    effect_ends_at: datetime | None
    effect_active: bool


def _view(item: Item, granted_by: str, starts_at: datetime | None, ends_at: datetime | None, now: datetime) -> ItemView:
    return ItemView(
        item_id=item.item_id,
        user_id=item.user_id,
        kind=item.kind,
        status=item_status(item, now),
        granted_at=item.granted_at,
        expires_at=item.expires_at,
        granted_by=granted_by,
        used_at=item.used_at,
        effect_starts_at=starts_at,
        effect_ends_at=ends_at,
        effect_active=starts_at is not None and ends_at is not None and starts_at <= now < ends_at,
    )


def grant(runtime: Runtime, *, user_id: str, kind: str, granted_by: str) -> ItemView:
    """Give ``user_id`` a new item (422 ``unknown_item`` for a kind we do not have)."""
    now = runtime.clock.now()
    item = grant_item(item_id=uuid.uuid4().hex, user_id=user_id, kind=kind, now=now)
    in_write_tx(runtime.engine, lambda tx: forest_repo.insert_item(tx, item, granted_by=granted_by))
    return _view(item, granted_by, None, None, now)


def list_items(runtime: Runtime, user_id: str) -> list[ItemView]:
    """The user's items, newest first (achievement rewards due are granted first)."""
    forest_achievements.evaluate_quietly(runtime, user_id)
    now = runtime.clock.now()
    with read_tx(runtime.engine) as connection:
        rows = forest_repo.item_rows(connection, user_id)
    return [_view(forest_repo.to_item(r), r.granted_by, r.starts_at, r.ends_at, now) for r in rows]


def use(runtime: Runtime, *, user_id: str, item_id: str) -> ItemView:
    now = runtime.clock.now()

    def use_it(connection: Tx) -> ItemView:
        row = forest_repo.lock_item(connection, item_id)
        if row is None:
            raise ItemNotFound(f"no item {item_id!r}", item_id=item_id)
        if row.user_id != user_id:
            raise NotYourItem(f"item {item_id} belongs to another user", item_id=item_id)
        item = forest_repo.to_item(row)
        effect = start_effect(item, now)  # item_used / item_expired from the locked row
        used = mark_used(item, effect)
        forest_repo.mark_item_used(connection, used)
        forest_repo.insert_effect(connection, effect)
        return _view(used, row.granted_by, effect.starts_at, effect.ends_at, now)

    return in_write_tx(runtime.engine, use_it)
