"""The pure decision of one ingestion batch: ``prepare`` (what to load), then ``decide``.

Both direct mode (``POST /v1/events``, ``greenenergy ingest``) and the stream workers call
these two functions; the shell only loads what ``Prepared.needs`` names, under the locks that
keep it current, and writes what the ``Decision`` holds, in one commit.

Order of a batch:

1. ``prepare``: every event is checked on its own (``checks.check_event``); a repeated
   ``event_id`` inside the request answers as its first occurrence; each remaining event
   gets its ripening (the first 07:00 local after it) and the id of the ball it fills.
2. ``decide``, with the stored state: an event id stored before answers ``duplicate`` with
   its first result (recognised before any check, so a corrected re-send of an accepted
   event changes nothing); then ``user_blocked`` and the hourly burst (``implausible``); the
   rest is scored in ``occurred_at`` order (ties: request order) with the users' cap usage
   and running totals.
3. Each accepted event worth grams fills a ball: the shared ball of (user, type, ripening)
   while it is still waiting and untouched, else a ball of its own. The grams stay in the
   ball until it is collected, stolen or expires; only then are they minted to the ledger
   from ``mint:<rule>`` (``Ball.mint_rule``), so an accepted event writes one event row, its
   share of one ball row and of one user state row, and no ledger rows.
4. Accepted events are appended to the ``events`` chain of their shard in the batch's
   ``lane`` (``records.EventRecord``): each lane of a shard is its own chain, so concurrent
   batches holding different lanes never wait on each other's chain heads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from greenenergy.canonical import format_instant
from greenenergy.forest.balls import Ball, can_join, event_ball_id, new_event_ball
from greenenergy.ingestion.checks import check_event, rejected
from greenenergy.ingestion.model import (
    Candidate,
    Decision,
    EventResult,
    IncomingEvent,
    Loaded,
    Needs,
    Prepared,
)
from greenenergy.ingestion.records import FORMAT, EventRecord, new_event_hash
from greenenergy.ingestion.userstate import UserIngestState, hour_key
from greenenergy.scoring import EventIn, RuleBook, ScoringState, score_many
from greenenergy.units import shard_of

MAX_EXPLANATION_CHARS = 300
Ripening = Callable[[datetime], datetime]


def prepare(
    rules: RuleBook,
    *,
    source_id: str,
    events: Sequence[IncomingEvent],
    now: datetime,
    ripening_of: Ripening,
    allowed: frozenset[str] | None = None,
    max_daily_steps: int,
) -> Prepared:
    """Check each event alone and name the stored state the decision needs."""
    results: list[EventResult | None] = [None] * len(events)
    first_index: dict[str, int] = {}
    repeats: dict[int, int] = {}
    candidates: list[Candidate] = []
    for index, event in enumerate(events):
        first = first_index.setdefault(event.event_id, index)
        if first != index:
            repeats[index] = first
            continue
        checked = check_event(rules, event, allowed, now, max_daily_steps)
        if isinstance(checked, EventResult):
            results[index] = checked
            continue
        occurred_at, data = checked
        ripening = ripening_of(occurred_at)
        ball_id = event_ball_id(
            user_id=event.user_id,
            event_type=event.event_type,
            ripening=ripening,
            ingested_at=now,
            event_ref=f"{source_id}/{event.event_id}",
        )
        candidates.append(Candidate(index, event, occurred_at, data, shard_of(event.user_id), ripening, ball_id))
    needs = Needs(
        event_ids=tuple(first_index),
        user_ids=tuple(sorted({c.event.user_id for c in candidates})),
        ball_ids=tuple(sorted({c.ball_id for c in candidates})),
        shards=tuple(sorted({c.shard for c in candidates})),
    )
    return Prepared(source_id, now, results, candidates, repeats, first_index, needs)


def decide(rules: RuleBook, prepared: Prepared, loaded: Loaded, *, max_events_per_hour: int) -> Decision:
    """Everything the batch writes and answers, from the stored state in ``loaded``."""
    now = prepared.now
    results = list(prepared.results)
    for event_id, row in loaded.stored.items():
        results[prepared.first_index[event_id]] = EventResult(
            event_id,
            "duplicate",
            energy_g=row.energy_g,
            rule=row.rule_ref,
            transaction_id=row.transaction_id,
            explanation=row.explanation,
            ball_id=row.ball_id,
        )
    users = {
        user_id: UserIngestState.from_texts(user_id, *stored) if stored else UserIngestState(user_id)
        for user_id, stored in loaded.users.items()
    }
    candidates = _stored_checks(prepared, loaded, users, results, max_events_per_hour)

    state = ScoringState()
    for user_id in {c.event.user_id for c in candidates}:
        users[user_id].load_into(state)
    ordered = sorted(candidates, key=lambda c: (c.occurred_at, c.index))
    scores = score_many(
        rules, [EventIn(c.event.user_id, c.event.event_type, c.occurred_at, c.data) for c in ordered], state
    )

    balls = _BallPlan(loaded.balls, now, prepared.source_id)
    heads: dict[int, tuple[int, str]] = {}
    records: list[EventRecord] = []
    source_id, lane, ingested_text = prepared.source_id, loaded.lane, format_instant(now)
    for candidate, outcome in zip(ordered, scores, strict=True):
        event = candidate.event
        grams = outcome.energy_g
        ball_id = balls.fill(candidate, grams, outcome.rule_id) if grams > 0 else None
        shard = candidate.shard
        seq, prev_hash = heads.get(shard) or loaded.heads[shard]
        explanation = outcome.explanation[:MAX_EXPLANATION_CHARS]
        fields = {  # EventRecord.canonical_fields of format 2, built once
            "ball_id": ball_id,
            "data": candidate.data,
            "energy_g": grams,
            "event_id": event.event_id,
            "event_type": event.event_type,
            "explanation": explanation,
            "format": FORMAT,
            "ingested_at": ingested_text,
            "lane": lane,
            "occurred_at": format_instant(candidate.occurred_at),
            "prev_hash": prev_hash,
            "rule_ref": outcome.rule_ref,
            "seq": seq + 1,
            "shard": shard,
            "source_id": source_id,
            "user_id": event.user_id,
        }
        digest = new_event_hash(fields)
        records.append(
            EventRecord(
                source_id=source_id,
                event_id=event.event_id,
                user_id=event.user_id,
                event_type=event.event_type,
                occurred_at=candidate.occurred_at,
                ingested_at=now,
                data=candidate.data,
                energy_g=grams,
                rule_ref=outcome.rule_ref,
                explanation=explanation,
                ball_id=ball_id,
                shard=shard,
                lane=lane,
                seq=seq + 1,
                prev_hash=prev_hash,
                hash=digest,
            )
        )
        heads[shard] = (seq + 1, digest)
        _tally(users[event.user_id], candidate, grams)
        results[candidate.index] = EventResult(
            event.event_id, "accepted", energy_g=grams, rule=outcome.rule_ref, explanation=explanation, ball_id=ball_id
        )

    changed = _write_scoring(users, candidates, state, now)
    for index, first in prepared.repeats.items():
        original = results[first]
        assert original is not None
        status = "duplicate" if original.status in ("accepted", "duplicate") else original.status
        results[index] = EventResult(
            original.event_id,
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
    final = [r for r in results if r is not None]
    rejections = {r.event_id: r for r in final if r.status == "rejected"}
    return Decision(
        results=final,
        events=records,
        new_balls=balls.new_balls(),
        grown_balls=balls.grown(),
        users=[users[u] for u in sorted(changed)],
        heads=heads,
        lane=loaded.lane,
        rejections=list(rejections.values()),
    )


def _stored_checks(
    prepared: Prepared,
    loaded: Loaded,
    users: dict[str, UserIngestState],
    results: list[EventResult | None],
    limit: int,
) -> list[Candidate]:
    """``user_blocked`` and the hourly burst, for the candidates not stored before."""
    kept = []
    for candidate in prepared.candidates:
        event = candidate.event
        if event.event_id in loaded.stored:
            continue
        if event.user_id in loaded.blocked:
            results[candidate.index] = rejected(
                event.event_id, "user_blocked", f"user {event.user_id} is blocked by an operator"
            )
            continue
        hourly = users[event.user_id].hourly
        key = hour_key(event.event_type, candidate.occurred_at)
        if hourly.get(key, 0) >= limit:
            results[candidate.index] = rejected(
                event.event_id,
                "implausible",
                f"more than {limit} {event.event_type} events for user {event.user_id} within one hour",
            )
            continue
        hourly[key] = hourly.get(key, 0) + 1
        kept.append(candidate)
    return kept


def _tally(user: UserIngestState, candidate: Candidate, energy_g: int) -> None:
    event_type = candidate.event.event_type
    user.lifetime_g += energy_g
    user.counts[event_type] = user.counts.get(event_type, 0) + 1
    for name, value in candidate.data.items():
        if type(value) is int:
            key = f"{event_type}:{name}"
            user.totals[key] = user.totals.get(key, 0) + value


def _write_scoring(
    users: dict[str, UserIngestState], candidates: list[Candidate], state: ScoringState, now: datetime
) -> set[str]:
    """Fold the scoring state back into each user's value; the users whose value changed."""
    usage: dict[str, dict[tuple, tuple[int, int]]] = {}
    for key in state.dirty_usage_list:
        count, energy_g, _ = state.usage_rows[key]
        usage.setdefault(key[0], {})[key[1:]] = (count, energy_g)
    running: dict[str, dict[tuple, int]] = {}
    for key in state.dirty_running_list:
        running.setdefault(key[0], {})[key[1:]] = state.running_rows[key][0]
    changed = {c.event.user_id for c in candidates}
    for user_id in changed:
        users[user_id].take_from(usage.get(user_id, {}), running.get(user_id, {}), now)
    return changed


class _BallPlan:
    """Where each scored event's grams go; existing balls are loaded (and locked) by the shell."""

    def __init__(self, existing: dict[str, Ball], now: datetime, source_id: str) -> None:
        self.now = now
        self.source_id = source_id
        self.existing = existing
        self.added: dict[str, int] = {}  # existing ball id -> grams added
        self.fresh: dict[str, tuple[Candidate, int, str]] = {}  # new ball id -> (first event, grams, rule)

    def fill(self, candidate: Candidate, energy_g: int, rule_id: str) -> str:
        ball_id = candidate.ball_id
        ball = self.existing.get(ball_id)
        if ball is not None:
            joinable = ball.mint_rule == rule_id and can_join(
                ball,
                user_id=candidate.event.user_id,
                event_type=candidate.event.event_type,
                ripening=candidate.ripens_at,
                ingested_at=self.now,
            )
            if joinable:
                self.added[ball_id] = self.added.get(ball_id, 0) + energy_g
                return ball_id
            # The shared ball no longer takes energy (collected, stolen from, visible): one of its own.
            ball_id = event_ball_id(
                user_id=candidate.event.user_id,
                event_type=candidate.event.event_type,
                ripening=candidate.ripens_at,
                ingested_at=self.now,
                event_ref=f"{self.source_id}/{candidate.event.event_id}",
                own=True,
            )
        first, grams, rule = self.fresh.get(ball_id, (candidate, 0, rule_id))
        self.fresh[ball_id] = (first, grams + energy_g, rule)
        return ball_id

    def new_balls(self) -> list[Ball]:
        return [
            new_event_ball(
                ball_id=ball_id,
                user_id=first.event.user_id,
                event_type=first.event.event_type,
                energy_g=grams,
                occurred_at=first.occurred_at,
                ingested_at=self.now,
                ripening=first.ripens_at,
                mint_rule=rule,
            )
            for ball_id, (first, grams, rule) in sorted(self.fresh.items())
        ]

    def grown(self) -> list[tuple[Ball, int]]:
        return [(self.existing[ball_id], grams) for ball_id, grams in sorted(self.added.items())]
