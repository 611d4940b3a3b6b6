"""Scheduled planting job: mark planting orders past their deadline ``overdue``.

``mark_overdue`` is load -> decide -> store, a page of orders per commit
(``planting_repo.load_due_orders``, ``planting.deadlines.overdue_marks``,
``planting_repo.store_overdue``): the pending orders past the deadline are locked, so a
second run -- or one in another process -- waits and then finds them marked; running it again
marks nothing twice, and an order confirmed meanwhile is never marked (its status is
``planted``). It records when an order was seen overdue (``overdue_at``); reads never depend
on it: ``overdue_orders`` (``GET /v1/audit/overdue-orders``) and the partners' order lists
derive the status from the clock as well (``greenenergy.planting.order_status``), as balls do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from greenenergy.clock import ensure_utc
from greenenergy.db import planting_repo, planting_views_repo
from greenenergy.db.engine import Tx, in_write_tx, read_tx
from greenenergy.errors import InvalidInput
from greenenergy.planting import days_overdue
from greenenergy.planting.deadlines import overdue_marks
from greenenergy.services.runtime import Runtime

MAX_OVERDUE_PAGE = 1000
MARK_PAGE = 500  # orders marked per commit


@dataclass(frozen=True)
class OverdueOrder:
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


def mark_overdue(runtime: Runtime, now: datetime | None = None) -> int:
    """Mark every pending order whose deadline is before ``now`` (default: the clock); returns how many."""
    moment = runtime.clock.now() if now is None else ensure_utc(now, what="now")

    def page(connection: Tx) -> tuple[int, bool]:
        due = planting_repo.load_due_orders(connection, moment, MARK_PAGE)
        marked = planting_repo.store_overdue(connection, overdue_marks(due, moment), moment)
        return marked, len(due) == MARK_PAGE

    total, more = 0, True
    while more:
        marked, more = in_write_tx(runtime.engine, page)
        total += marked
    return total


def overdue_orders(runtime: Runtime, *, limit: int = 100) -> list[OverdueOrder]:
    """Orders overdue at the clock's now (marked by the job or past their deadline) and still
    not planted, the longest overdue first."""
    if not 1 <= limit <= MAX_OVERDUE_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_OVERDUE_PAGE}", code="invalid_limit")
    now = runtime.clock.now()
    with read_tx(runtime.engine) as connection:
        orders = planting_views_repo.overdue_orders(connection, now=now, limit=limit)
    return [
        OverdueOrder(
            order_id=o.order_id,
            tree_id=o.tree_id,
            partner_id=o.partner_id,
            plot_id=o.plot_id,
            species_id=o.species_id,
            owner_id=tree.owner_id,
            planting_no=o.planting_no,
            ordered_at=o.ordered_at,
            deadline=o.deadline,
            overdue_at=o.overdue_at,
            days_overdue=days_overdue(o.deadline, now, o.overdue_at),
        )
        for o, tree in orders
    ]
