"""Read-only queries about a user's trees: for the forest (energy, statement, achievements)
and for ``GET /v1/users/{user_id}/trees``.

A user "has" a tree when they hold it: a solo redemption, or a share of a co-planted tree
(``tree_holders``). The forest code calls only ``count_trees``, ``trees_for_statement`` and
``certificates_for_statement``, on its own connection.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from greenenergy.db import planting_repo
from greenenergy.db.engine import read_tx
from greenenergy.db.planting_repo import CERTIFICATES, HOLDERS, TREES
from greenenergy.forest.statement import CertificateRow, TreeRow
from greenenergy.periods import local_midnight_utc
from greenenergy.services.runtime import Runtime


def count_trees(connection: Connection, user_id: str) -> int:
    """Virtual trees the user holds (any status), co-planted trees included."""
    query = select(func.count()).select_from(HOLDERS).where(HOLDERS.c.holder_id == user_id)
    return int(connection.execute(query).scalar_one())


def trees_for_statement(connection: Connection, user_id: str, year: int, tz_name: str) -> list[TreeRow]:
    """The user's trees redeemed in the local calendar ``year``, oldest first."""
    tz = ZoneInfo(tz_name)
    start, end = local_midnight_utc(date(year, 1, 1), tz), local_midnight_utc(date(year + 1, 1, 1), tz)
    query = (
        select(TREES.c.tree_id, TREES.c.species_id, TREES.c.status, TREES.c.redeemed_at)
        .join(HOLDERS, HOLDERS.c.tree_id == TREES.c.tree_id)
        .where(HOLDERS.c.holder_id == user_id, TREES.c.redeemed_at >= start, TREES.c.redeemed_at < end)
        .order_by(TREES.c.redeemed_at, TREES.c.tree_id)
    )
    return [
        TreeRow(tree_id=r.tree_id, species_id=r.species_id, status=r.status, redeemed_at=r.redeemed_at)
        for r in connection.execute(query)
    ]


def certificates_for_statement(connection: Connection, user_id: str, year: int, tz_name: str) -> list[CertificateRow]:
    """The user's planting certificates issued in the local calendar ``year`` (``tz_name`` is the
    zone they were issued in, which fixed their ``issued_on`` date)."""
    query = (
        select(CERTIFICATES.c.certificate_no, CERTIFICATES.c.tree_id, CERTIFICATES.c.issued_at)
        .where(
            CERTIFICATES.c.holder_id == user_id,
            CERTIFICATES.c.issued_on >= date(year, 1, 1),
            CERTIFICATES.c.issued_on <= date(year, 12, 31),
        )
        .order_by(CERTIFICATES.c.issued_at, CERTIFICATES.c.certificate_no)
    )
    return [
        CertificateRow(certificate_no=r.certificate_no, tree_id=r.tree_id, issued_at=r.issued_at)
        for r in connection.execute(query)
    ]


def list_trees(runtime: Runtime, user_id: str) -> list[dict[str, object]]:
    """The user's trees, oldest first, each with its status, plot, partner, open order,
    latest certificate and full history."""
    with read_tx(runtime.engine) as connection:
        held = planting_repo.trees_of_holder(connection, user_id)
        ids = [tree.tree_id for tree, _ in held]
        events = planting_repo.tree_events(connection, ids)
        orders = planting_repo.orders_of_trees(connection, ids)
        certificates: dict[str, list[str]] = {}
        for row in planting_repo.certificates_of_holder(connection, user_id):
            certificates.setdefault(row.tree_id, []).append(row.certificate_no)
    out = []
    for tree, share_g in held:
        open_order = next((o for o in reversed(orders[tree.tree_id]) if o.status != "planted"), None)
        numbers = certificates.get(tree.tree_id, [])
        out.append(
            {
                "tree_id": tree.tree_id,
                "species_id": tree.species_id,
                "kind": tree.kind,
                "quantity": tree.quantity,
                "plot_id": tree.plot_id,
                "partner_id": tree.partner_id,
                "energy_g": tree.energy_g,
                "share_g": share_g,
                "pool_id": tree.pool_id,
                "status": tree.status,
                "redeemed_at": tree.redeemed_at,
                "planted_at": tree.last_planted_at,
                "transaction_id": tree.redeem_tx_id,
                "order_id": open_order.order_id if open_order else None,
                "deadline": open_order.deadline if open_order else None,
                "certificate_no": numbers[-1] if numbers else None,
                "certificate_nos": numbers,
                "history": [
                    {
                        "event": e.event,
                        "status": e.status,
                        "occurred_at": e.occurred_at,
                        "recorded_at": e.recorded_at,
                        "order_id": e.order_id,
                        "confirmation_id": e.confirmation_id,
                    }
                    for e in events[tree.tree_id]
                ],
            }
        )
    return out
