"""Reads that only show planting data (a user's trees, partners' and auditors' order lists,
plot counts, the yearly statement's rows): one call per view, straight from the tables, not
through the core's decisions.

A user "has" a tree when they hold it: a solo redemption, or a share of a co-planted tree
(``tree_holders``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select

from greenenergy.db.planting_repo import CERTIFICATES, EVENTS, HOLDERS, ORDERS, TREES, state_of
from greenenergy.planting.records import OPEN_ORDER, OrderState, TreeEventRecord, TreeState
from greenenergy.planting.status import IN_THE_GROUND


@dataclass(frozen=True, slots=True)
class HeldTree:
    """One tree a user holds, with everything ``GET /v1/users/{id}/trees`` shows of it."""

    tree: TreeState
    share_g: int
    history: list[TreeEventRecord]
    orders: list[OrderState]  # by planting number
    certificate_nos: list[str]  # the user's, oldest first


def held_trees(connection: Connection, holder_id: str) -> list[HeldTree]:
    """The trees ``holder_id`` holds, oldest redemption first."""
    query = (
        select(TREES, HOLDERS.c.share_g)
        .join(HOLDERS, HOLDERS.c.tree_id == TREES.c.tree_id)
        .where(HOLDERS.c.holder_id == holder_id)
        .order_by(TREES.c.redeemed_at, TREES.c.tree_id)
    )
    held = [(state_of(TreeState, row), int(row.share_g)) for row in connection.execute(query)]
    ids = [tree.tree_id for tree, _ in held]  # type: ignore[attr-defined]
    history: dict[str, list[TreeEventRecord]] = {i: [] for i in ids}
    orders: dict[str, list[OrderState]] = {i: [] for i in ids}
    numbers: dict[str, list[str]] = {i: [] for i in ids}
    if ids:
        for row in connection.execute(
            select(EVENTS).where(EVENTS.c.tree_id.in_(ids)).order_by(EVENTS.c.tree_id, EVENTS.c.seq)
        ):
            history[row.tree_id].append(state_of(TreeEventRecord, row))  # type: ignore[arg-type]
        for row in connection.execute(
            select(ORDERS).where(ORDERS.c.tree_id.in_(ids)).order_by(ORDERS.c.tree_id, ORDERS.c.planting_no)
        ):
            orders[row.tree_id].append(state_of(OrderState, row))  # type: ignore[arg-type]
        for row in connection.execute(
            select(CERTIFICATES.c.tree_id, CERTIFICATES.c.certificate_no)
            .where(CERTIFICATES.c.holder_id == holder_id)
            .order_by(CERTIFICATES.c.issued_at, CERTIFICATES.c.certificate_no)
        ):
            numbers[row.tree_id].append(row.certificate_no)
    return [
        HeldTree(tree, share_g, history[tree.tree_id], orders[tree.tree_id], numbers[tree.tree_id])  # type: ignore[arg-type, attr-defined]
        for tree, share_g in held
    ]


def trees_by_id(connection: Connection, tree_ids: list[str]) -> dict[str, TreeState]:
    ids = sorted(set(tree_ids))
    if not ids:
        return {}
    return {
        row.tree_id: state_of(TreeState, row)
        for row in connection.execute(select(TREES).where(TREES.c.tree_id.in_(ids)))
    }  # type: ignore[misc]


def plot_counts(connection: Connection) -> dict[tuple[str, str], tuple[int, int]]:
    """(planted, reserved) units per (plot, species): in the ground vs awaiting a tree."""
    query = select(
        TREES.c.plot_id, TREES.c.species_id, TREES.c.status, func.sum(TREES.c.quantity).label("units")
    ).group_by(TREES.c.plot_id, TREES.c.species_id, TREES.c.status)
    out: dict[tuple[str, str], tuple[int, int]] = {}
    for row in connection.execute(query):
        planted, reserved = out.get((row.plot_id, row.species_id), (0, 0))
        units = int(row.units or 0)
        if row.status in IN_THE_GROUND:
            planted += units
        else:
            reserved += units
        out[(row.plot_id, row.species_id)] = (planted, reserved)
    return out


def _overdue_at(now: datetime) -> ColumnElement[bool]:
    """Open orders that read ``overdue`` at ``now``: marked by the job, or past the deadline
    (``greenenergy.planting.order_status``; the job may not have run yet, or may have run
    as of a later instant than ``now``)."""
    return or_(ORDERS.c.status == "overdue", and_(ORDERS.c.status == "pending", ORDERS.c.deadline < now))


def partner_orders(
    connection: Connection,
    partner_id: str,
    *,
    state: str | None,
    now: datetime,
    limit: int,
    after: OrderState | None = None,
) -> list[tuple[OrderState, TreeState]]:
    """A partner's orders with their trees, oldest first. ``state``: pending, overdue,
    planted as read at ``now`` (see ``_overdue_at``), or None for every open order."""
    query = select(ORDERS).where(ORDERS.c.partner_id == partner_id)
    if state == "planted":
        query = query.where(ORDERS.c.status == "planted")
    elif state == "pending":
        query = query.where(ORDERS.c.status == "pending", ORDERS.c.deadline >= now)
    elif state == "overdue":
        query = query.where(_overdue_at(now))
    else:
        query = query.where(ORDERS.c.status.in_(OPEN_ORDER))
    if after is not None:
        query = query.where(
            or_(
                ORDERS.c.ordered_at > after.ordered_at,
                and_(ORDERS.c.ordered_at == after.ordered_at, ORDERS.c.order_id > after.order_id),
            )
        )
    query = query.order_by(ORDERS.c.ordered_at, ORDERS.c.order_id).limit(limit)
    orders: list[OrderState] = [state_of(OrderState, row) for row in connection.execute(query)]  # type: ignore[misc]
    trees = trees_by_id(connection, [o.tree_id for o in orders])
    return [(order, trees[order.tree_id]) for order in orders]


def get_order(connection: Connection, order_id: str) -> OrderState | None:
    row = connection.execute(select(ORDERS).where(ORDERS.c.order_id == order_id)).first()
    return None if row is None else state_of(OrderState, row)  # type: ignore[return-value]


def overdue_orders(connection: Connection, *, now: datetime, limit: int) -> list[tuple[OrderState, TreeState]]:
    """Unplanted orders that read ``overdue`` at ``now`` (marked or past the deadline) with
    their trees, the longest overdue first."""
    query = select(ORDERS).where(_overdue_at(now)).order_by(ORDERS.c.deadline, ORDERS.c.order_id).limit(limit)
    orders: list[OrderState] = [state_of(OrderState, row) for row in connection.execute(query)]  # type: ignore[misc]
    trees = trees_by_id(connection, [o.tree_id for o in orders])
    return [(order, trees[order.tree_id]) for order in orders]


def statement_trees(connection: Connection, holder_id: str, start: datetime, end: datetime) -> list:
    """The holder's trees redeemed in [start, end), oldest first: rows of (tree_id, species_id,
    status, redeemed_at)."""
    query = (
        select(TREES.c.tree_id, TREES.c.species_id, TREES.c.status, TREES.c.redeemed_at)
        .join(HOLDERS, HOLDERS.c.tree_id == TREES.c.tree_id)
        .where(HOLDERS.c.holder_id == holder_id, TREES.c.redeemed_at >= start, TREES.c.redeemed_at < end)
        .order_by(TREES.c.redeemed_at, TREES.c.tree_id)
    )
    return list(connection.execute(query))


def statement_certificates(connection: Connection, holder_id: str, first: date, last: date) -> list:
    """The holder's certificates issued on local days [first, last]: rows of (certificate_no,
    tree_id, issued_at), oldest first."""
    query = (
        select(CERTIFICATES.c.certificate_no, CERTIFICATES.c.tree_id, CERTIFICATES.c.issued_at)
        .where(
            CERTIFICATES.c.holder_id == holder_id, CERTIFICATES.c.issued_on >= first, CERTIFICATES.c.issued_on <= last
        )
        .order_by(CERTIFICATES.c.issued_at, CERTIFICATES.c.certificate_no)
    )
    return list(connection.execute(query))
