"""Scheduled planting job: mark planting orders past their deadline ``overdue``.

``mark_overdue`` is one guarded UPDATE (``status = 'pending' AND deadline < now``), so it is
idempotent -- running it again, or in two processes at once, marks nothing twice -- and an
order confirmed meanwhile is never marked (its status is ``planted``). It records when an
order was seen overdue (``overdue_at``); reads never depend on it: ``overdue_orders``
(``GET /v1/audit/overdue-orders``) and the partners' order lists derive the status from the
clock as well (``greenenergy.planting.order_status``), as balls do.
"""

from __future__ import annotations

from datetime import datetime

from greenenergy.clock import ensure_utc
from greenenergy.db import planting_repo
from greenenergy.db.engine import read_tx, write_tx
from greenenergy.errors import InvalidInput
from greenenergy.planting import days_overdue
from greenenergy.services.runtime import Runtime

MAX_OVERDUE_PAGE = 1000


def mark_overdue(runtime: Runtime, now: datetime | None = None) -> int:
    """Mark every pending order whose deadline is before ``now`` (default: the clock); returns how many."""
    moment = runtime.clock.now() if now is None else ensure_utc(now, what="now")
    with write_tx(runtime.engine) as connection:
        return planting_repo.mark_overdue(connection, moment)


def overdue_orders(runtime: Runtime, *, limit: int = 100) -> list[dict[str, object]]:
    """Orders overdue at the clock's now (marked by the job or past their deadline) and still
    not planted, the longest overdue first."""
    if not 1 <= limit <= MAX_OVERDUE_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_OVERDUE_PAGE}", code="invalid_limit")
    now = runtime.clock.now()
    with read_tx(runtime.engine) as connection:
        orders = planting_repo.overdue_orders(connection, now=now, limit=limit)
        trees = planting_repo.load_trees(connection, [o.tree_id for o in orders])
    return [
        {
            "order_id": o.order_id,
            "tree_id": o.tree_id,
            "partner_id": o.partner_id,
            "plot_id": o.plot_id,
            "species_id": o.species_id,
            "owner_id": trees[o.tree_id].owner_id,
            "planting_no": o.planting_no,
            "ordered_at": o.ordered_at,
            "deadline": o.deadline,
            "overdue_at": o.overdue_at,
            "days_overdue": days_overdue(o.deadline, now, o.overdue_at),
        }
        for o in orders
    ]
