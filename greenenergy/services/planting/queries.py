"""Read-only views of a user's trees: ``GET /v1/users/{user_id}/trees``, and the rows of the
yearly statement (``trees_for_statement``, ``certificates_for_statement``, called by the
forest on its own connection).

A user "has" a tree when they hold it: a solo redemption, or a share of a co-planted tree.
How many they hold is the ``trees`` counter of their state row (``users_repo.counters``),
kept in the commit of each redemption: the forest's energy and achievements read that.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from greenenergy.db import planting_views_repo
from greenenergy.db.engine import Tx, read_tx
from greenenergy.forest.statement import CertificateRow, TreeRow
from greenenergy.periods import local_midnight_utc
from greenenergy.services.runtime import Runtime


@dataclass(frozen=True)
class HistoryItem:
    event: str
    status: str
    occurred_at: datetime
    recorded_at: datetime
    order_id: str | None
    confirmation_id: str | None


@dataclass(frozen=True)
class TreeView:
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


def trees_for_statement(connection: Tx, user_id: str, year: int, tz_name: str) -> list[TreeRow]:
    """The user's trees redeemed in the local calendar ``year``, oldest first."""
    tz = ZoneInfo(tz_name)
    start, end = local_midnight_utc(date(year, 1, 1), tz), local_midnight_utc(date(year + 1, 1, 1), tz)
    return [
        TreeRow(tree_id=r.tree_id, species_id=r.species_id, status=r.status, redeemed_at=r.redeemed_at)
        for r in planting_views_repo.statement_trees(connection, user_id, start, end)
    ]


def certificates_for_statement(connection: Tx, user_id: str, year: int, tz_name: str) -> list[CertificateRow]:
    """The user's planting certificates issued in the local calendar ``year`` (``tz_name`` is the
    zone they were issued in, which fixed their ``issued_on`` date)."""
    return [
        CertificateRow(certificate_no=r.certificate_no, tree_id=r.tree_id, issued_at=r.issued_at)
        for r in planting_views_repo.statement_certificates(connection, user_id, date(year, 1, 1), date(year, 12, 31))
    ]


def list_trees(runtime: Runtime, user_id: str) -> list[TreeView]:
    """The user's trees, oldest first, each with its status, plot, partner, open order,
    latest certificate and full history."""
    with read_tx(runtime.engine) as connection:
        held = planting_views_repo.held_trees(connection, user_id)
    out = []
    for item in held:
        tree = item.tree
        open_order = next((o for o in reversed(item.orders) if o.status != "planted"), None)
        numbers = item.certificate_nos
        out.append(
            TreeView(
                tree_id=tree.tree_id,
                species_id=tree.species_id,
                kind=tree.kind,
                quantity=tree.quantity,
                plot_id=tree.plot_id,
                partner_id=tree.partner_id,
                energy_g=tree.energy_g,
                share_g=item.share_g,
                pool_id=tree.pool_id,
                status=tree.status,
                redeemed_at=tree.redeemed_at,
                planted_at=tree.last_planted_at,
                transaction_id=tree.redeem_tx_id,
                order_id=open_order.order_id if open_order else None,
                deadline=open_order.deadline if open_order else None,
                certificate_no=numbers[-1] if numbers else None,
                certificate_nos=list(numbers),
                history=[
                    HistoryItem(e.event, e.status, e.occurred_at, e.recorded_at, e.order_id, e.confirmation_id)
                    for e in item.history
                ],
            )
        )
    return out
