"""Loading and storing planting's write use cases: redeem and the overdue job here, partners'
reports in ``planting_reports_repo``, pools in ``planting_pools_repo``; the tables and the
lock order they share.

Each ``load_*`` reads, in ONE call and under the locks that keep it current, everything the
matching decision of ``greenenergy.planting`` needs; each ``store_*`` writes what the
decision returned, in the caller's commit. Lock order (every writer): a co-planting pool row
(``planting_pools_repo``) < the ``confirmations`` chain heads (shard order) < users' state
rows (user order) < tree rows (id order) < one plot occupancy row < ledger heads (shard
order) < guarded balances ((account, shard) order). SQLite: the caller's ``BEGIN
IMMEDIATE`` serialises writers, and nothing is locked.

Occupancy (``lock_places``): a redemption takes places in ONE plot, so it locks one
occupancy row. Without a requested plot it takes the freest plot with room whose row no
other redemption holds (``FOR UPDATE SKIP LOCKED``), so concurrent redemptions spread over
the plots with room instead of queueing on the freest one; only when every such row is held
does it wait, on one chosen by a hash of the user, so waiters spread too. A plot seen full
needs no lock to be refused: occupancy never goes down. ``store_redeem`` writes the place
with a guarded upsert (``occupied + quantity <= capacity``), and the table's CHECK refuses
an overbooking a second time.

The confirmation chain's canonical bytes are documented in ``greenenergy.planting.records``;
``confirmation_chain_records`` yields the stored rows for ``ledger.verify_shard``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import fields
from datetime import datetime

from sqlalchemy import Connection, and_, select, update

from greenenergy.db import ledger_repo, users_repo
from greenenergy.db.bulk import db_instant
from greenenergy.db.tables_planting import (
    ConfirmationRow,
    PlantingCertificateRow,
    PlantingOrderRow,
    PlotOccupancyRow,
    TreeEventRow,
    TreeHolderRow,
    VirtualTreeRow,
)
from greenenergy.ledger.transactions import TransactionDraft
from greenenergy.planting import PlantingCatalog, PlotFull
from greenenergy.planting.allocation import free_places, plots_with_room
from greenenergy.planting.records import (
    ConfirmationChainRecord,
    OrderState,
    TreeEventRecord,
    TreeState,
)
from greenenergy.planting.redemption import Places, Redeem, Redeemed, RedeemLoaded, ledger_needs
from greenenergy.units import shard_of

CONFIRMATIONS_CHAIN = "confirmations"
OCCUPANCY = PlotOccupancyRow.__table__
TREES = VirtualTreeRow.__table__
HOLDERS = TreeHolderRow.__table__
EVENTS = TreeEventRow.__table__
ORDERS = PlantingOrderRow.__table__
CONFIRMATIONS = ConfirmationRow.__table__
CERTIFICATES = PlantingCertificateRow.__table__
TREE_COLUMNS = tuple(f.name for f in fields(TreeState))
ORDER_COLUMNS = tuple(f.name for f in fields(OrderState))
EVENT_COLUMNS = tuple(f.name for f in fields(TreeEventRecord))
CHAIN_COLUMNS = tuple(f.name for f in fields(ConfirmationChainRecord))
CONFIRMATION_COLUMNS = (*CHAIN_COLUMNS, "location_key", "order_id")
CERTIFICATE_COLUMNS = (
    "certificate_no", "holder_id", "shard", "tree_id", "confirmation_id", "species_id", "plot_id", "partner_id",
    "kind", "quantity", "energy_g", "share_g", "redeemed_at", "planted_at", "issued_on", "issued_at", "planting_no",
    "ledger_tx_id", "ledger_tx_hash", "confirmation_hash", "certificate_hash",
)  # fmt: skip
INSTANTS = frozenset(
    {"redeemed_at", "last_planted_at", "ordered_at", "deadline", "overdue_at", "planted_at", "occurred_at",
     "recorded_at", "issued_at"}
)  # fmt: skip


def mark(connection: Connection) -> str:
    return "?" if connection.dialect.name == "sqlite" else "%s"


def _postgres(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"


def stored_values(connection: Connection, record: object, columns: Sequence[str]) -> tuple:
    """A record's values in ``columns`` order, instants in stored form."""
    values = []
    for name in columns:
        value = getattr(record, name)
        values.append(db_instant(connection, value) if name in INSTANTS and value is not None else value)
    return tuple(values)


def insert_rows(connection: Connection, table: str, columns: Sequence[str], rows: Sequence[tuple]) -> None:
    """A plain INSERT of a few rows (one statement; an executemany for several)."""
    if rows:
        marks = ", ".join([mark(connection)] * len(columns))
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        connection.exec_driver_sql(sql, rows[0] if len(rows) == 1 else list(rows))


def state_of(cls: type, row: object) -> object:
    return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})


# --- redeem ---------------------------------------------------------------------------


def load_redeem(
    connection: Connection,
    catalog: PlantingCatalog,
    request: Redeem,
    *,
    drafts_before: Sequence[TransactionDraft] = (),
) -> RedeemLoaded:
    """For ``planting.redemption.decide_redeem``: the holders' state rows locked (their
    ``trees`` counters change), one plot's occupancy (``lock_places``), the ledger."""
    users_repo.counters(connection, list(request.holders), lock=True)
    places = lock_places(
        connection, catalog, request.species_id, request.plot_id, request.quantity, spread_key=request.owner_id
    )
    shards, keys = ledger_needs(request, drafts_before)
    heads, balances = ledger_repo.lock_for_append(connection, shards, keys)
    return RedeemLoaded(places, heads, balances)


def _occupancy(connection: Connection, species_id: str, plot_ids: Sequence[str]) -> dict[tuple[str, str], int]:
    m = mark(connection)
    rows = connection.exec_driver_sql(
        f"SELECT plot_id, occupied FROM plot_occupancy WHERE species_id = {m} AND plot_id IN "
        f"({', '.join([m] * len(plot_ids))})",
        (species_id, *plot_ids),
    )
    return {(plot_id, species_id): int(occupied) for plot_id, occupied in rows}


def occupancy(connection: Connection, species_id: str, plot_ids: Sequence[str]) -> dict[tuple[str, str], int]:
    """Places taken per (plot_id, species_id) of ``plot_ids`` (a missing key: none), unlocked."""
    return _occupancy(connection, species_id, sorted(set(plot_ids))) if plot_ids else {}


def lock_places(
    connection: Connection,
    catalog: PlantingCatalog,
    species_id: str,
    requested: str | None,
    quantity: int,
    *,
    spread_key: str,
) -> Places:
    """The occupancy a redemption decides on, holding one plot's row (module docstring)."""
    candidates = [catalog.get_plot(requested)] if requested is not None else catalog.plots_offering(species_id)
    plot_ids = [plot.plot_id for plot in candidates]
    if not plot_ids or not all(plot.offers(species_id) for plot in candidates):
        return Places({}, frozenset())  # the decision refuses: species_not_in_plot
    taken = _occupancy(connection, species_id, plot_ids)
    if not _postgres(connection):
        return Places(taken)
    for _attempt in range(len(plot_ids) + 1):
        room = [p for p in candidates if free_places(p, species_id, taken) >= quantity]
        if requested is None:
            room = plots_with_room(catalog, species_id, taken, quantity)
        if not room:
            return Places(taken, frozenset())  # full: final, no lock needed to refuse
        fresh = (room[0].plot_id, species_id) not in taken  # the freest plot has no row yet
        held = None
        if requested is None and not fresh:
            held = _lock_first_free(connection, species_id, room, taken, quantity)
        if held is None:
            # The plot asked for, or the freest one (its row is new); or, every row with room
            # being held by another redemption, the one this user waits for.
            target = room[0] if requested is not None or fresh else room[shard_of(spread_key) % len(room)]
            missing = (target.plot_id, species_id) not in taken
            held = _lock_row(connection, species_id, target.plot_id, target.capacity_of(species_id), missing=missing)
        plot_id, occupied = held
        taken[(plot_id, species_id)] = occupied
        if free_places(catalog.get_plot(plot_id), species_id, taken) >= quantity:
            return Places(taken, frozenset({plot_id}))
        taken = _occupancy(connection, species_id, plot_ids)  # it filled up meanwhile: choose again
    return Places(taken, frozenset())


def _lock_first_free(
    connection: Connection, species_id: str, room: Sequence, taken: dict, quantity: int
) -> tuple[str, int] | None:
    """Lock the first row of ``room`` (in order) that still has room and that no other
    transaction holds; None if every one is held (PostgreSQL)."""
    existing = [p for p in room if (p.plot_id, species_id) in taken]
    row = connection.exec_driver_sql(
        "SELECT o.plot_id, o.occupied FROM plot_occupancy o "
        "JOIN unnest(%s::text[], %s::bigint[], %s::int[]) AS c(plot_id, most, rank) ON o.plot_id = c.plot_id "
        "WHERE o.species_id = %s AND o.occupied <= c.most ORDER BY c.rank LIMIT 1 FOR UPDATE OF o SKIP LOCKED",
        (
            [p.plot_id for p in existing],
            [p.capacity_of(species_id) - quantity for p in existing],
            list(range(len(existing))),
            species_id,
        ),
    ).first()
    return None if row is None else (row[0], int(row[1]))


def _lock_row(
    connection: Connection, species_id: str, plot_id: str, capacity: int, *, missing: bool
) -> tuple[str, int]:
    """Lock one occupancy row, waiting for its holder; a missing row is created empty first
    (it is written with the reservation in this commit, or rolled back with it)."""
    if missing:
        connection.exec_driver_sql(
            "INSERT INTO plot_occupancy (plot_id, species_id, capacity, occupied) VALUES (%s, %s, %s, 0) "
            "ON CONFLICT (plot_id, species_id) DO NOTHING",
            (plot_id, species_id, capacity),
        )
    occupied = connection.exec_driver_sql(
        "SELECT occupied FROM plot_occupancy WHERE plot_id = %s AND species_id = %s FOR UPDATE", (plot_id, species_id)
    ).scalar_one()
    return plot_id, int(occupied)


def store_redeem(connection: Connection, redeemed: Redeemed, *, now: datetime) -> None:
    """Write a redemption: the place, the ledger, the tree with its holders, history and
    order, and the holders' ``trees`` counters (all in the caller's commit)."""
    place = redeemed.reservation
    m = mark(connection)
    taken = connection.exec_driver_sql(
        f"INSERT INTO plot_occupancy (plot_id, species_id, capacity, occupied) VALUES ({m}, {m}, {m}, {m}) "
        "ON CONFLICT (plot_id, species_id) DO UPDATE SET occupied = plot_occupancy.occupied + excluded.occupied, "
        "capacity = excluded.capacity WHERE plot_occupancy.occupied + excluded.occupied <= excluded.capacity "
        "RETURNING occupied",
        (place.plot_id, place.species_id, place.capacity, place.quantity),
    ).first()
    if taken is None:  # the loaded occupancy was not current: a broken lock, never a normal refusal
        raise PlotFull(f"plot {place.plot_id} filled up while this request ran; send it again", plot_id=place.plot_id)
    ledger_repo.store_write(connection, redeemed.ledger, now=now)
    insert_rows(connection, "trees", TREE_COLUMNS, [stored_values(connection, redeemed.tree, TREE_COLUMNS)])
    holders = [(h.tree_id, h.holder_id, h.shard, h.share_g) for h in redeemed.holders]
    insert_rows(connection, "tree_holders", ("tree_id", "holder_id", "shard", "share_g"), holders)
    insert_rows(connection, "tree_events", EVENT_COLUMNS, [stored_values(connection, redeemed.event, EVENT_COLUMNS)])
    insert_rows(
        connection, "planting_orders", ORDER_COLUMNS, [stored_values(connection, redeemed.order, ORDER_COLUMNS)]
    )
    users_repo.add_counts(connection, redeemed.counts)


# --- the overdue job ------------------------------------------------------------------


def load_due_orders(connection: Connection, now: datetime, limit: int) -> list[OrderState]:
    """Pending orders whose deadline is before ``now``, locked (a second job run waits, then
    finds them marked), at most ``limit``, oldest deadline first."""
    query = (
        select(ORDERS)
        .where(and_(ORDERS.c.status == "pending", ORDERS.c.deadline < now))
        .order_by(ORDERS.c.deadline, ORDERS.c.order_id)
        .limit(limit)
        .with_for_update()
    )
    return [state_of(OrderState, row) for row in connection.execute(query)]  # type: ignore[misc]


def store_overdue(connection: Connection, order_ids: Sequence[str], now: datetime) -> int:
    """Mark ``order_ids`` overdue as of ``now`` (those still pending); returns how many."""
    if not order_ids:
        return 0
    result = connection.execute(
        update(ORDERS)
        .where(ORDERS.c.order_id.in_(list(order_ids)), ORDERS.c.status == "pending")
        .values(status="overdue", overdue_at=now)
    )
    return int(result.rowcount)


# --- the confirmations chain ----------------------------------------------------------


def confirmation_chain_records(connection: Connection, shard: int) -> Iterator[ConfirmationChainRecord]:
    """One shard's confirmations in seq order, for ``greenenergy.ledger.verify_shard(noun="confirmation")``."""
    query = select(*(CONFIRMATIONS.c[name] for name in CHAIN_COLUMNS)).where(CONFIRMATIONS.c.shard == shard)
    for row in connection.execute(query.order_by(CONFIRMATIONS.c.seq)):
        yield ConfirmationChainRecord(**{name: getattr(row, name) for name in CHAIN_COLUMNS})


def confirmations_of_tree(connection: Connection, tree_id: str) -> list[ConfirmationChainRecord]:
    query = select(*(CONFIRMATIONS.c[name] for name in CHAIN_COLUMNS)).where(CONFIRMATIONS.c.tree_id == tree_id)
    return [
        ConfirmationChainRecord(**{name: getattr(row, name) for name in CHAIN_COLUMNS})
        for row in connection.execute(query.order_by(CONFIRMATIONS.c.recorded_at, CONFIRMATIONS.c.seq))
    ]
