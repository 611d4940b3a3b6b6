"""Recording partners' planting confirmations and survival checks in one commit each.

The rules are the core's (``planting.check_planting`` / ``check_survival``); this module
gathers the facts they need from the database, writes the outcome and keeps DESIGN
invariant 5 in the database as well: the photo hash, the normalized tag and the location
key are stored in the same commit under unique constraints, so two racing requests cannot
both use one (the loser's unique violation becomes ``duplicate_photo`` / ``duplicate_tag``
/ ``duplicate_location``, exactly as if it had seen the winner).

Every confirmation and survival check is appended to the ``confirmations`` hash chain of
the shard of the tree's owner. Lock order: those chain heads first (``chains.lock_heads``,
shard order), then the tree rows (id order); then orders and certificates. No ledger
transaction is written: planting moves no energy.

``confirm_in_tx`` serves one confirmation (the refusal raises and the caller's commit
rolls back) and a bulk chunk (``savepoints=True``). A chunk is checked report by report in
memory against the locked state -- each report sees the ones accepted before it -- and the
accepted ones are written with one executemany per table inside a SAVEPOINT. Should a
concurrent commit have taken a photo, tag or point in between (possible on PostgreSQL,
whose READ COMMITTED readers do not lock the keys they look up), the unique constraint
fires, the savepoint rolls back and the chunk is done again with one SAVEPOINT per row:
only the rows that lost the race are refused, every valid row is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from greenenergy.clock import ensure_utc
from greenenergy.db import planting_repo
from greenenergy.db.chains import lock_heads, store_heads
from greenenergy.db.planting_repo import CONFIRMATIONS_CHAIN, ConfirmationChainRecord, TreeState
from greenenergy.errors import Conflict, GreenEnergyError, NotFound
from greenenergy.planting import (
    AlreadyPlanted,
    DuplicateLocation,
    DuplicatePhoto,
    DuplicateTag,
    OrderFacts,
    PlantingCatalog,
    PlantingReport,
    SurvivalReport,
    TreeEvent,
    TreeStatus,
    check_planting,
    check_survival,
    deadline,
    next_status,
    normalize_tag,
    report_location_key,
)
from greenenergy.planting.canonical import coordinate_text, sha256_hex
from greenenergy.services.planting import certificates as planting_certificates
from greenenergy.services.planting.redeem import new_id


@dataclass(frozen=True)
class Outcome:
    """What happened to one confirmation: the certificates issued, or the error."""

    tree_id: str
    status: str | None = None
    confirmation_id: str | None = None
    certificate_nos: tuple[str, ...] = ()
    error: GreenEnergyError | None = None


@dataclass
class _Batch:
    """The locked state one commit checks its reports against, updated as they are accepted."""

    catalog: PlantingCatalog
    tz: ZoneInfo
    now: datetime
    heads: dict[int, tuple[int, str]]
    trees: dict[str, TreeState]
    orders: dict[str, planting_repo.OrderState]
    holders: dict[str, list[tuple[str, int, int]]]
    used: planting_repo.UsedKeys


def _quietly(make: Callable[[], str]) -> str | None:
    """A lookup key, or None when the input is malformed (the core then names the problem)."""
    try:
        return make()
    except (GreenEnergyError, ValueError, TypeError, AttributeError):
        return None


def _tree_not_found(tree_id: str) -> NotFound:
    return NotFound(f"no tree {tree_id!r}; GET /v1/partners/{{partner_id}}/orders lists yours", code="tree_not_found")


def _duplicate(error: IntegrityError) -> GreenEnergyError:
    """The specific error for a unique key another commit took first."""
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


def _open_batch(
    connection: Connection,
    catalog: PlantingCatalog,
    tz: ZoneInfo,
    now: datetime,
    tree_ids: Sequence[str],
    *,
    photos: Sequence[str],
    tags: Sequence[str],
    locations: Sequence[str],
) -> _Batch:
    shards = planting_repo.tree_shards(connection, tree_ids)
    heads = lock_heads(connection, CONFIRMATIONS_CHAIN, sorted(set(shards.values()))) if shards else {}
    trees = planting_repo.load_trees(connection, shards, lock=True)
    return _Batch(
        catalog,
        tz,
        now,
        heads,
        trees,
        planting_repo.open_orders(connection, shards),
        planting_repo.holders(connection, shards),
        planting_repo.used_keys(connection, photos=photos, tags=tags, locations=locations),
    )


def confirm_in_tx(
    connection: Connection,
    catalog: PlantingCatalog,
    *,
    tz: ZoneInfo,
    now: datetime,
    reports: Sequence[PlantingReport],
    savepoints: bool,
) -> list[Outcome]:
    """Record ``reports`` in order on the caller's connection; see the module docstring.

    Each report is checked against the locked state as updated by the reports before it,
    so a photo, tag, point or tree used twice within one batch is refused the second time.
    """
    batch = _open(connection, catalog, tz, now, reports)
    if not savepoints:
        plans = []
        for report in reports:  # the first refusal raises; the caller's commit rolls back
            plans.append(_plan(batch, report))
            _apply(batch, plans[-1])
        _write(connection, plans)
        _store_heads(connection, batch)
        return [plan.outcome for plan in plans]
    outcomes: list[Outcome] = []
    plans = []
    for report in reports:
        try:
            plans.append(_plan(batch, report))
        except GreenEnergyError as error:
            outcomes.append(Outcome(report.tree_id, error=error))
            continue
        _apply(batch, plans[-1])
        outcomes.append(plans[-1].outcome)
    try:
        with connection.begin_nested():
            _write(connection, plans)
    except IntegrityError:
        # A concurrent commit took a photo, tag or point after we read the used keys
        # (PostgreSQL): start the batch again, one SAVEPOINT per row, so only the rows that
        # lost the race are refused.
        return _row_by_row(connection, catalog, tz, now, reports)
    _store_heads(connection, batch)
    return outcomes


def _row_by_row(
    connection: Connection, catalog: PlantingCatalog, tz: ZoneInfo, now: datetime, reports: Sequence[PlantingReport]
) -> list[Outcome]:
    batch = _open(connection, catalog, tz, now, reports)
    outcomes: list[Outcome] = []
    for report in reports:
        try:
            plan = _plan(batch, report)
            with connection.begin_nested():
                _write(connection, [plan])
        except GreenEnergyError as error:
            outcomes.append(Outcome(report.tree_id, error=error))
        except IntegrityError as error:
            outcomes.append(Outcome(report.tree_id, error=_duplicate(error)))
        else:
            _apply(batch, plan)
            outcomes.append(plan.outcome)
    _store_heads(connection, batch)
    return outcomes


def _store_heads(connection: Connection, batch: _Batch) -> None:
    if batch.heads:  # no known tree, no head locked
        store_heads(connection, CONFIRMATIONS_CHAIN, batch.heads)


def _open(
    connection: Connection, catalog: PlantingCatalog, tz: ZoneInfo, now: datetime, reports: Sequence[PlantingReport]
) -> _Batch:
    tags = [key for r in reports if r.tag is not None and (key := _quietly(lambda r=r: normalize_tag(r.tag)))]
    locations = [key for r in reports if (key := _quietly(lambda r=r: report_location_key(r, tz=tz)))]
    return _open_batch(
        connection,
        catalog,
        tz,
        now,
        [r.tree_id for r in reports],
        photos=[r.photo_sha256 for r in reports if isinstance(r.photo_sha256, str)],
        tags=tags,
        locations=locations,
    )


@dataclass(frozen=True)
class _Plan:
    """Everything one accepted confirmation writes, and the state it leaves."""

    outcome: Outcome
    old_tree: TreeState
    tree: TreeState
    record: ConfirmationChainRecord
    location: str | None
    tag: str | None
    order_id: str
    event: dict[str, object]
    certificates: list[dict[str, object]]


def _plan(batch: _Batch, report: PlantingReport) -> _Plan:
    """Check one report with the core and build its rows; raises the specific refusal."""
    tree = batch.trees.get(report.tree_id)
    if tree is None:
        raise _tree_not_found(report.tree_id)
    plot = batch.catalog.get_plot(tree.plot_id)
    order = batch.orders.get(tree.tree_id)
    tag = _quietly(lambda: normalize_tag(report.tag)) if report.tag is not None else None
    location = _quietly(lambda: report_location_key(report, tz=batch.tz))
    facts = OrderFacts(
        order_id=order.order_id if order else "",
        tree_id=tree.tree_id,
        plot_id=tree.plot_id,
        species_id=tree.species_id,
        ordered_at=order.ordered_at if order else tree.redeemed_at,
        tree_status=TreeStatus(tree.status),
    )
    event = check_planting(
        facts,
        report,
        plot,
        batch.now,
        seen_photo=report.photo_sha256 in batch.used.photos,
        seen_tag=tag in batch.used.tags,
        seen_point_and_date=location in batch.used.locations,
    )
    if order is None:  # a tree awaiting a tree always has its open order; guard the invariant anyway
        raise Conflict(f"tree {tree.tree_id} has no open planting order", code="no_open_order")
    planted_at = ensure_utc(report.planted_at)
    planting_no = tree.plantings + 1
    status = next_status(tree.status, event)
    seq, prev_hash = batch.heads[tree.shard]
    record = ConfirmationChainRecord(
        id=new_id(),
        shard=tree.shard,
        seq=seq + 1,
        kind="planting",
        tree_id=tree.tree_id,
        partner_id=report.partner_id,
        plot_id=plot.plot_id,
        species_id=tree.species_id,
        occurred_at=planted_at,
        photo_sha256=report.photo_sha256,
        latitude=coordinate_text(report.latitude),
        longitude=coordinate_text(report.longitude),
        tag=tag,
        alive=None,
        planting_no=planting_no,
        recorded_at=batch.now,
        prev_hash=prev_hash,
    )
    record_hash = record.record_hash()
    record = replace(record, hash=sha256_hex(record.canonical_bytes()))
    certificates = planting_certificates.certificate_rows(
        tree=tree,
        holders=batch.holders.get(tree.tree_id, []),
        confirmation_id=record.id,
        confirmation_hash=record_hash,
        planted_at=planted_at,
        planting_no=planting_no,
        now=batch.now,
        tz=batch.tz,
    )
    return _Plan(
        outcome=Outcome(
            tree.tree_id,
            status=status.value,
            confirmation_id=record.id,
            certificate_nos=tuple(str(row["certificate_no"]) for row in certificates),
        ),
        old_tree=tree,
        tree=replace(
            tree, status=status.value, plantings=planting_no, last_planted_at=planted_at, version=tree.version + 1
        ),
        record=record,
        location=location,
        tag=tag,
        order_id=order.order_id,
        event={
            "tree_id": tree.tree_id,
            "seq": tree.version,
            "event": event.value,
            "status": status.value,
            "occurred_at": planted_at,
            "recorded_at": batch.now,
            "order_id": order.order_id,
            "confirmation_id": record.id,
        },
        certificates=certificates,
    )


def _apply(batch: _Batch, plan: _Plan) -> None:
    """Let the next reports of the batch see an accepted one."""
    batch.trees[plan.tree.tree_id] = plan.tree
    batch.heads[plan.tree.shard] = (plan.record.seq, plan.record.hash)
    batch.orders.pop(plan.tree.tree_id, None)
    batch.used.photos.add(plan.record.photo_sha256)
    if plan.tag is not None:
        batch.used.tags.add(plan.tag)
    if plan.location is not None:
        batch.used.locations.add(plan.location)


def _write(connection: Connection, plans: Sequence[_Plan]) -> None:
    """All rows of the accepted confirmations, one executemany per table."""
    if not plans:
        return
    planting_repo.insert_confirmations(connection, [(p.record, p.location, p.order_id) for p in plans])
    planting_repo.update_trees(
        connection,
        [
            (
                p.old_tree,
                {"status": p.tree.status, "plantings": p.tree.plantings, "last_planted_at": p.tree.last_planted_at},
            )
            for p in plans
        ],
    )
    planting_repo.append_events(connection, [p.event for p in plans])
    planting_repo.mark_orders_planted(
        connection,
        [
            (p.order_id, p.record.id, p.tree.last_planted_at)  # type: ignore[misc]
            for p in plans
        ],
    )
    planting_repo.insert_certificates(connection, [row for p in plans for row in p.certificates])


@dataclass(frozen=True)
class SurvivalOutcome:
    tree_id: str
    event: str
    status: str
    confirmation_id: str
    replanting_order_id: str | None
    replanting_deadline: datetime | None


def survival_in_tx(
    connection: Connection, catalog: PlantingCatalog, *, tz: ZoneInfo, now: datetime, report: SurvivalReport
) -> SurvivalOutcome:
    """Record one survival check; a dead tree gets a replanting order in its plot, free of energy."""
    photo = report.photo_sha256 if isinstance(report.photo_sha256, str) else ""
    batch = _open_batch(connection, catalog, tz, now, [report.tree_id], photos=[photo], tags=[], locations=[])
    tree = batch.trees.get(report.tree_id)
    if tree is None:
        raise _tree_not_found(report.tree_id)
    plot = catalog.get_plot(tree.plot_id)
    event = check_survival(tree.status, tree.last_planted_at or tree.redeemed_at, plot, report, now)
    if photo in batch.used.photos:
        raise DuplicatePhoto("this photo already backs a confirmation or survival check; take a new one")
    checked_at = ensure_utc(report.checked_at)
    status = next_status(tree.status, event)
    seq, prev_hash = batch.heads[tree.shard]
    record = ConfirmationChainRecord(
        id=new_id(),
        shard=tree.shard,
        seq=seq + 1,
        kind="survival",
        tree_id=tree.tree_id,
        partner_id=report.partner_id,
        plot_id=plot.plot_id,
        species_id=tree.species_id,
        occurred_at=checked_at,
        photo_sha256=photo,
        latitude=None,
        longitude=None,
        tag=None,
        alive=bool(report.alive),
        planting_no=None,
        recorded_at=now,
        prev_hash=prev_hash,
    )
    record = replace(record, hash=sha256_hex(record.canonical_bytes()))
    planting_repo.insert_confirmations(connection, [(record, None, None)])
    planting_repo.update_trees(connection, [(tree, {"status": status.value})])
    order_id = due = None
    if event is TreeEvent.SURVIVAL_DEAD:
        # The replacement is ordered from the moment the tree was found dead, in the same
        # plot and place (occupancy unchanged), at the partner's charge: no ledger entry.
        order_id, due = new_id(), deadline(checked_at, plot, tz=tz)
        planting_repo.insert_order(
            connection,
            order_id=order_id,
            tree_id=tree.tree_id,
            planting_no=tree.plantings + 1,
            partner_id=tree.partner_id,
            plot_id=tree.plot_id,
            species_id=tree.species_id,
            ordered_at=checked_at,
            deadline=due,
            status="pending",
            overdue_at=None,
            planted_at=None,
            confirmation_id=None,
        )
    planting_repo.append_event(
        connection,
        tree_id=tree.tree_id,
        seq=tree.version,
        event=event.value,
        status=status.value,
        occurred_at=checked_at,
        recorded_at=now,
        order_id=order_id,
        confirmation_id=record.id,
    )
    store_heads(connection, CONFIRMATIONS_CHAIN, {tree.shard: (record.seq, record.hash)})
    return SurvivalOutcome(tree.tree_id, event.value, status.value, record.id, order_id, due)


def duplicate_error(error: IntegrityError) -> GreenEnergyError:
    """Public for the services that commit one confirmation: map a lost unique-key race."""
    return _duplicate(error)
