"""Ingesting green events from a business unit (direct mode).

One call takes a batch (up to 10,000 events) from one source and answers one result per
event, in request order: ``accepted`` (with the grams, the rule version and the mint
transaction), ``duplicate`` (the first result of that (source, event_id), nothing changes)
or ``rejected`` with a reason. Everything accepted -- event rows (hash-chained per shard),
their mint transactions (mint:<rule> -> user:<id>:pending), their energy balls, cap usage
and running totals -- is written in ONE commit: a crash leaves the whole batch or nothing.

Checks, in order: ``type_not_allowed`` (the source's token), ``unknown_type``,
``in_future`` (more than 5 minutes ahead), ``too_late`` (more than 7 days old),
``invalid_data`` (the fields of the rule version in force), ``implausible`` (a day's
steps above ``max_daily_steps``, or more than ``max_events_per_hour`` events of one type
for one user in one UTC clock hour), ``user_blocked``. A duplicate is recognised before
any check, so re-sending an old accepted event returns its first result.

Concurrency: duplicates are looked up first, without locks; then the batch locks the
``events`` chain heads of its users' shards; all of a user's scoring state lives in the
user's shard, so two batches touching one user run one after the other, and batches of
different shards run side by side (PostgreSQL). A batch that loses a race to commit the
same (source, event_id) fails on the primary key and is retried, and then answers
duplicates.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from greenenergy.audit.records import data_json, event_canonical_bytes
from greenenergy.clock import ensure_utc
from greenenergy.db import balls_repo, events_repo
from greenenergy.db.bulk import db_instant
from greenenergy.db.chains import lock_heads, store_heads
from greenenergy.db.engine import read_tx, write_tx
from greenenergy.db.ledger_repo import post_mints
from greenenergy.errors import GreenEnergyError, InvalidInput, NotFound, TooLarge
from greenenergy.forest import Ball, event_ball_id, join, new_event_ball
from greenenergy.forest.balls import RipeningMemo
from greenenergy.ids import is_valid_id
from greenenergy.ledger import Mint
from greenenergy.ledger.chain import format_instant, sha256_hex
from greenenergy.scoring import EventIn, RuleBook, ScoringState, score
from greenenergy.services.catalogs import rulebook as load_rulebook
from greenenergy.services.runtime import Runtime
from greenenergy.units import shard_of

MAX_BATCH = 10_000
FUTURE_SKEW = timedelta(minutes=5)
MAX_AGE = timedelta(days=7)
STEPS_TYPE = "walking.steps"
RETRIES_ON_RACE = 2


@dataclass(frozen=True, slots=True)
class IncomingEvent:
    event_id: str
    event_type: str
    user_id: str
    occurred_at: datetime
    data: dict[str, Any]


@dataclass(slots=True)
class EventResult:
    event_id: str
    status: str  # accepted | duplicate | rejected
    energy_g: int | None = None
    rule: str | None = None
    transaction_id: str | None = None
    reason: str | None = None
    message: str | None = None
    explanation: str | None = None
    ball_id: str | None = None
    details: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "event_id": self.event_id,
            "status": self.status,
            "energy_g": self.energy_g,
            "rule": self.rule,
            "transaction_id": self.transaction_id,
            "reason": self.reason,
        }
        if self.message is not None:
            out["message"] = self.message
        if self.details:
            out["details"] = self.details
        if self.explanation is not None:
            out["explanation"] = self.explanation
        return out


@dataclass
class IngestSummary:
    results: list[EventResult] = field(default_factory=list)

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
    for attempt in range(RETRIES_ON_RACE + 1):
        try:
            return _ingest_once(runtime, rules, source_id, events, allowed_types)
        except IntegrityError:
            # Another request stored one of these (source, event_id) at the same moment (a
            # different shard, so no head lock was shared); on retry it is a duplicate.
            if attempt == RETRIES_ON_RACE:
                raise
    raise AssertionError("unreachable")


@dataclass(slots=True)
class _Candidate:
    index: int
    incoming: IncomingEvent
    occurred_at: datetime  # UTC
    data: dict[str, Any]  # validated, typed
    shard: int  # shard_of(user_id), computed once


def _precheck(
    runtime: Runtime, rules: RuleBook, events: Sequence[IncomingEvent], allowed: frozenset[str] | None, now: datetime
) -> tuple[list[EventResult | None], list[_Candidate]]:
    """Checks that need no database; returns results so far (None = still a candidate)."""
    results: list[EventResult | None] = [None] * len(events)
    candidates: list[_Candidate] = []
    max_steps = runtime.settings.max_daily_steps
    for index, event in enumerate(events):
        rejection = _check_one(rules, event, allowed, now, max_steps)
        if isinstance(rejection, EventResult):
            results[index] = rejection
            continue
        occurred_at, data = rejection
        candidates.append(_Candidate(index, event, occurred_at, data, shard_of(event.user_id)))
    return results, candidates


def _check_one(
    rules: RuleBook, event: IncomingEvent, allowed: frozenset[str] | None, now: datetime, max_steps: int
) -> EventResult | tuple[datetime, dict[str, Any]]:
    """The rejection of one event, or its UTC time and typed data."""

    def reject(reason: str, message: str, details: dict[str, Any] | None = None) -> EventResult:
        return EventResult(event.event_id, "rejected", reason=reason, message=message, details=details or None)

    if allowed is not None and event.event_type not in allowed:
        return reject("type_not_allowed", f"this source may not emit {event.event_type!r} events")
    if event.event_type not in rules.by_type:
        return reject("unknown_type", f"no rule scores event type {event.event_type!r}")
    occurred_at = ensure_utc(event.occurred_at, what="occurred_at")
    if occurred_at > now + FUTURE_SKEW:
        return reject("in_future", f"occurred_at {occurred_at.isoformat()} is more than 5 minutes in the future")
    if occurred_at < now - MAX_AGE:
        return reject("too_late", f"occurred_at {occurred_at.isoformat()} is more than 7 days old")
    try:
        data = rules.validate(event.event_type, occurred_at, event.data)
    except GreenEnergyError as error:
        return reject(error.code, error.message, dict(error.details))
    if event.event_type == STEPS_TYPE and int(data.get("steps", 0)) > max_steps:
        return reject(
            "implausible", f"{data['steps']} steps in a day is above the plausible {max_steps}", {"field": "steps"}
        )
    return occurred_at, data


def _ingest_once(
    runtime: Runtime,
    rules: RuleBook,
    source_id: str,
    events: Sequence[IncomingEvent],
    allowed: frozenset[str] | None,
) -> IngestSummary:
    now = runtime.clock.now()
    tz = runtime.settings.zone
    results, candidates = _precheck(runtime, rules, events, allowed, now)

    # A repeated event_id inside the request is a duplicate of its first occurrence.
    first_index: dict[str, int] = {}
    repeats: dict[int, int] = {}
    for index, event in enumerate(events):
        if event.event_id in first_index:
            repeats[index] = first_index[event.event_id]
        else:
            first_index[event.event_id] = index
    candidates = [c for c in candidates if c.index not in repeats]

    # Duplicates are found before the write lock: a duplicate committed by a concurrent
    # batch after this read makes our insert violate the primary key, and the whole batch
    # is retried (see ``ingest``), so the lock need not cover this read.
    with read_tx(runtime.engine) as connection:
        stored = events_repo.stored_results(connection, source_id, list(first_index))
    for event_id, row in stored.items():
        index = first_index[event_id]
        results[index] = EventResult(
            event_id,
            "duplicate",
            energy_g=int(row.energy_g),
            rule=row.rule_ref,
            transaction_id=row.transaction_id,
            explanation=row.explanation,
            ball_id=row.ball_id,
        )
    candidates = [c for c in candidates if c.incoming.event_id not in stored]

    with write_tx(runtime.engine) as connection:
        shards = sorted({c.shard for c in candidates})
        heads = lock_heads(connection, events_repo.EVENTS_CHAIN, shards) if shards else {}
        candidates = _apply_store_checks(runtime, connection, candidates, results)

        scored = _score(connection, rules, candidates)
        plan = _plan_balls(connection, source_id, scored, now, tz)
        tx_ids = post_mints(connection, plan.mints, now=now)
        tx_by_index = dict(zip(plan.mint_indexes, tx_ids, strict=True))
        rows, accepted = _event_rows(source_id, scored, plan.ball_ids, tx_by_index, heads, now, connection)
        events_repo.insert_event_rows(connection, rows)
        balls_repo.insert_balls(connection, plan.new_balls, now=now)
        balls_repo.save_balls(connection, plan.joined_balls)
        # The state's plain rows (documented in scoring.state), not dirty_usage()'s named
        # tuples: this runs for every cap row a batch touches.
        state = scored.state
        events_repo.save_usage(connection, {k: state.usage_rows[k][:2] for k in state.dirty_usage_list})
        events_repo.save_running(connection, {k: state.running_rows[k][0] for k in state.dirty_running_list})
        if rows:
            store_heads(connection, events_repo.EVENTS_CHAIN, {s: heads[s] for s in {row[2] for row in rows}})
        rejected = {
            r.event_id: (r.event_id, r.reason, r.message, r.details)
            for r in results
            if r is not None and r.status == "rejected"
        }
        events_repo.save_rejections(connection, source_id, list(rejected.values()), now)

    for index, result in accepted:
        results[index] = result
    for index, first in repeats.items():
        original = results[first]
        assert original is not None
        status = "duplicate" if original.status in ("accepted", "duplicate") else original.status
        results[index] = EventResult(
            events[index].event_id,
            status,
            energy_g=original.energy_g,
            rule=original.rule,
            transaction_id=original.transaction_id,
            reason=original.reason,
            message=original.message,
            explanation=original.explanation,
            ball_id=original.ball_id,
            details=original.details,
        )
    return IngestSummary([r for r in results if r is not None])


def _apply_store_checks(
    runtime: Runtime, connection, candidates: list[_Candidate], results: list[EventResult | None]
) -> list[_Candidate]:
    """Blocked users and bursts: checks that read stored events."""
    if not candidates:
        return candidates
    users = [c.incoming.user_id for c in candidates]
    blocked = events_repo.blocked_users(connection, users)
    limit = runtime.settings.max_events_per_hour
    hours = [c.occurred_at.replace(minute=0, second=0, microsecond=0) for c in candidates]
    wanted = {(c.incoming.user_id, c.incoming.event_type, hour) for c, hour in zip(candidates, hours, strict=True)}
    counts = events_repo.hourly_counts(connection, sorted(wanted))
    kept = []
    for candidate, hour in zip(candidates, hours, strict=True):
        event = candidate.incoming
        if event.user_id in blocked:
            results[candidate.index] = EventResult(
                event.event_id,
                "rejected",
                reason="user_blocked",
                message=f"user {event.user_id} is blocked by an operator",
            )
            continue
        key = (event.user_id, event.event_type, hour)
        if counts.get(key, 0) >= limit:
            results[candidate.index] = EventResult(
                event.event_id,
                "rejected",
                reason="implausible",
                message=f"more than {limit} {event.event_type} events for user {event.user_id} within one hour",
            )
            continue
        counts[key] = counts.get(key, 0) + 1
        kept.append(candidate)
    return kept


@dataclass
class _Scored:
    state: ScoringState
    items: list[tuple[_Candidate, Any]]  # (candidate, Score)


def _score(connection, rules: RuleBook, candidates: list[_Candidate]) -> _Scored:
    """Score in occurred_at order (ties: request order), with the stored caps loaded."""
    state = ScoringState()
    ordered = sorted(candidates, key=lambda c: (c.occurred_at, c.index))
    inputs = [EventIn(c.incoming.user_id, c.incoming.event_type, c.occurred_at, c.data) for c in ordered]
    if inputs:
        usage_keys, running_keys = state.keys_for(rules, inputs)
        if usage_keys:
            state.load_usage(events_repo.load_usage(connection, usage_keys))
        if running_keys:
            state.load_running(events_repo.load_running(connection, running_keys))
    items = [(candidate, score(rules, event, state)) for candidate, event in zip(ordered, inputs, strict=True)]
    return _Scored(state, items)


@dataclass(slots=True)
class _BallPlan:
    """Where each scored event's grams go: its ball, and the mint transactions to post."""

    ball_ids: dict[int, str]  # candidate index -> ball id, for events worth > 0 g
    mints: list[Mint]
    mint_indexes: list[int]  # the candidate index of each mint
    new_balls: list[Ball]
    joined_balls: list[Ball]


_RIPENING_MEMOS: dict[object, RipeningMemo] = {}


def _ripening_memo(tz) -> RipeningMemo:
    """One memo per zone, kept across batches (bounded: renewed past 100,000 buckets, ~3 years)."""
    memo = _RIPENING_MEMOS.get(tz)
    if memo is None or len(memo) > 100_000:
        memo = _RIPENING_MEMOS[tz] = RipeningMemo(tz)
    return memo


def _plan_balls(connection, source_id: str, scored: _Scored, now: datetime, tz) -> _BallPlan:
    """The balls the events fill and their mints (mint:<rule> -> user:<id>:pending).

    Events of one user and type that ripen together share one ball; a new ball is built
    once with the sum of its events' grams (``new_event_ball`` checks its invariants), an
    existing one (from an earlier batch, still waiting) takes them through ``join``.
    """
    ripening_of = _ripening_memo(tz)
    ball_ids: dict[int, str] = {}
    keyed: list[tuple[_Candidate, Any, str]] = []
    for candidate, result in scored.items:
        if result.energy_g > 0:
            event = candidate.incoming
            ball_id = event_ball_id(
                user_id=event.user_id,
                event_type=event.event_type,
                ripening=ripening_of(candidate.occurred_at),
                ingested_at=now,
                event_ref=f"{source_id}/{event.event_id}",
            )
            ball_ids[candidate.index] = ball_id
            keyed.append((candidate, result, ball_id))
    existing = balls_repo.lock_balls(connection, ball_ids.values())
    joined: dict[str, Ball] = dict(existing)
    fresh: dict[str, tuple[_Candidate, int]] = {}  # ball id -> (first event, grams so far)
    mints: list[Mint] = []
    mint_indexes: list[int] = []
    for candidate, result, ball_id in keyed:
        event = candidate.incoming
        ball = joined.get(ball_id)
        if ball is not None:
            joined[ball_id] = join(
                ball, energy_g=result.energy_g, occurred_at=candidate.occurred_at, ingested_at=now, tz=tz
            )
        else:
            first, grams = fresh.get(ball_id, (candidate, 0))
            fresh[ball_id] = (first, grams + result.energy_g)
        mints.append(
            Mint(
                event.user_id,
                candidate.shard,
                result.rule_id,
                result.energy_g,
                f"{source_id}/{event.event_id}",
                result.rule_ref,
                ball_id,
            )
        )
        mint_indexes.append(candidate.index)
    new_balls = [
        new_event_ball(
            ball_id=ball_id,
            user_id=first.incoming.user_id,
            event_type=first.incoming.event_type,
            energy_g=grams,
            occurred_at=first.occurred_at,
            ingested_at=now,
            tz=tz,
        )
        for ball_id, (first, grams) in sorted(fresh.items())
    ]
    return _BallPlan(ball_ids, mints, mint_indexes, new_balls, [joined[b] for b in sorted(existing)])


def _event_rows(
    source_id: str,
    scored: _Scored,
    ball_ids: dict[int, str],
    tx_by_index: dict[int, str],
    heads,
    now: datetime,
    connection,
) -> tuple[list[tuple], list[tuple[int, EventResult]]]:
    """Chained event rows (``events_repo.EVENT_COLUMNS`` order), advancing ``heads`` in place,
    and the (request index, result) of each accepted event.

    Events are appended to their shard's chain in scoring order (occurred_at, then request
    order); each row's hash covers its canonical bytes (audit.records) with the award.
    """
    sqlite = connection.dialect.name == "sqlite"
    ingested_text = format_instant(now)
    stored_now = db_instant(connection, now)
    rows: list[tuple] = []
    accepted: list[tuple[int, EventResult]] = []
    for candidate, result in scored.items:
        event = candidate.incoming
        index = candidate.index
        shard = candidate.shard
        seq, prev_hash = heads[shard]
        seq += 1
        ball_id = ball_ids.get(index)
        transaction_id = tx_by_index.get(index)
        data_text = data_json(candidate.data)
        explanation = result.explanation[:300]
        # One C-level isoformat gives both the hashed form (format_instant) and SQLite's
        # stored form (db.bulk.sqlite_instant) of the UTC occurred_at.
        iso = candidate.occurred_at.isoformat(" ", "microseconds")
        digest = sha256_hex(
            event_canonical_bytes(
                source_id=source_id,
                event_id=event.event_id,
                user_id=event.user_id,
                event_type=event.event_type,
                occurred_text=iso[:10] + "T" + iso[11:26] + "Z",
                ingested_text=ingested_text,
                data_text=data_text,
                energy_g=result.energy_g,
                rule_ref=result.rule_ref,
                explanation=explanation,
                transaction_id=transaction_id,
                ball_id=ball_id,
                shard=shard,
                seq=seq,
                prev_hash=prev_hash,
            )
        )
        heads[shard] = (seq, digest)
        rows.append(
            (
                source_id,
                event.event_id,
                shard,
                seq,
                event.user_id,
                event.event_type,
                iso[:26] if sqlite else candidate.occurred_at,
                stored_now,
                data_text,
                result.energy_g,
                result.rule_ref,
                explanation,
                transaction_id,
                ball_id,
                prev_hash,
                digest,
            )
        )
        accepted.append(
            (
                index,
                EventResult(
                    event.event_id,
                    "accepted",
                    result.energy_g,
                    result.rule_ref,
                    transaction_id,
                    explanation=explanation,
                    ball_id=ball_id,
                ),
            )
        )
    return rows, accepted


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
