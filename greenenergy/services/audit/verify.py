"""`greenenergy audit verify`: check that nothing in the record was altered.

Walks every hash chain (ledger transactions per shard; accepted events per shard and lane;
planting confirmations and survival checks per shard) against its head; checks that every
accepted event's award is where it went -- the mint transaction of an event of the first
format, the ball of a later one (a ball's grams equal the awards of the events naming it) --
that every cached guarded balance equals the sum of its postings, and that no posting lacks
its transaction. Returns findings as values; the first names the first bad record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from greenenergy.db import audit_repo
from greenenergy.db.engine import Tx, read_tx
from greenenergy.ledger import ChainFinding, verify_shard
from greenenergy.services.runtime import Runtime


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
    counted = {"transaction": "transactions", "event": "events", "confirmation": "confirmations"}
    with read_tx(runtime.engine) as connection:
        heads = audit_repo.chain_heads(connection)
        shards_used: set[int] = set()
        for chain, (noun, records_of) in audit_repo.CHAINS.items():
            for (shard, lane), head in sorted(heads.get(chain, {}).items()):
                records = list(records_of(connection, shard, lane))
                setattr(report, counted[noun], getattr(report, counted[noun]) + len(records))
                if records and chain == "ledger":
                    shards_used.add(shard)
                report.findings.extend(verify_shard(shard, records, head, noun=noun))
        report.shards = len(shards_used)
        report.findings.extend(_award_findings(connection))
        for transaction_id, idx in audit_repo.orphan_postings(connection):
            report.findings.append(ChainFinding(
                "orphan_posting", -1, None, transaction_id,
                f"posting {idx} of transaction {transaction_id} has no transaction record",
            ))  # fmt: skip
        sums = audit_repo.guarded_sums(connection)
        cached = audit_repo.cached_balances(connection)
    for key in sorted(set(sums) | set(cached)):
        if sums.get(key, 0) != cached.get(key, 0):
            account, shard = key
            report.findings.append(ChainFinding(
                "balance_mismatch", shard, None, None,
                f"balance of {account} (shard {shard}) is {cached.get(key, 0)} g but its postings sum to "
                f"{sums.get(key, 0)} g",
            ))  # fmt: skip
    return report


def _award_findings(connection: Tx) -> list[ChainFinding]:
    findings = [
        ChainFinding(
            "award_mismatch", shard, None, f"{source_id}/{event_id}",
            f"event {source_id}/{event_id} awards {energy_g} g but its mint transaction {transaction_id} "
            f"credits {credited} g",
        )
        for source_id, event_id, shard, energy_g, transaction_id, credited
        in audit_repo.first_format_award_mismatches(connection)
    ]  # fmt: skip
    findings.extend(
        ChainFinding(
            "award_mismatch", shard, None, ball_id,
            f"ball {ball_id} holds {ball_g} g but the events that name it award {awarded} g",
        )
        for ball_id, shard, ball_g, awarded in audit_repo.ball_award_mismatches(connection)
    )  # fmt: skip
    return findings
