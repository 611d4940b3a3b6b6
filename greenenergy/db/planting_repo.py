"""Storing and reading trees, plot occupancy, planting orders and confirmations.

All functions work on the caller's connection; the caller (a service) owns the commit and
the lock order: ``confirmations`` chain heads first, then tree rows, orders and the plot
occupancy row, then the ledger (``ledger_repo.post_transactions``, last).

Occupancy: ``reserve`` is one guarded upsert -- ``occupied + quantity <= capacity`` is the
WHERE of its conflict branch -- so on PostgreSQL the row lock and the re-check after waiting
make overbooking impossible, and the table's CHECK refuses it a second time.

Confirmation chain: each row of ``planting_confirmations`` links to the previous one of its
shard (the shard of the tree's owner). Its hash is SHA-256 of the canonical bytes
(greenenergy.planting.canonical: compact JSON, sorted keys, UTF-8) of::

    {"id": str, "kind": "planting"|"survival", "prev_hash": hex, "record_hash": hex,
     "recorded_at": "YYYY-MM-DDTHH:MM:SS.ffffffZ", "seq": int, "shard": int}

where ``record_hash`` is ``planting.confirmation_hash`` (planting) or ``planting.survival_hash``
(survival) recomputed from the stored columns, so a change to any hashed column breaks the
row's hash. ``confirmation_chain_records`` yields rows for ``ledger.verify_shard``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import Connection, and_, bindparam, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from greenenergy.db.tables_planting import (
    ConfirmationRow,
    PlantingCertificateRow,
    PlantingOrderRow,
    PlotOccupancyRow,
    TreeEventRow,
    TreeHolderRow,
    VirtualTreeRow,
)
from greenenergy.errors import Conflict, GreenEnergyError
from greenenergy.planting import PlantingReport, SurvivalReport, confirmation_hash, survival_hash
from greenenergy.planting.canonical import canonical_bytes, sha256_hex
from greenenergy.planting.certificates import CertificateFacts

CONFIRMATIONS_CHAIN = "confirmations"
OCCUPANCY = PlotOccupancyRow.__table__
TREES = VirtualTreeRow.__table__
HOLDERS = TreeHolderRow.__table__
EVENTS = TreeEventRow.__table__
ORDERS = PlantingOrderRow.__table__
CONFIRMATIONS = ConfirmationRow.__table__
CERTIFICATES = PlantingCertificateRow.__table__
OPEN_ORDER = ("pending", "overdue")
IN_THE_GROUND = ("planted", "alive", "replanted")


@dataclass(frozen=True, slots=True)
class TreeState:
    tree_id: str
    owner_id: str
    shard: int
    species_id: str
    kind: str
    quantity: int
    energy_g: int
    plot_id: str
    partner_id: str
    status: str
    redeemed_at: datetime
    redeem_tx_id: str
    redeem_tx_hash: str
    pool_id: str | None
    plantings: int
    last_planted_at: datetime | None
    version: int


@dataclass(frozen=True, slots=True)
class OrderState:
    order_id: str
    tree_id: str
    planting_no: int
    partner_id: str
    plot_id: str
    species_id: str
    ordered_at: datetime
    deadline: datetime
    status: str
    overdue_at: datetime | None
    planted_at: datetime | None
    confirmation_id: str | None


def _state(cls: type, row: object) -> object:
    return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})


# --- occupancy ------------------------------------------------------------------------


def occupancy(connection: Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Places taken per (plot_id, species_id); missing rows count as 0."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    plots = sorted({plot for plot, _ in wanted})
    rows = connection.execute(
        select(OCCUPANCY.c.plot_id, OCCUPANCY.c.species_id, OCCUPANCY.c.occupied).where(OCCUPANCY.c.plot_id.in_(plots))
    )
    return {(row.plot_id, row.species_id): int(row.occupied) for row in rows}


def reserve(connection: Connection, plot_id: str, species_id: str, capacity: int, quantity: int) -> bool:
    """Take ``quantity`` places if they are free; False (nothing changed) if not."""
    if quantity > capacity:
        return False
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = insert(OCCUPANCY).values(plot_id=plot_id, species_id=species_id, capacity=capacity, occupied=quantity)
    statement = statement.on_conflict_do_update(
        index_elements=[OCCUPANCY.c.plot_id, OCCUPANCY.c.species_id],
        set_={"occupied": OCCUPANCY.c.occupied + quantity, "capacity": capacity},
        where=OCCUPANCY.c.occupied + quantity <= capacity,
    ).returning(OCCUPANCY.c.occupied)
    return connection.execute(statement).first() is not None


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


# --- trees ----------------------------------------------------------------------------


def insert_tree(
    connection: Connection,
    tree: Mapping[str, object],
    holders: Mapping[str, tuple[int, int]],
    event: Mapping[str, object],
) -> None:
    """A new tree with its holders (``{holder: (shard, share_g)}``) and its first history event."""
    connection.execute(TREES.insert(), [dict(tree)])
    connection.execute(
        HOLDERS.insert(),
        [
            {"tree_id": tree["tree_id"], "holder_id": holder, "shard": shard, "share_g": share}
            for holder, (shard, share) in holders.items()
        ],
    )
    connection.execute(EVENTS.insert(), [dict(event)])


def tree_shards(connection: Connection, tree_ids: Iterable[str]) -> dict[str, int]:
    ids = sorted(set(tree_ids))
    if not ids:
        return {}
    return {
        row.tree_id: row.shard
        for row in connection.execute(select(TREES.c.tree_id, TREES.c.shard).where(TREES.c.tree_id.in_(ids)))
    }


def load_trees(connection: Connection, tree_ids: Iterable[str], *, lock: bool = False) -> dict[str, TreeState]:
    """Trees by id; with ``lock``, their rows are locked in id order (PostgreSQL)."""
    ids = sorted(set(tree_ids))
    if not ids:
        return {}
    query = select(TREES).where(TREES.c.tree_id.in_(ids)).order_by(TREES.c.tree_id)
    if lock:
        query = query.with_for_update()
    return {row.tree_id: _state(TreeState, row) for row in connection.execute(query)}  # type: ignore[misc]


def update_trees(connection: Connection, changes: Sequence[tuple[TreeState, Mapping[str, object]]]) -> None:
    """Many ``update_tree`` at once (one executemany): each tree as read, and its new values."""
    if not changes:
        return
    names = sorted({name for _, values in changes for name in values})
    statement = (
        update(TREES)
        .where(TREES.c.tree_id == bindparam("b_tree_id"), TREES.c.version == bindparam("b_version"))
        .values(version=bindparam("b_new_version"), **{name: bindparam(f"b_{name}") for name in names})
    )
    result = connection.execute(
        statement,
        [
            {
                "b_tree_id": tree.tree_id,
                "b_version": tree.version,
                "b_new_version": tree.version + 1,
                **{f"b_{name}": values[name] for name in names},
            }
            for tree, values in changes
        ],
    )
    if result.rowcount != len(changes):
        raise Conflict("a tree changed while this request ran; send it again", code="concurrent_update")


def append_event(connection: Connection, **row: object) -> None:
    connection.execute(EVENTS.insert(), [row])


def append_events(connection: Connection, rows: Sequence[Mapping[str, object]]) -> None:
    if rows:
        connection.execute(EVENTS.insert(), [dict(row) for row in rows])


def holders(connection: Connection, tree_ids: Iterable[str]) -> dict[str, list[tuple[str, int, int]]]:
    """``{tree_id: [(holder_id, shard, share_g), ...]}`` ordered by holder id."""
    ids = sorted(set(tree_ids))
    out: dict[str, list[tuple[str, int, int]]] = {i: [] for i in ids}
    if not ids:
        return out
    query = select(HOLDERS).where(HOLDERS.c.tree_id.in_(ids)).order_by(HOLDERS.c.tree_id, HOLDERS.c.holder_id)
    for row in connection.execute(query):
        out[row.tree_id].append((row.holder_id, row.shard, int(row.share_g)))
    return out


def trees_of_holder(connection: Connection, holder_id: str) -> list[tuple[TreeState, int]]:
    """The trees ``holder_id`` holds, with their share, oldest redemption first."""
    query = (
        select(TREES, HOLDERS.c.share_g)
        .join(HOLDERS, HOLDERS.c.tree_id == TREES.c.tree_id)
        .where(HOLDERS.c.holder_id == holder_id)
        .order_by(TREES.c.redeemed_at, TREES.c.tree_id)
    )
    return [(_state(TreeState, row), int(row.share_g)) for row in connection.execute(query)]  # type: ignore[misc]


def tree_events(connection: Connection, tree_ids: Iterable[str]) -> dict[str, list]:  # rows of tree_events
    ids = sorted(set(tree_ids))
    out: dict[str, list] = {i: [] for i in ids}
    if ids:
        for row in connection.execute(
            select(EVENTS).where(EVENTS.c.tree_id.in_(ids)).order_by(EVENTS.c.tree_id, EVENTS.c.seq)
        ):
            out[row.tree_id].append(row)
    return out


# --- orders ---------------------------------------------------------------------------


def insert_order(connection: Connection, **row: object) -> None:
    connection.execute(ORDERS.insert(), [row])


def open_orders(connection: Connection, tree_ids: Iterable[str]) -> dict[str, OrderState]:
    """The open (pending or overdue) order of each tree that has one."""
    ids = sorted(set(tree_ids))
    if not ids:
        return {}
    query = select(ORDERS).where(ORDERS.c.tree_id.in_(ids), ORDERS.c.status.in_(OPEN_ORDER))
    return {row.tree_id: _state(OrderState, row) for row in connection.execute(query)}  # type: ignore[misc]


def mark_orders_planted(connection: Connection, rows: Sequence[tuple[str, str, datetime]]) -> None:
    """Close open orders: ``(order_id, confirmation_id, planted_at)`` each (one executemany)."""
    if not rows:
        return
    result = connection.execute(
        update(ORDERS)  # (executemany takes no IN list)
        .where(ORDERS.c.order_id == bindparam("b_order_id"), or_(*(ORDERS.c.status == s for s in OPEN_ORDER)))
        .values(status="planted", confirmation_id=bindparam("b_confirmation_id"), planted_at=bindparam("b_planted_at")),
        [{"b_order_id": o, "b_confirmation_id": c, "b_planted_at": p} for o, c, p in rows],
    )
    if result.rowcount != len(rows):
        raise Conflict("a planting order was confirmed by another request", code="already_planted")


def _overdue_at(now: datetime):
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
) -> list[OrderState]:
    """A partner's orders, oldest first. ``state``: pending, overdue, planted as read at
    ``now`` (see ``_overdue_at``), or None for every open order."""
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
    return [_state(OrderState, row) for row in connection.execute(query)]  # type: ignore[misc]


def get_order(connection: Connection, order_id: str) -> OrderState | None:
    row = connection.execute(select(ORDERS).where(ORDERS.c.order_id == order_id)).first()
    return None if row is None else _state(OrderState, row)  # type: ignore[return-value]


def mark_overdue(connection: Connection, now: datetime) -> int:
    """Mark pending orders whose deadline passed; returns how many (0 when run again)."""
    result = connection.execute(
        update(ORDERS)
        .where(ORDERS.c.status == "pending", ORDERS.c.deadline < now)
        .values(status="overdue", overdue_at=now)
    )
    return int(result.rowcount)


def overdue_orders(connection: Connection, *, now: datetime, limit: int) -> list[OrderState]:
    """Unplanted orders that read ``overdue`` at ``now`` (marked or past the deadline), the
    longest overdue first."""
    query = select(ORDERS).where(_overdue_at(now)).order_by(ORDERS.c.deadline, ORDERS.c.order_id).limit(limit)
    return [_state(OrderState, row) for row in connection.execute(query)]  # type: ignore[misc]


def orders_of_trees(connection: Connection, tree_ids: Iterable[str]) -> dict[str, list[OrderState]]:
    ids = sorted(set(tree_ids))
    out: dict[str, list[OrderState]] = {i: [] for i in ids}
    if ids:
        query = select(ORDERS).where(ORDERS.c.tree_id.in_(ids)).order_by(ORDERS.c.tree_id, ORDERS.c.planting_no)
        for row in connection.execute(query):
            out[row.tree_id].append(_state(OrderState, row))  # type: ignore[arg-type]
    return out


# --- confirmations (hash chain) --------------------------------------------------------


@dataclass
class UsedKeys:
    """Photo hashes, normalized tags and location keys already used by a confirmation."""

    photos: set[str]
    tags: set[str]
    locations: set[str]


def used_keys(
    connection: Connection, *, photos: Sequence[str], tags: Sequence[str], locations: Sequence[str]
) -> UsedKeys:
    found = UsedKeys(set(), set(), set())
    for column, values, into in (
        (CONFIRMATIONS.c.photo_sha256, photos, found.photos),
        (CONFIRMATIONS.c.tag, tags, found.tags),
        (CONFIRMATIONS.c.location_key, locations, found.locations),
    ):
        wanted = sorted(set(values))
        for start in range(0, len(wanted), 500):
            into.update(v for (v,) in connection.execute(select(column).where(column.in_(wanted[start : start + 500]))))
    return found


@dataclass(frozen=True, slots=True)
class ConfirmationChainRecord:
    """One stored confirmation, as hashed; ``computed_hash`` recomputes from the columns."""

    id: str
    shard: int
    seq: int
    kind: str
    tree_id: str
    partner_id: str
    plot_id: str
    species_id: str
    occurred_at: datetime
    photo_sha256: str
    latitude: str | None
    longitude: str | None
    tag: str | None
    alive: bool | None
    planting_no: int | None
    recorded_at: datetime
    prev_hash: str
    hash: str = ""

    def record_hash(self) -> str:
        """The core's hash of the confirmation's facts, or a marker that matches nothing."""
        try:
            if self.kind == "planting":
                report = PlantingReport(
                    tree_id=self.tree_id,
                    partner_id=self.partner_id,
                    species_id=self.species_id,
                    planted_at=self.occurred_at,
                    latitude=float(self.latitude),  # type: ignore[arg-type]
                    longitude=float(self.longitude),
                    photo_sha256=self.photo_sha256,
                    tag=self.tag,  # type: ignore[arg-type]
                )
                return confirmation_hash(report, plot_id=self.plot_id, planting_no=int(self.planting_no))  # type: ignore[arg-type]
            if self.kind == "survival":
                return survival_hash(
                    SurvivalReport(
                        tree_id=self.tree_id,
                        partner_id=self.partner_id,
                        checked_at=self.occurred_at,
                        alive=bool(self.alive),
                        photo_sha256=self.photo_sha256,
                    )
                )
        except (TypeError, ValueError, GreenEnergyError):  # a tampered row: its hash cannot match
            pass
        return f"unreadable {self.kind} record"

    def canonical_bytes(self) -> bytes:
        return chain_bytes(
            id=self.id,
            shard=self.shard,
            seq=self.seq,
            kind=self.kind,
            recorded_at=self.recorded_at,
            prev_hash=self.prev_hash,
            record_hash=self.record_hash(),
        )

    def computed_hash(self) -> str:
        return sha256_hex(self.canonical_bytes())


def chain_bytes(
    *, id: str, shard: int, seq: int, kind: str, recorded_at: datetime, prev_hash: str, record_hash: str
) -> bytes:
    return canonical_bytes(
        {
            "id": id,
            "shard": shard,
            "seq": seq,
            "kind": kind,
            "recorded_at": recorded_at,
            "prev_hash": prev_hash,
            "record_hash": record_hash,
        }
    )


def insert_confirmations(
    connection: Connection, rows: Sequence[tuple[ConfirmationChainRecord, str | None, str | None]]
) -> None:
    """Store ``(record, location_key, order_id)`` rows (one executemany)."""
    names = [f.name for f in fields(ConfirmationChainRecord)]
    if rows:
        connection.execute(
            CONFIRMATIONS.insert(),
            [
                {**{name: getattr(record, name) for name in names}, "location_key": location_key, "order_id": order_id}
                for record, location_key, order_id in rows
            ],
        )


def confirmation_chain_records(connection: Connection, shard: int) -> Iterator[ConfirmationChainRecord]:
    """One shard's confirmations in seq order, for ``greenenergy.ledger.verify_shard(noun="confirmation")``."""
    names = [f.name for f in fields(ConfirmationChainRecord)]
    query = select(*(CONFIRMATIONS.c[name] for name in names)).where(CONFIRMATIONS.c.shard == shard)
    for row in connection.execute(query.order_by(CONFIRMATIONS.c.seq)):
        yield ConfirmationChainRecord(**{name: getattr(row, name) for name in names})


def confirmations_of_tree(connection: Connection, tree_id: str) -> list[ConfirmationChainRecord]:
    names = [f.name for f in fields(ConfirmationChainRecord)]
    query = select(*(CONFIRMATIONS.c[name] for name in names)).where(CONFIRMATIONS.c.tree_id == tree_id)
    return [
        ConfirmationChainRecord(**{name: getattr(row, name) for name in names})
        for row in connection.execute(query.order_by(CONFIRMATIONS.c.recorded_at, CONFIRMATIONS.c.seq))
    ]


# --- certificates ---------------------------------------------------------------------

FACT_NAMES = [f.name for f in fields(CertificateFacts)]


def insert_certificates(connection: Connection, rows: Sequence[Mapping[str, object]]) -> None:
    if rows:
        connection.execute(CERTIFICATES.insert(), [dict(row) for row in rows])


def certificate_row(connection: Connection, certificate_no: str):
    return connection.execute(select(CERTIFICATES).where(CERTIFICATES.c.certificate_no == certificate_no)).first()


def certificate_facts(row: object) -> CertificateFacts:
    return CertificateFacts(**{name: getattr(row, name) for name in FACT_NAMES})


def certificates_of_holder(connection: Connection, holder_id: str) -> list:  # rows, oldest first
    query = (
        select(CERTIFICATES)
        .where(CERTIFICATES.c.holder_id == holder_id)
        .order_by(CERTIFICATES.c.issued_at, CERTIFICATES.c.certificate_no)
    )
    return list(connection.execute(query))
