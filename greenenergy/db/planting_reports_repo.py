"""Loading and storing partners' reports: planting confirmations (one or a bulk chunk) and
survival checks (``greenenergy.planting.reports``).

``load_reports`` takes, in the global lock order of ``planting_repo``, the ``confirmations``
chain heads of the trees' shards, then the tree rows (id order); then it reads their open
orders and holders and which of the reports' photo hashes, tags and location keys a stored
confirmation already used. The stores keep DESIGN invariant 5 in the database as well: the
photo hash, the normalized tag and the location key are stored under unique constraints in
the same commit, so two racing requests cannot both use one. No ledger transaction is
written: planting moves no energy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import datetime

from sqlalchemy import Connection, bindparam, or_, select, update
from sqlalchemy.exc import IntegrityError

from greenenergy.db.bulk import db_date, db_instant, insert_tuples
from greenenergy.db.chains import lock_heads, store_heads
from greenenergy.db.planting_repo import (
    CERTIFICATE_COLUMNS,
    CERTIFICATES,
    CHAIN_COLUMNS,
    CONFIRMATION_COLUMNS,
    CONFIRMATIONS,
    CONFIRMATIONS_CHAIN,
    EVENT_COLUMNS,
    EVENTS,
    HOLDERS,
    INSTANTS,
    ORDER_COLUMNS,
    ORDERS,
    TREES,
    insert_rows,
    mark,
    state_of,
    stored_values,
)
from greenenergy.errors import Conflict, GreenEnergyError
from greenenergy.planting import DuplicateLocation, DuplicatePhoto, DuplicateTag
from greenenergy.planting.certificates import Certificate
from greenenergy.planting.errors import AlreadyPlanted
from greenenergy.planting.records import OPEN_ORDER, Holder, OrderState, TreeState
from greenenergy.planting.reports import Confirmations, ReportsLoaded, SurvivalChecked, UsedKeys

USED_KEYS_CHUNK = 300  # reports per lookup: three keys each, under SQLite's 999 host parameters


def used_keys(
    connection: Connection, *, photos: Sequence[str], tags: Sequence[str], locations: Sequence[str]
) -> UsedKeys:
    """Which of these photo hashes, normalized tags and location keys a stored confirmation
    already used (one lookup per chunk of keys)."""
    found: tuple[set[str], set[str], set[str]] = (set(), set(), set())
    wanted = (sorted(set(photos)), sorted(set(tags)), sorted(set(locations)))
    lookup = (set(photos), set(tags), set(locations))
    names = ("photo_sha256", "tag", "location_key")
    m = mark(connection)
    size = max(len(keys) for keys in wanted) if any(wanted) else 0
    for start in range(0, size, USED_KEYS_CHUNK):
        parts = [(name, keys[start : start + USED_KEYS_CHUNK]) for name, keys in zip(names, wanted, strict=True)]
        parts = [(name, keys) for name, keys in parts if keys]
        where = " OR ".join(f"{name} IN ({', '.join([m] * len(keys))})" for name, keys in parts)
        params = tuple(value for _, keys in parts for value in keys)
        for row in connection.exec_driver_sql(
            f"SELECT {', '.join(names)} FROM planting_confirmations WHERE {where}", params
        ):
            for value, into, keys in zip(row, found, lookup, strict=True):
                if value is not None and value in keys:
                    into.add(value)
    return UsedKeys(frozenset(found[0]), frozenset(found[1]), frozenset(found[2]))


def load_reports(
    connection: Connection,
    tree_ids: Sequence[str],
    *,
    photos: Sequence[str] = (),
    tags: Sequence[str] = (),
    locations: Sequence[str] = (),
) -> ReportsLoaded:
    """For ``planting.reports``: the confirmations chain heads of the trees' shards, then the
    trees (locked), their open orders and holders, and the keys already used."""
    shards = tree_shards(connection, tree_ids)
    heads = lock_heads(connection, CONFIRMATIONS_CHAIN, sorted(set(shards.values()))) if shards else {}
    return ReportsLoaded(
        heads=heads,
        trees=load_trees(connection, shards, lock=True),
        orders=open_orders(connection, shards),
        holders=holders(connection, shards),
        used=used_keys(connection, photos=photos, tags=tags, locations=locations),
    )


def store_confirmations(
    connection: Connection, decided: Confirmations, *, savepoint: bool = False
) -> GreenEnergyError | None:
    """Write the accepted confirmations (one statement per table) and the new chain heads.

    With ``savepoint``: inside a SAVEPOINT, and when a concurrent commit took a photo, tag,
    point or order after the load (PostgreSQL's READ COMMITTED readers do not lock the keys
    they look up), nothing is written and the refusal that race means is returned. Without:
    the unique violation propagates (``in_write_tx`` runs the use case again, whose fresh
    load then refuses the report with its specific code).
    """
    if not decided.accepted:
        return None
    if not savepoint:
        _write_confirmations(connection, decided)
        return None
    try:
        with connection.begin_nested():
            _write_confirmations(connection, decided)
    except IntegrityError as error:
        return lost_race(error)
    return None


def _write_confirmations(connection: Connection, decided: Confirmations) -> None:
    accepted = decided.accepted
    insert_tuples(connection, CONFIRMATIONS, CONFIRMATION_COLUMNS, [
        (*stored_values(connection, c.record, CHAIN_COLUMNS), c.location, c.order_id) for c in accepted
    ])  # fmt: skip
    update_trees(connection, [(c.old_tree, c.tree, ("status", "plantings", "last_planted_at")) for c in accepted])
    insert_tuples(
        connection, EVENTS, EVENT_COLUMNS, [stored_values(connection, c.event, EVENT_COLUMNS) for c in accepted]
    )
    mark_orders_planted(connection, [(c.order_id, c.record.id, c.tree.last_planted_at) for c in accepted])  # type: ignore[misc]
    insert_tuples(connection, CERTIFICATES, CERTIFICATE_COLUMNS, [
        _certificate_row(connection, certificate) for c in accepted for certificate in c.certificates
    ])  # fmt: skip
    store_heads(connection, CONFIRMATIONS_CHAIN, decided.heads)


def _certificate_row(connection: Connection, certificate: Certificate) -> tuple:
    facts = certificate.facts
    values = {
        **{f.name: getattr(facts, f.name) for f in fields(facts)},
        "shard": certificate.shard,
        "confirmation_id": certificate.confirmation_id,
        "issued_at": certificate.issued_at,
        "ledger_tx_id": certificate.ledger_tx_id,
        "certificate_hash": certificate.certificate_hash,
    }
    values["issued_on"] = db_date(connection, values["issued_on"])
    return tuple(
        db_instant(connection, values[n]) if n in INSTANTS and values[n] is not None else values[n]
        for n in CERTIFICATE_COLUMNS
    )


def store_survival(connection: Connection, checked: SurvivalChecked) -> None:
    """Write one survival check: the chained record, the tree's status, its history event,
    the replanting order of a dead tree, the chain head."""
    row = (*stored_values(connection, checked.record, CHAIN_COLUMNS), None, None)
    insert_rows(connection, "planting_confirmations", CONFIRMATION_COLUMNS, [row])
    update_trees(connection, [(checked.old_tree, checked.tree, ("status",))])
    if checked.replanting is not None:
        insert_rows(
            connection, "planting_orders", ORDER_COLUMNS, [stored_values(connection, checked.replanting, ORDER_COLUMNS)]
        )
    insert_rows(connection, "tree_events", EVENT_COLUMNS, [stored_values(connection, checked.event, EVENT_COLUMNS)])
    store_heads(connection, CONFIRMATIONS_CHAIN, checked.heads)


def lost_race(error: IntegrityError) -> GreenEnergyError:
    """The refusal a unique key taken first by another commit stands for."""
    diag = getattr(error.orig, "diag", None)
    name = (getattr(diag, "constraint_name", None) or str(error.orig)).lower()
    if "photo" in name:
        return DuplicatePhoto("this photo already confirmed a tree; each tree needs its own photo")
    if "location" in name:
        return DuplicateLocation("a tree was already confirmed at this point on this date")
    if "tag" in name:
        return DuplicateTag("this tag already confirmed a tree")
    if "order_id" in name or "planting_no" in name:
        return AlreadyPlanted("this tree's planting was confirmed by another request")
    raise error


# --- trees and orders -----------------------------------------------------------------


def tree_shards(connection: Connection, tree_ids: Iterable[str]) -> dict[str, int]:
    ids = sorted(set(tree_ids))
    if not ids:
        return {}
    query = select(TREES.c.tree_id, TREES.c.shard).where(TREES.c.tree_id.in_(ids))
    return {row.tree_id: row.shard for row in connection.execute(query)}


def load_trees(connection: Connection, tree_ids: Iterable[str], *, lock: bool = False) -> dict[str, TreeState]:
    """Trees by id; with ``lock``, their rows are locked in id order (PostgreSQL)."""
    ids = sorted(set(tree_ids))
    if not ids:
        return {}
    query = select(TREES).where(TREES.c.tree_id.in_(ids)).order_by(TREES.c.tree_id)
    if lock:
        query = query.with_for_update()
    return {row.tree_id: state_of(TreeState, row) for row in connection.execute(query)}  # type: ignore[misc]


def update_trees(connection: Connection, changes: Sequence[tuple[TreeState, TreeState, Sequence[str]]]) -> None:
    """Write ``(as read, new, columns)`` per tree (one executemany), each guarded by the
    version it was decided on."""
    if not changes:
        return
    names = sorted({name for _, _, columns in changes for name in columns})
    statement = (
        update(TREES)
        .where(TREES.c.tree_id == bindparam("b_tree_id"), TREES.c.version == bindparam("b_version"))
        .values(version=bindparam("b_new_version"), **{name: bindparam(f"b_{name}") for name in names})
    )
    result = connection.execute(statement, [
        {"b_tree_id": old.tree_id, "b_version": old.version, "b_new_version": new.version,
         **{f"b_{name}": getattr(new, name) for name in names}}
        for old, new, _ in changes
    ])  # fmt: skip
    if result.rowcount != len(changes):
        raise Conflict("a tree changed while this request ran; send it again", code="concurrent_update")


def holders(connection: Connection, tree_ids: Iterable[str]) -> dict[str, list[Holder]]:
    """``{tree_id: [Holder, ...]}`` ordered by holder id."""
    ids = sorted(set(tree_ids))
    out: dict[str, list[Holder]] = {i: [] for i in ids}
    if ids:
        query = select(HOLDERS).where(HOLDERS.c.tree_id.in_(ids)).order_by(HOLDERS.c.tree_id, HOLDERS.c.holder_id)
        for row in connection.execute(query):
            out[row.tree_id].append(Holder(row.tree_id, row.holder_id, row.shard, int(row.share_g)))
    return out


def open_orders(connection: Connection, tree_ids: Iterable[str]) -> dict[str, OrderState]:
    """The open (pending or overdue) order of each tree that has one."""
    ids = sorted(set(tree_ids))
    if not ids:
        return {}
    query = select(ORDERS).where(ORDERS.c.tree_id.in_(ids), ORDERS.c.status.in_(OPEN_ORDER))
    return {row.tree_id: state_of(OrderState, row) for row in connection.execute(query)}  # type: ignore[misc]


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
