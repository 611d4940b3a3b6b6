"""Ingesting a batch of green events from a business unit (direct mode): load, decide, store.

One call takes up to 10,000 events from one source and answers one result per event, in
request order: ``accepted`` (grams, rule version, the ball holding them), ``duplicate`` (the
first result of that (source, event_id); nothing changes) or ``rejected`` with a reason
(``greenenergy.ingestion`` documents the checks and their order). Everything accepted --
event rows (hash-chained per shard and lane), balls, the users' state rows -- is written in
ONE commit: a crash leaves the whole batch or nothing.

The use case is the shape every write path has: ``ingestion.prepare`` (pure) names the
stored state the batch needs; ``events_repo.load_batch`` reads it under the batch's locks;
``ingestion.decide`` (pure) decides everything; ``events_repo.store_batch`` writes it. The
stream workers call the same four functions.

Concurrency: the batch takes one lane of the events chains (so concurrent batches append
side by side), then locks its users' state rows in user order, and only then looks up which
event ids are stored already: a concurrent request carrying the same (source, event_id) for
the same user has committed by then and is answered ``duplicate`` with its first result,
never written twice and never failed. The one race left -- the same event id sent for two
different users at once -- makes the second commit fail on the primary key; it is run again
(``in_write_tx``) and then answers the duplicate.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from greenenergy.db import events_repo
from greenenergy.db.engine import Tx, in_write_tx, read_tx
from greenenergy.errors import InvalidInput, NotFound, TooLarge
from greenenergy.forest.balls import RipeningMemo
from greenenergy.ids import is_valid_id
from greenenergy.ingestion import Decision, EventResult, IncomingEvent, decide, prepare
from greenenergy.services.catalogs import rulebook as load_rulebook
from greenenergy.services.runtime import Runtime

MAX_BATCH = 10_000


class IngestSummary:
    """The answer to one batch: its results in request order, and their counts."""

    def __init__(self, results: list[EventResult]) -> None:
        self.results = results

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def accepted(self) -> int:
        return self.count("accepted")

    @property
    def duplicates(self) -> int:
        return self.count("duplicate")

    @property
    def rejected(self) -> int:
        return self.count("rejected")


def ingest(
    runtime: Runtime,
    *,
    source_id: str,
    events: Sequence[IncomingEvent],
    allowed_types: frozenset[str] | None = None,
) -> IngestSummary:
    """Ingest one batch from ``source_id``; see the module docstring."""
    if len(events) > MAX_BATCH:
        raise TooLarge(f"a batch holds at most {MAX_BATCH} events; this one has {len(events)}", code="too_many_events")
    if not is_valid_id(source_id):
        raise InvalidInput(f"source id {source_id!r} is not a valid id", code="invalid_id")
    rules = load_rulebook(runtime)
    settings = runtime.settings
    now = runtime.clock.now()
    prepared = prepare(
        rules,
        source_id=source_id,
        events=events,
        now=now,
        ripening_of=ripening_memo(settings.zone),
        allowed=allowed_types,
        max_daily_steps=settings.max_daily_steps,
    )

    def work(connection: Tx) -> Decision:
        loaded = events_repo.load_batch(connection, source_id, prepared.needs)
        decision = decide(rules, prepared, loaded, max_events_per_hour=settings.max_events_per_hour)
        events_repo.store_batch(connection, source_id, decision, now)
        return decision

    return IngestSummary(in_write_tx(runtime.engine, work).results)


_RIPENING_MEMOS: dict[ZoneInfo, RipeningMemo] = {}


def ripening_memo(tz: ZoneInfo) -> RipeningMemo:
    """One memo per zone, kept across batches (renewed past 100,000 buckets, about 3 years)."""
    memo = _RIPENING_MEMOS.get(tz)
    if memo is None or len(memo) > 100_000:
        memo = _RIPENING_MEMOS[tz] = RipeningMemo(tz)
    return memo


def event_result(runtime: Runtime, *, source_id: str, event_id: str) -> EventResult:
    """What a POST answered for one event: its accepted result (the first one), else the
    latest rejection of an event that was never accepted."""
    with read_tx(runtime.engine) as connection:
        row = events_repo.get_event(connection, source_id, event_id)
        rejection = None if row is not None else events_repo.get_rejection(connection, source_id, event_id)
    if row is not None:
        return EventResult(
            row.event_id,
            "accepted",
            energy_g=int(row.energy_g),
            rule=row.rule_ref,
            transaction_id=row.transaction_id,
            explanation=row.explanation,
            ball_id=row.ball_id,
        )
    if rejection is not None:
        details = json.loads(rejection.details) if rejection.details else None
        return EventResult(event_id, "rejected", reason=rejection.reason, message=rejection.message, details=details)
    raise NotFound(f"source {source_id!r} has sent no event {event_id!r}", code="event_not_found")
