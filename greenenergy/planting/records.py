"""The stored records of planting, as values: trees, their holders and history, planting
orders, and the links of the ``confirmations`` hash chain.

The shell reads these from its tables and writes them back; the decisions
(``redemption``, ``reports``, ``pools``) take them in and return new ones.

Confirmation chain: each confirmation or survival check links to the previous one of its
shard (the shard of the tree's owner). Its hash is SHA-256 of the canonical bytes
(``planting.canonical``: RFC 8785 JSON, UTF-8) of::

    {"id": str, "kind": "planting"|"survival", "prev_hash": hex, "record_hash": hex,
     "recorded_at": "YYYY-MM-DDTHH:MM:SS.ffffffZ", "seq": int, "shard": int}

where ``record_hash`` is ``confirmation_hash`` (planting) or ``survival_hash`` (survival)
recomputed from the stored columns, so a change to any hashed column breaks the row's hash.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from greenenergy.errors import GreenEnergyError
from greenenergy.planting.canonical import canonical_bytes, sha256_hex
from greenenergy.planting.confirmation import PlantingReport, SurvivalReport, confirmation_hash, survival_hash

OPEN_ORDER = ("pending", "overdue")


@dataclass(frozen=True, slots=True)
class TreeState:
    """One virtual tree (or ``quantity`` m2 of a conservation share) as stored.

    ``version`` counts its history events: each status change is written guarded by the
    version it was decided on."""

    tree_id: str
    owner_id: str
    shard: int
    species_id: str
    kind: str  # planting | conservation
    quantity: int
    energy_g: int
    plot_id: str
    partner_id: str
    status: str
    redeemed_at: datetime
    redeem_tx_id: str
    redeem_tx_hash: str
    pool_id: str | None
    plantings: int
    last_planted_at: datetime | None
    version: int


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds a tree and with what share of its price (the whole price if solo)."""

    tree_id: str
    holder_id: str
    shard: int
    share_g: int


@dataclass(frozen=True, slots=True)
class TreeEventRecord:
    """One step of a tree's history: ``redeemed`` at seq 0, then the status machine's events."""

    tree_id: str
    seq: int
    event: str
    status: str
    occurred_at: datetime
    recorded_at: datetime
    order_id: str | None
    confirmation_id: str | None


@dataclass(frozen=True, slots=True)
class OrderState:
    """A partner's order to plant (``planting_no`` 1) or replant (2, 3, ...) one tree."""

    order_id: str
    tree_id: str
    planting_no: int
    partner_id: str
    plot_id: str
    species_id: str
    ordered_at: datetime
    deadline: datetime
    status: str  # pending | overdue | planted
    overdue_at: datetime | None
    planted_at: datetime | None
    confirmation_id: str | None


@dataclass(frozen=True, slots=True)
class ConfirmationChainRecord:
    """One stored confirmation, as hashed; ``computed_hash`` recomputes from the columns."""

    id: str
    shard: int
    seq: int
    kind: str
    tree_id: str
    partner_id: str
    plot_id: str
    species_id: str
    occurred_at: datetime
    photo_sha256: str
    latitude: str | None
    longitude: str | None
    tag: str | None
    alive: bool | None
    planting_no: int | None
    recorded_at: datetime
    prev_hash: str
    hash: str = ""

    def record_hash(self) -> str:
        """The core's hash of the confirmation's facts, or a marker that matches nothing."""
        try:
            if self.kind == "planting":
                report = PlantingReport(
                    tree_id=self.tree_id,
                    partner_id=self.partner_id,
                    species_id=self.species_id,
                    planted_at=self.occurred_at,
                    latitude=float(self.latitude),  # type: ignore[arg-type]
                    longitude=float(self.longitude),  # type: ignore[arg-type]
                    photo_sha256=self.photo_sha256,
                    tag=self.tag,
                )
                return confirmation_hash(report, plot_id=self.plot_id, planting_no=int(self.planting_no))  # type: ignore[arg-type]
            if self.kind == "survival":
                return survival_hash(
                    SurvivalReport(
                        tree_id=self.tree_id,
                        partner_id=self.partner_id,
                        checked_at=self.occurred_at,
                        alive=bool(self.alive),
                        photo_sha256=self.photo_sha256,
                    )
                )
        except (TypeError, ValueError, GreenEnergyError):  # a tampered row: its hash cannot match
            pass
        return f"unreadable {self.kind} record"

    def canonical_bytes(self) -> bytes:
        return chain_bytes(
            record_id=self.id,
            shard=self.shard,
            seq=self.seq,
            kind=self.kind,
            recorded_at=self.recorded_at,
            prev_hash=self.prev_hash,
            record_hash=self.record_hash(),
        )

    def computed_hash(self) -> str:
        return sha256_hex(self.canonical_bytes())

    def sealed(self) -> ConfirmationChainRecord:
        """This record with its ``hash`` set (a new link of the chain)."""
        return replace(self, hash=self.computed_hash())


def chain_bytes(
    *, record_id: str, shard: int, seq: int, kind: str, recorded_at: datetime, prev_hash: str, record_hash: str
) -> bytes:
    return canonical_bytes(
        {
            "id": record_id,
            "shard": shard,
            "seq": seq,
            "kind": kind,
            "recorded_at": recorded_at,
            "prev_hash": prev_hash,
            "record_hash": record_hash,
        }
    )
