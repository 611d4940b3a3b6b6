"""Partners' reports decided on values: planting confirmations (one or a batch) and survival
checks.

The shell loads, under lock, the trees the reports name, their open orders and holders,
the heads of the ``confirmations`` chains of their shards, and which of the reports' photo
hashes, tags and location keys a stored confirmation already used (``ReportsLoaded``). The
decisions check each report with the core's rules (``check_planting`` / ``check_survival``)
and return every row to write: the chained confirmation record, the tree's new status, its
history event, the order closed (or, for a dead tree, the replanting order opened), the
certificates issued, the new chain heads. No ledger transaction: planting moves no energy.

``decide_confirmations`` checks reports in order, each against the state the accepted ones
before it left (``ReportsLoaded.after``), so a photo, tag, point or tree used twice within
one batch is refused the second time. ``keep_going`` False raises the first refusal (one
confirmation); True reports it as that report's outcome and goes on (a bulk chunk).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from greenenergy.clock import ensure_utc
from greenenergy.errors import Conflict, GreenEnergyError, NotFound
from greenenergy.planting.canonical import coordinate_text
from greenenergy.planting.catalog import PlantingCatalog
from greenenergy.planting.certificates import Certificate, issue_certificates
from greenenergy.planting.confirmation import (
    OrderFacts,
    PlantingReport,
    SurvivalReport,
    check_planting,
    check_survival,
    normalize_tag,
    report_location_key,
)
from greenenergy.planting.deadlines import deadline
from greenenergy.planting.errors import DuplicatePhoto
from greenenergy.planting.records import ConfirmationChainRecord, Holder, OrderState, TreeEventRecord, TreeState
from greenenergy.planting.status import TreeEvent, TreeStatus, next_status

Heads = dict[int, tuple[int, str]]


@dataclass(frozen=True, slots=True)
class UsedKeys:
    """Photo hashes, normalized tags and location keys already used by a confirmation."""

    photos: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    locations: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ReportsLoaded:
    heads: Mapping[int, tuple[int, str]]  # confirmations chain heads of the trees' shards
    trees: Mapping[str, TreeState]
    orders: Mapping[str, OrderState]  # the open order of each tree that has one
    holders: Mapping[str, Sequence[Holder]]
    used: UsedKeys = field(default_factory=UsedKeys)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one confirmation: the certificates issued, or the refusal."""

    tree_id: str
    status: str | None = None
    confirmation_id: str | None = None
    certificate_nos: tuple[str, ...] = ()
    error: GreenEnergyError | None = None


@dataclass(frozen=True, slots=True)
class Confirmed:
    """Everything one accepted confirmation writes."""

    outcome: Outcome
    old_tree: TreeState  # as read: its version guards the update
    tree: TreeState
    record: ConfirmationChainRecord
    location: str | None
    tag: str | None
    order_id: str
    event: TreeEventRecord
    certificates: tuple[Certificate, ...]


@dataclass(frozen=True, slots=True)
class Confirmations:
    """A batch decided: one outcome per report, the accepted ones' rows, the new heads, and
    the state they leave (to decide further reports against)."""

    outcomes: list[Outcome]
    accepted: list[Confirmed]
    heads: Heads
    after: ReportsLoaded


def tree_not_found(tree_id: str) -> NotFound:
    return NotFound(f"no tree {tree_id!r}; GET /v1/partners/{{partner_id}}/orders lists yours", code="tree_not_found")


def quietly(make: Callable[[], str]) -> str | None:
    """A lookup key, or None when the input is malformed (the core then names the problem)."""
    try:
        return make()
    except (GreenEnergyError, ValueError, TypeError, AttributeError):
        return None


def report_keys(reports: Sequence[PlantingReport], tz: ZoneInfo) -> tuple[list[str], list[str], list[str]]:
    """The photo hashes, normalized tags and location keys ``reports`` would use (what the
    shell looks up before deciding)."""
    photos = [r.photo_sha256 for r in reports if isinstance(r.photo_sha256, str)]
    tags = [key for r in reports if r.tag is not None and (key := quietly(lambda r=r: normalize_tag(r.tag)))]
    locations = [key for r in reports if (key := quietly(lambda r=r: report_location_key(r, tz=tz)))]
    return photos, tags, locations


def decide_confirmations(
    catalog: PlantingCatalog,
    loaded: ReportsLoaded,
    reports: Sequence[PlantingReport],
    *,
    now: datetime,
    tz: ZoneInfo,
    confirmation_ids: Sequence[str],
    keep_going: bool,
) -> Confirmations:
    """Check ``reports`` in order (module docstring); ``confirmation_ids``: one per report."""
    if len(confirmation_ids) < len(reports):
        raise ValueError(f"{len(reports)} reports need as many confirmation ids, got {len(confirmation_ids)}")
    state = _Working.of(loaded)
    outcomes: list[Outcome] = []
    accepted: list[Confirmed] = []
    for report, confirmation_id in zip(reports, confirmation_ids, strict=False):
        try:
            confirmed = _confirm_one(catalog, state, report, now=now, tz=tz, confirmation_id=confirmation_id)
        except GreenEnergyError as error:
            if not keep_going:
                raise
            outcomes.append(Outcome(report.tree_id, error=error))
            continue
        state.apply(confirmed)
        accepted.append(confirmed)
        outcomes.append(confirmed.outcome)
    return Confirmations(outcomes, accepted, state.new_heads, state.frozen())


@dataclass
class _Working:
    """The loaded state as the accepted reports of a batch change it."""

    heads: Heads
    trees: dict[str, TreeState]
    orders: dict[str, OrderState]
    holders: Mapping[str, Sequence[Holder]]
    photos: set[str]
    tags: set[str]
    locations: set[str]
    new_heads: Heads = field(default_factory=dict)

    @classmethod
    def of(cls, loaded: ReportsLoaded) -> _Working:
        return cls(
            dict(loaded.heads), dict(loaded.trees), dict(loaded.orders), loaded.holders,
            set(loaded.used.photos), set(loaded.used.tags), set(loaded.used.locations),
        )  # fmt: skip

    def apply(self, confirmed: Confirmed) -> None:
        tree, record = confirmed.tree, confirmed.record
        self.trees[tree.tree_id] = tree
        self.heads[tree.shard] = self.new_heads[tree.shard] = (record.seq, record.hash)
        self.orders.pop(tree.tree_id, None)
        self.photos.add(record.photo_sha256)
        if confirmed.tag is not None:
            self.tags.add(confirmed.tag)
        if confirmed.location is not None:
            self.locations.add(confirmed.location)

    def frozen(self) -> ReportsLoaded:
        used = UsedKeys(frozenset(self.photos), frozenset(self.tags), frozenset(self.locations))
        return ReportsLoaded(dict(self.heads), dict(self.trees), dict(self.orders), self.holders, used)


def _confirm_one(
    catalog: PlantingCatalog, state: _Working, report: PlantingReport, *, now: datetime, tz: ZoneInfo,
    confirmation_id: str,
) -> Confirmed:  # fmt: skip
    """Check one report and build its rows; raises the specific refusal."""
    tree = state.trees.get(report.tree_id)
    if tree is None:
        raise tree_not_found(report.tree_id)
    plot = catalog.get_plot(tree.plot_id)
    order = state.orders.get(tree.tree_id)
    tag = quietly(lambda: normalize_tag(report.tag)) if report.tag is not None else None
    location = quietly(lambda: report_location_key(report, tz=tz))
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
        now,
        seen_photo=report.photo_sha256 in state.photos,
        seen_tag=tag in state.tags,
        seen_point_and_date=location in state.locations,
    )
    if order is None:  # a tree awaiting a tree always has its open order; guard the invariant anyway
        raise Conflict(f"tree {tree.tree_id} has no open planting order", code="no_open_order")
    planted_at = ensure_utc(report.planted_at)
    planting_no = tree.plantings + 1
    status = next_status(tree.status, event)
    seq, prev_hash = state.heads[tree.shard]
    record = ConfirmationChainRecord(
        id=confirmation_id,
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
        recorded_at=now,
        prev_hash=prev_hash,
    )
    record_hash = record.record_hash()
    record = record.sealed()
    certificates = issue_certificates(
        tree,
        state.holders.get(tree.tree_id, ()),
        confirmation_id=record.id,
        confirmation_hash=record_hash,
        planted_at=planted_at,
        planting_no=planting_no,
        now=now,
        tz=tz,
    )
    return Confirmed(
        outcome=Outcome(
            tree.tree_id,
            status=status.value,
            confirmation_id=record.id,
            certificate_nos=tuple(c.facts.certificate_no for c in certificates),
        ),
        old_tree=tree,
        tree=replace(
            tree, status=status.value, plantings=planting_no, last_planted_at=planted_at, version=tree.version + 1
        ),
        record=record,
        location=location,
        tag=tag,
        order_id=order.order_id,
        event=TreeEventRecord(
            tree.tree_id, tree.version, event.value, status.value, planted_at, now, order.order_id, record.id
        ),
        certificates=tuple(certificates),
    )


@dataclass(frozen=True, slots=True)
class SurvivalOutcome:
    """The answer of a survival check."""

    tree_id: str
    event: str
    status: str
    confirmation_id: str
    replanting_order_id: str | None
    replanting_deadline: datetime | None


@dataclass(frozen=True, slots=True)
class SurvivalChecked:
    """Everything one survival check writes, and its answer."""

    old_tree: TreeState
    tree: TreeState
    record: ConfirmationChainRecord
    event: TreeEventRecord
    replanting: OrderState | None
    heads: Heads
    outcome: SurvivalOutcome


def decide_survival(
    catalog: PlantingCatalog,
    loaded: ReportsLoaded,
    report: SurvivalReport,
    *,
    now: datetime,
    tz: ZoneInfo,
    confirmation_id: str,
    order_id: str,
) -> SurvivalChecked:
    """Record one survival check; a dead tree gets a replanting order in its plot (same place,
    occupancy unchanged), free of energy: no ledger entry. ``order_id`` names that order."""
    tree = loaded.trees.get(report.tree_id)
    if tree is None:
        raise tree_not_found(report.tree_id)
    plot = catalog.get_plot(tree.plot_id)
    event = check_survival(tree.status, tree.last_planted_at or tree.redeemed_at, plot, report, now)
    photo = report.photo_sha256
    if photo in loaded.used.photos:
        raise DuplicatePhoto("this photo already backs a confirmation or survival check; take a new one")
    checked_at = ensure_utc(report.checked_at)
    status = next_status(tree.status, event)
    seq, prev_hash = loaded.heads[tree.shard]
    record = ConfirmationChainRecord(
        id=confirmation_id,
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
    ).sealed()
    replanting = None
    if event is TreeEvent.SURVIVAL_DEAD:
        # Ordered from the moment the tree was found dead, in the same plot, at the partner's charge.
        replanting = OrderState(
            order_id=order_id,
            tree_id=tree.tree_id,
            planting_no=tree.plantings + 1,
            partner_id=tree.partner_id,
            plot_id=tree.plot_id,
            species_id=tree.species_id,
            ordered_at=checked_at,
            deadline=deadline(checked_at, plot, tz=tz),
            status="pending",
            overdue_at=None,
            planted_at=None,
            confirmation_id=None,
        )
    replanting_id = replanting.order_id if replanting else None
    return SurvivalChecked(
        old_tree=tree,
        tree=replace(tree, status=status.value, version=tree.version + 1),
        record=record,
        event=TreeEventRecord(
            tree.tree_id, tree.version, event.value, status.value, checked_at, now, replanting_id, record.id
        ),
        replanting=replanting,
        heads={tree.shard: (record.seq, record.hash)},
        outcome=SurvivalOutcome(
            tree.tree_id,
            event.value,
            status.value,
            record.id,
            replanting_id,
            replanting.deadline if replanting else None,
        ),
    )
