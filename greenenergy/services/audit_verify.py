"""`greenenergy audit verify`: check that nothing in the ledger was altered.

Walks every shard's hash chain against its head, then checks that every cached guarded
balance equals the sum of its postings and that no posting lacks its transaction. Returns
findings as values; the first one names the first bad record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from greenenergy.db import ledger_repo
from greenenergy.db.engine import read_tx
from greenenergy.db.chains import read_heads
from greenenergy.db.tables import LedgerBalance, LedgerPosting, LedgerTransaction
from greenenergy.ledger import ChainFinding, is_guarded, verify_shard
from greenenergy.services.runtime import Runtime
from greenenergy.units import SHARD_COUNT


@dataclass
class VerifyReport:
    transactions: int = 0
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
        for shard in range(SHARD_COUNT):
            records = list(ledger_repo.chain_records(connection, shard))
            report.transactions += len(records)
            report.shards += 1 if records else 0
            report.findings.extend(verify_shard(shard, records, heads.get(shard)))
        orphans = connection.execute(
            select(postings.c.transaction_id, postings.c.idx)
            .outerjoin(transactions, transactions.c.id == postings.c.transaction_id)
            .where(transactions.c.id.is_(None))
            .order_by(postings.c.transaction_id, postings.c.idx)
        ).all()
        for row in orphans:
            report.findings.append(ChainFinding(
                "orphan_posting", -1, None, row.transaction_id,
                f"posting {row.idx} of transaction {row.transaction_id} has no transaction record",
            ))
        sums = {
            (row.account, row.shard): int(row.total)
            for row in connection.execute(
                select(postings.c.account, postings.c.shard, func.sum(postings.c.energy_g).label("total"))
                .group_by(postings.c.account, postings.c.shard)
            )
            if is_guarded(row.account)
        }
        cached = {(row.account, row.shard): int(row.balance_g) for row in connection.execute(select(balances))}
    for key in sorted(set(sums) | set(cached)):
        if sums.get(key, 0) != cached.get(key, 0):
            account, shard = key
            report.findings.append(ChainFinding(
                "balance_mismatch", shard, None, None,
                f"balance of {account} (shard {shard}) is {cached.get(key, 0)} g but its postings sum to "
                f"{sums.get(key, 0)} g",
            ))
    return report
