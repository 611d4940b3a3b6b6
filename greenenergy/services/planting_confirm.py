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

``confirm_in_tx`` serves one confirmation (errors raise, the caller's commit rolls back)
and a bulk chunk (``savepoints=True``: each row in its own SAVEPOINT, a bad row is rolled
back alone and reported, the valid rows of the chunk commit together).
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
from greenenergy.services import planting_certificates
from greenenergy.services.planting_redeem import new_id


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
    connection: Connection
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


def _open_batch(connection: Connection, catalog: PlantingCatalog, tz: ZoneInfo, now: datetime,
                tree_ids: Sequence[str], *, photos: Sequence[str], tags: Sequence[str],
                locations: Sequence[str]) -> _Batch:
    shards = planting_repo.tree_shards(connection, tree_ids)
    heads = lock_heads(connection, CONFIRMATIONS_CHAIN, sorted(set(shards.values()))) if shards else {}
    trees = planting_repo.load_trees(connection, shards, lock=True)
    return _Batch(connection, catalog, tz, now, heads, trees, planting_repo.open_orders(connection, shards),
                  planting_repo.holders(connection, shards),
                  planting_repo.used_keys(connection, photos=photos, tags=tags, locations=locations))


def confirm_in_tx(connection: Connection, catalog: PlantingCatalog, *, tz: ZoneInfo, now: datetime,
                  reports: Sequence[PlantingReport], savepoints: bool) -> list[Outcome]:
    """Record ``reports`` in order on the caller's connection; see the module docstring."""
    tags = [key for r in reports if r.tag is not None and (key := _quietly(lambda r=r: normalize_tag(r.tag)))]
    locations = [key for r in reports if (key := _quietly(lambda r=r: report_location_key(r, tz=tz)))]
    batch = _open_batch(connection, catalog, tz, now, [r.tree_id for r in reports],
                        photos=[r.photo_sha256 for r in reports if isinstance(r.photo_sha256, str)],
                        tags=tags, locations=locations)
    outcomes, changed = [], False
    for report in reports:
        if not savepoints:
            outcomes.append(_confirm_one(batch, report))
            changed = True
            continue
        try:
            with connection.begin_nested():
                outcome = _confirm_one(batch, report, apply=False)
        except GreenEnergyError as error:
            outcomes.append(Outcome(report.tree_id, error=error))
        except IntegrityError as error:
            outcomes.append(Outcome(report.tree_id, error=_duplicate(error)))
        else:
            _apply(batch, report, outcome)
            outcomes.append(outcome)
            changed = True
    if changed:
        store_heads(connection, CONFIRMATIONS_CHAIN, batch.heads)
    return outcomes


@dataclass(frozen=True)
class _Planted(Outcome):
    tree: TreeState | None = None
    head: tuple[int, str] | None = None
    keys: tuple[str, str | None, str | None] = ("", None, None)


def _apply(batch: _Batch, report: PlantingReport, outcome: Outcome) -> None:
    """Remember a committed row's effects so the next rows of the batch see them."""
    assert isinstance(outcome, _Planted) and outcome.tree is not None and outcome.head is not None
    batch.trees[outcome.tree.tree_id] = outcome.tree
    batch.heads[outcome.tree.shard] = outcome.head
    batch.orders.pop(outcome.tree.tree_id, None)
    photo, tag, location = outcome.keys
    batch.used.photos.add(photo)
    if tag is not None:
        batch.used.tags.add(tag)
    if location is not None:
        batch.used.locations.add(location)


def _confirm_one(batch: _Batch, report: PlantingReport, *, apply: bool = True) -> Outcome:
    tree = batch.trees.get(report.tree_id)
    if tree is None:
        raise _tree_not_found(report.tree_id)
    plot = batch.catalog.get_plot(tree.plot_id)
    order = batch.orders.get(tree.tree_id)
    tag = _quietly(lambda: normalize_tag(report.tag)) if report.tag is not None else None
    location = _quietly(lambda: report_location_key(report, tz=batch.tz))
    facts = OrderFacts(order_id=order.order_id if order else "", tree_id=tree.tree_id, plot_id=tree.plot_id,
                       species_id=tree.species_id, ordered_at=order.ordered_at if order else tree.redeemed_at,
                       tree_status=TreeStatus(tree.status))
    event = check_planting(facts, report, plot, batch.now, seen_photo=report.photo_sha256 in batch.used.photos,
                           seen_tag=tag in batch.used.tags, seen_point_and_date=location in batch.used.locations)
    if order is None:  # a tree awaiting a tree always has its open order; guard the invariant anyway
        raise Conflict(f"tree {tree.tree_id} has no open planting order", code="no_open_order")
    planted_at = ensure_utc(report.planted_at)
    planting_no = tree.plantings + 1
    status = next_status(tree.status, event)
    seq, prev_hash = batch.heads[tree.shard]
    record = ConfirmationChainRecord(
        id=new_id(), shard=tree.shard, seq=seq + 1, kind="planting", tree_id=tree.tree_id,
        partner_id=report.partner_id, plot_id=plot.plot_id, species_id=tree.species_id, occurred_at=planted_at,
        photo_sha256=report.photo_sha256, latitude=coordinate_text(report.latitude),
        longitude=coordinate_text(report.longitude), tag=tag, alive=None, planting_no=planting_no,
        recorded_at=batch.now, prev_hash=prev_hash,
    )
    record_hash = record.record_hash()
    record = replace(record, hash=sha256_hex(record.canonical_bytes()))
    connection = batch.connection
    planting_repo.insert_confirmation(connection, record, location_key=location, order_id=order.order_id)
    planting_repo.update_tree(connection, tree, status=status.value, plantings=planting_no, last_planted_at=planted_at)
    planting_repo.append_event(connection, tree_id=tree.tree_id, seq=tree.version, event=event.value,
                               status=status.value, occurred_at=planted_at, recorded_at=batch.now,
                               order_id=order.order_id, confirmation_id=record.id)
    planting_repo.mark_order_planted(connection, order.order_id, confirmation_id=record.id, planted_at=planted_at)
    numbers = planting_certificates.issue_in_tx(
        connection, tree=tree, holders=batch.holders.get(tree.tree_id, []), confirmation_id=record.id,
        confirmation_hash=record_hash, planted_at=planted_at, planting_no=planting_no, now=batch.now, tz=batch.tz)
    outcome = _Planted(
        tree_id=tree.tree_id, status=status.value, confirmation_id=record.id, certificate_nos=tuple(numbers),
        tree=replace(tree, status=status.value, plantings=planting_no, last_planted_at=planted_at,
                     version=tree.version + 1),
        head=(record.seq, record.hash), keys=(report.photo_sha256, tag, location),
    )
    if apply:
        _apply(batch, report, outcome)
    return outcome


@dataclass(frozen=True)
class SurvivalOutcome:
    tree_id: str
    event: str
    status: str
    confirmation_id: str
    replanting_order_id: str | None
    replanting_deadline: datetime | None


def survival_in_tx(connection: Connection, catalog: PlantingCatalog, *, tz: ZoneInfo, now: datetime,
                   report: SurvivalReport) -> SurvivalOutcome:
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
        id=new_id(), shard=tree.shard, seq=seq + 1, kind="survival", tree_id=tree.tree_id,
        partner_id=report.partner_id, plot_id=plot.plot_id, species_id=tree.species_id, occurred_at=checked_at,
        photo_sha256=photo, latitude=None, longitude=None, tag=None, alive=bool(report.alive), planting_no=None,
        recorded_at=now, prev_hash=prev_hash,
    )
    record = replace(record, hash=sha256_hex(record.canonical_bytes()))
    planting_repo.insert_confirmation(connection, record, location_key=None, order_id=None)
    planting_repo.update_tree(connection, tree, status=status.value)
    order_id = due = None
    if event is TreeEvent.SURVIVAL_DEAD:
        # The replacement is ordered from the moment the tree was found dead, in the same
        # plot and place (occupancy unchanged), at the partner's charge: no ledger entry.
        order_id, due = new_id(), deadline(checked_at, plot, tz=tz)
        planting_repo.insert_order(
            connection, order_id=order_id, tree_id=tree.tree_id, planting_no=tree.plantings + 1,
            partner_id=tree.partner_id, plot_id=tree.plot_id, species_id=tree.species_id, ordered_at=checked_at,
            deadline=due, status="pending", overdue_at=None, planted_at=None, confirmation_id=None,
        )
    planting_repo.append_event(connection, tree_id=tree.tree_id, seq=tree.version, event=event.value,
                               status=status.value, occurred_at=checked_at, recorded_at=now, order_id=order_id,
                               confirmation_id=record.id)
    store_heads(connection, CONFIRMATIONS_CHAIN, {tree.shard: (record.seq, record.hash)})
    return SurvivalOutcome(tree.tree_id, event.value, status.value, record.id, order_id, due)


def duplicate_error(error: IntegrityError) -> GreenEnergyError:
    """Public for the services that commit one confirmation: map a lost unique-key race."""
    return _duplicate(error)
