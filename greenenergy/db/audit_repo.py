"""What auditors read: the chains, the ledger's sums and the awards, as plain values.

Every function streams or aggregates on the caller's (read) connection; nothing here
writes. ``greenenergy.services.audit`` turns these values into findings.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Connection, func, select

from greenenergy.db import events_repo, ledger_repo, planting_repo
from greenenergy.db.chains import HEADS
from greenenergy.db.tables import LedgerBalance, LedgerPosting, LedgerTransaction
from greenenergy.db.tables_forest import BallRow
from greenenergy.ledger import is_guarded

POSTINGS = LedgerPosting.__table__
BALANCES = LedgerBalance.__table__
TRANSACTIONS = LedgerTransaction.__table__
BALLS = BallRow.__table__

# The chains and how to read one (shard, lane) of each.
CHAINS = {
    ledger_repo.LEDGER_CHAIN: ("transaction", lambda c, shard, lane: ledger_repo.chain_records(c, shard)),
    events_repo.EVENTS_CHAIN: ("event", events_repo.event_chain_records),
    planting_repo.CONFIRMATIONS_CHAIN: (
        "confirmation",
        lambda c, shard, lane: planting_repo.confirmation_chain_records(c, shard),
    ),
}


def chain_heads(connection: Connection) -> dict[str, dict[tuple[int, int], tuple[int, str]]]:
    """``{chain: {(shard, lane): (seq, hash)}}`` of every head."""
    out: dict[str, dict[tuple[int, int], tuple[int, str]]] = {}
    query = select(HEADS.c.chain, HEADS.c.shard, HEADS.c.lane, HEADS.c.seq, HEADS.c.head_hash)
    for chain, shard, lane, seq, head_hash in connection.execute(query):
        out.setdefault(chain, {})[(int(shard), int(lane))] = (int(seq), head_hash)
    return out


def orphan_postings(connection: Connection) -> Iterator[tuple[str, int]]:
    """(transaction id, idx) of postings without their transaction."""
    query = (
        select(POSTINGS.c.transaction_id, POSTINGS.c.idx)
        .outerjoin(TRANSACTIONS, TRANSACTIONS.c.id == POSTINGS.c.transaction_id)
        .where(TRANSACTIONS.c.id.is_(None))
        .order_by(POSTINGS.c.transaction_id, POSTINGS.c.idx)
    )
    for transaction_id, idx in connection.execute(query):
        yield transaction_id, int(idx)


def guarded_sums(connection: Connection) -> dict[tuple[str, int], int]:
    """Sum of the postings of every guarded (account, shard)."""
    query = select(POSTINGS.c.account, POSTINGS.c.shard, func.sum(POSTINGS.c.energy_g)).group_by(
        POSTINGS.c.account, POSTINGS.c.shard
    )
    return {(a, int(s)): int(total) for a, s, total in connection.execute(query) if is_guarded(a)}


def cached_balances(connection: Connection) -> dict[tuple[str, int], int]:
    return {(a, int(s)): int(g) for a, s, g in connection.execute(select(BALANCES))}


def first_format_award_mismatches(connection: Connection) -> Iterator[tuple[str, str, int, int, str | None, int]]:
    """Events of the first format (minted at ingestion) whose award differs from what their
    mint transaction credited: (source, event id, shard, award, transaction id, credited)."""
    events = events_repo.EVENTS
    credited = (
        select(POSTINGS.c.transaction_id, func.sum(POSTINGS.c.energy_g).label("credited"))
        .where(POSTINGS.c.energy_g > 0)
        .group_by(POSTINGS.c.transaction_id)
        .subquery()
    )
    query = (
        select(events.c.source_id, events.c.event_id, events.c.shard, events.c.energy_g, events.c.transaction_id,
               credited.c.credited)
        .outerjoin(credited, credited.c.transaction_id == events.c.transaction_id)
        .where(events.c.energy_g > 0, events.c.format == 1)
        .where((credited.c.credited.is_(None)) | (credited.c.credited != events.c.energy_g))
        .order_by(events.c.source_id, events.c.event_id)
    )  # fmt: skip
    for source_id, event_id, shard, energy_g, transaction_id, total in connection.execute(query):
        yield source_id, event_id, int(shard), int(energy_g), transaction_id, int(total or 0)


def ball_award_mismatches(connection: Connection) -> Iterator[tuple[str, int, int, int]]:
    """Event balls (energy not yet minted when stored) whose grams differ from the awards of
    the events that name them: (ball id, shard, ball grams, events' grams)."""
    events = events_repo.EVENTS
    awarded = (
        select(events.c.ball_id, func.sum(events.c.energy_g).label("awarded"))
        .where(events.c.ball_id.is_not(None), events.c.format >= 2)
        .group_by(events.c.ball_id)
        .subquery()
    )
    query = (
        select(BALLS.c.ball_id, BALLS.c.shard, BALLS.c.energy_g, awarded.c.awarded)
        .outerjoin(awarded, awarded.c.ball_id == BALLS.c.ball_id)
        .where(BALLS.c.mint_rule.is_not(None))
        .where((awarded.c.awarded.is_(None)) | (awarded.c.awarded != BALLS.c.energy_g))
        .order_by(BALLS.c.ball_id)
    )
    for ball_id, shard, energy_g, total in connection.execute(query):
        yield ball_id, int(shard), int(energy_g), int(total or 0)
    # events naming a ball that does not exist (or is not an event ball)
    missing = (
        select(events.c.ball_id, events.c.shard, func.sum(events.c.energy_g))
        .outerjoin(BALLS, BALLS.c.ball_id == events.c.ball_id)
        .where(events.c.ball_id.is_not(None), events.c.format >= 2)
        .where((BALLS.c.ball_id.is_(None)) | (BALLS.c.mint_rule.is_(None)))
        .group_by(events.c.ball_id, events.c.shard)
        .order_by(events.c.ball_id)
    )
    for ball_id, shard, total in connection.execute(missing):
        yield ball_id, int(shard), 0, int(total or 0)
