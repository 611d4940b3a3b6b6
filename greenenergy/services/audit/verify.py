"""`greenenergy audit verify`: check that nothing in the ledger was altered.

Walks every shard's hash chains (ledger transactions, accepted events, planting
confirmations and survival checks) against their heads, checks that every accepted event's award equals the grams its mint transaction
credited, that every cached guarded balance equals the sum of its postings, and that no
posting lacks its transaction. Returns findings as values; the first names the first bad
record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from greenenergy.db import events_repo, ledger_repo, planting_repo
from greenenergy.db.chains import read_heads
from greenenergy.db.engine import read_tx
from greenenergy.db.tables import LedgerBalance, LedgerPosting, LedgerTransaction
from greenenergy.ledger import ChainFinding, is_guarded, verify_shard
from greenenergy.services.runtime import Runtime
from greenenergy.units import SHARD_COUNT


@dataclass
class VerifyReport:
    transactions: int = 0
    events: int = 0
    confirmations: int = 0
    shards: int = 0
    findings: list[ChainFinding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


def verify(runtime: Runtime) -> VerifyReport:
    report = VerifyReport()
    postings = LedgerPosting.__table__
    balances = LedgerBalance.__table__
    transactions = LedgerTransaction.__table__
    with read_tx(runtime.engine) as connection:
        heads = read_heads(connection, ledger_repo.LEDGER_CHAIN)
        event_heads = read_heads(connection, events_repo.EVENTS_CHAIN)
        confirmation_heads = read_heads(connection, planting_repo.CONFIRMATIONS_CHAIN)
        for shard in range(SHARD_COUNT):
            records = list(ledger_repo.chain_records(connection, shard))
            report.transactions += len(records)
            report.shards += 1 if records else 0
            report.findings.extend(verify_shard(shard, records, heads.get(shard)))
            event_records = list(events_repo.event_chain_records(connection, shard))
            report.events += len(event_records)
            report.findings.extend(verify_shard(shard, event_records, event_heads.get(shard), noun="event"))
            confirmations = list(planting_repo.confirmation_chain_records(connection, shard))
            report.confirmations += len(confirmations)
            report.findings.extend(
                verify_shard(shard, confirmations, confirmation_heads.get(shard), noun="confirmation")
            )
        report.findings.extend(_award_mismatches(connection))
        orphans = connection.execute(
            select(postings.c.transaction_id, postings.c.idx)
            .outerjoin(transactions, transactions.c.id == postings.c.transaction_id)
            .where(transactions.c.id.is_(None))
            .order_by(postings.c.transaction_id, postings.c.idx)
        ).all()
        for row in orphans:
            report.findings.append(
                ChainFinding(
                    "orphan_posting",
                    -1,
                    None,
                    row.transaction_id,
                    f"posting {row.idx} of transaction {row.transaction_id} has no transaction record",
                )
            )
        sums = {
            (row.account, row.shard): int(row.total)
            for row in connection.execute(
                select(postings.c.account, postings.c.shard, func.sum(postings.c.energy_g).label("total")).group_by(
                    postings.c.account, postings.c.shard
                )
            )
            if is_guarded(row.account)
        }
        cached = {(row.account, row.shard): int(row.balance_g) for row in connection.execute(select(balances))}
    for key in sorted(set(sums) | set(cached)):
        if sums.get(key, 0) != cached.get(key, 0):
            account, shard = key
            report.findings.append(
                ChainFinding(
                    "balance_mismatch",
                    shard,
                    None,
                    None,
                    f"balance of {account} (shard {shard}) is {cached.get(key, 0)} g but its postings sum to "
                    f"{sums.get(key, 0)} g",
                )
            )
    return report


def _award_mismatches(connection) -> list[ChainFinding]:
    """Accepted events whose award differs from what their mint transaction credited."""
    events = events_repo.EVENTS
    postings = LedgerPosting.__table__
    credited = (
        select(postings.c.transaction_id, func.sum(postings.c.energy_g).label("credited"))
        .where(postings.c.energy_g > 0)
        .group_by(postings.c.transaction_id)
        .subquery()
    )
    query = (
        select(
            events.c.source_id,
            events.c.event_id,
            events.c.shard,
            events.c.energy_g,
            events.c.transaction_id,
            credited.c.credited,
        )
        .outerjoin(credited, credited.c.transaction_id == events.c.transaction_id)
        .where(events.c.energy_g > 0)
        .where((credited.c.credited.is_(None)) | (credited.c.credited != events.c.energy_g))
        .order_by(events.c.source_id, events.c.event_id)
    )
    return [
        ChainFinding(
            "award_mismatch",
            row.shard,
            None,
            f"{row.source_id}/{row.event_id}",
            f"event {row.source_id}/{row.event_id} awards {row.energy_g} g but its mint transaction "
            f"{row.transaction_id} credits {row.credited or 0} g",
        )
        for row in connection.execute(query)
    ]
