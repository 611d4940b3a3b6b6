"""Recording partners' planting confirmations and survival checks, one commit each (a bulk
chunk: one commit for its rows).

Load -> decide -> store (``planting_reports_repo.load_reports``,
``planting.reports.decide_confirmations`` / ``decide_survival``, ``store_*``). Every
confirmation and survival check is appended to the ``confirmations`` hash chain of the shard
of the tree's owner; the photo hash, the normalized tag and the location key are stored
under unique constraints in the same commit (DESIGN invariant 5).

A racing commit may take a photo, tag or point after this one read the used keys (possible
on PostgreSQL, whose READ COMMITTED readers do not lock the keys they look up). One report:
its unique violation makes ``in_write_tx`` run it again, and the fresh load refuses it with
the specific code (``duplicate_photo`` ...). A bulk chunk writes its accepted rows inside a
SAVEPOINT; if one lost such a race, the savepoint rolls back and the chunk is decided again
one report at a time, each written in its own SAVEPOINT: only the rows that lost the race
are refused, every valid row is kept.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from greenenergy.db import planting_reports_repo
from greenenergy.db.engine import Tx
from greenenergy.planting import PlantingCatalog, PlantingReport, SurvivalReport
from greenenergy.planting.reports import (
    Outcome,
    ReportsLoaded,
    SurvivalOutcome,
    decide_confirmations,
    decide_survival,
    report_keys,
)

__all__ = ["Outcome", "SurvivalOutcome", "confirm_chunk", "confirm_one", "record_survival"]


def _ids(count: int) -> list[str]:
    return [uuid.uuid4().hex for _ in range(count)]


def _load(connection: Tx, reports: Sequence[PlantingReport], tz: ZoneInfo) -> ReportsLoaded:
    photos, tags, locations = report_keys(reports, tz)
    return planting_reports_repo.load_reports(
        connection, [r.tree_id for r in reports], photos=photos, tags=tags, locations=locations
    )


def confirm_one(
    connection: Tx, catalog: PlantingCatalog, *, tz: ZoneInfo, now: datetime, report: PlantingReport
) -> Outcome:
    """One confirmation on the caller's connection; raises the specific refusal."""
    decided = decide_confirmations(
        catalog, _load(connection, [report], tz), [report], now=now, tz=tz, confirmation_ids=_ids(1), keep_going=False
    )
    planting_reports_repo.store_confirmations(connection, decided)
    return decided.outcomes[0]


def confirm_chunk(
    connection: Tx, catalog: PlantingCatalog, *, tz: ZoneInfo, now: datetime, reports: Sequence[PlantingReport]
) -> list[Outcome]:
    """The reports of one bulk chunk, in order, on the caller's connection: one outcome per
    report, refused ones with their error (module docstring)."""
    ids = _ids(len(reports))
    decided = decide_confirmations(
        catalog, _load(connection, reports, tz), reports, now=now, tz=tz, confirmation_ids=ids, keep_going=True
    )
    if planting_reports_repo.store_confirmations(connection, decided, savepoint=True) is None:
        return decided.outcomes
    loaded = _load(connection, reports, tz)
    outcomes = []
    for report, confirmation_id in zip(reports, ids, strict=True):
        one = decide_confirmations(
            catalog, loaded, [report], now=now, tz=tz, confirmation_ids=[confirmation_id], keep_going=True
        )
        lost = planting_reports_repo.store_confirmations(connection, one, savepoint=True)
        if lost is not None:
            outcomes.append(Outcome(report.tree_id, error=lost))
            continue
        loaded = one.after
        outcomes.append(one.outcomes[0])
    return outcomes


def record_survival(
    connection: Tx, catalog: PlantingCatalog, *, tz: ZoneInfo, now: datetime, report: SurvivalReport
) -> SurvivalOutcome:
    """One survival check on the caller's connection: alive keeps the tree; dead orders a
    free replacement in its plot."""
    photos = [report.photo_sha256] if isinstance(report.photo_sha256, str) else []
    loaded = planting_reports_repo.load_reports(connection, [report.tree_id], photos=photos)
    confirmation_id, order_id = _ids(2)
    checked = decide_survival(
        catalog, loaded, report, now=now, tz=tz, confirmation_id=confirmation_id, order_id=order_id
    )
    planting_reports_repo.store_survival(connection, checked)
    return checked.outcome
