"""Tables of planting: plot occupancy, virtual trees, planting orders, confirmations,
certificates and co-planting pools.

Invariants held by the schema itself (so that a bug in a service cannot break them):

- ``plot_occupancy``: one counter row per (plot, species), ``0 <= occupied <= capacity``;
  a redemption raises ``occupied`` with one guarded statement, nothing lowers it (a dead
  tree's replacement reuses its place).
- ``planting_confirmations``: one row per planting confirmation *or* survival check, in a
  per-shard hash chain (``confirmations`` heads in ``chain_heads``); ``photo_sha256`` is
  unique across both kinds, ``tag`` and ``location_key`` are unique (DESIGN invariant 5),
  ``order_id`` is unique (one confirmation per planting order).
- ``planting_orders``: ``(tree_id, planting_no)`` unique: the first planting is 1, each
  replanting of a dead tree the next number.
- ``national_certificate_parts``: a planting certificate is used by at most one national
  certificate (primary key).

Every row that belongs to a user carries ``shard`` (greenenergy.units.shard_of of the user).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Date, Index, Integer, SmallInteger, UniqueConstraint
from sqlmodel import Field, SQLModel

from greenenergy.db.types import UTCDateTime

TREE_STATUSES = "('awaiting_planting', 'planted', 'alive', 'dead', 'replanted')"


class PlotOccupancyRow(SQLModel, table=True):
    """Places taken in one plot for one species: open orders plus trees in the ground.

    ``capacity`` is copied from the catalog by each reservation, so the CHECK holds the
    figure the reservation was checked against.
    """

    __tablename__ = "plot_occupancy"
    __table_args__ = (CheckConstraint("occupied >= 0 AND occupied <= capacity", name="within_capacity"),)

    plot_id: str = Field(primary_key=True, max_length=48)
    species_id: str = Field(primary_key=True, max_length=48)
    capacity: int = Field(sa_type=BigInteger, nullable=False)
    occupied: int = Field(default=0, sa_type=BigInteger, nullable=False)


class VirtualTreeRow(SQLModel, table=True):
    """A redeemed tree (or ``quantity`` m2 of a conservation share) and its current status.

    ``owner_id`` holds the tree (a co-planted tree: its first contributing member); every
    holder, with their share, is in ``tree_holders``. ``version`` counts history events:
    each status change is a guarded update ``WHERE version = <read>``.
    """

    __tablename__ = "trees"
    __table_args__ = (
        Index("ix_trees_owner", "owner_id"),
        Index("ix_trees_plot_species_status", "plot_id", "species_id", "status"),
        CheckConstraint(f"status IN {TREE_STATUSES}", name="known_status"),
        CheckConstraint("quantity >= 1 AND energy_g >= 1", name="positive"),
    )

    tree_id: str = Field(primary_key=True, max_length=32)
    owner_id: str = Field(max_length=64, nullable=False)
    shard: int = Field(sa_type=SmallInteger, nullable=False)
    species_id: str = Field(max_length=48, nullable=False)
    kind: str = Field(max_length=16, nullable=False)  # planting | conservation
    quantity: int = Field(sa_type=Integer, nullable=False)
    energy_g: int = Field(sa_type=BigInteger, nullable=False)
    plot_id: str = Field(max_length=48, nullable=False)
    partner_id: str = Field(max_length=48, nullable=False)
    status: str = Field(max_length=20, nullable=False)
    redeemed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    redeem_tx_id: str = Field(max_length=32, unique=True, nullable=False, foreign_key="ledger_transactions.id")
    redeem_tx_hash: str = Field(max_length=64, nullable=False)
    pool_id: str | None = Field(default=None, max_length=32)
    plantings: int = Field(default=0, sa_type=Integer, nullable=False)
    last_planted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = Field(default=1, sa_type=Integer, nullable=False)


class TreeHolderRow(SQLModel, table=True):
    """Who holds a tree and with what share of its price (one row, the whole price, if solo)."""

    __tablename__ = "tree_holders"
    __table_args__ = (Index("ix_tree_holders_holder", "holder_id"),)

    tree_id: str = Field(primary_key=True, max_length=32, foreign_key="trees.tree_id")
    holder_id: str = Field(primary_key=True, max_length=64)
    shard: int = Field(sa_type=SmallInteger, nullable=False)
    share_g: int = Field(sa_type=BigInteger, nullable=False)


class TreeEventRow(SQLModel, table=True):
    """A tree's history: ``redeemed`` at seq 0, then the status machine's events."""

    __tablename__ = "tree_events"

    tree_id: str = Field(primary_key=True, max_length=32, foreign_key="trees.tree_id")
    seq: int = Field(primary_key=True, sa_type=Integer, sa_column_kwargs={"autoincrement": False})
    event: str = Field(max_length=20, nullable=False)
    status: str = Field(max_length=20, nullable=False)
    occurred_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    recorded_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    order_id: str | None = Field(default=None, max_length=32)
    confirmation_id: str | None = Field(default=None, max_length=32)


class PlantingOrderRow(SQLModel, table=True):
    """A partner's order to plant (``planting_no`` 1) or replant (2, 3, ...) one tree.

    ``status``: ``pending`` until planted; the overdue job sets ``overdue`` (and
    ``overdue_at``) once the deadline passed; ``planted`` when confirmed (``overdue_at``
    stays, so a late planting remains visible).
    """

    __tablename__ = "planting_orders"
    __table_args__ = (
        UniqueConstraint("tree_id", "planting_no"),
        Index("ix_planting_orders_partner_status_ordered", "partner_id", "status", "ordered_at"),
        Index("ix_planting_orders_status_deadline", "status", "deadline"),
        CheckConstraint("status IN ('pending', 'overdue', 'planted')", name="known_status"),
    )

    order_id: str = Field(primary_key=True, max_length=32)
    tree_id: str = Field(max_length=32, nullable=False, foreign_key="trees.tree_id")
    planting_no: int = Field(sa_type=Integer, nullable=False)
    partner_id: str = Field(max_length=48, nullable=False)
    plot_id: str = Field(max_length=48, nullable=False)
    species_id: str = Field(max_length=48, nullable=False)
    ordered_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    deadline: datetime = Field(sa_type=UTCDateTime, nullable=False)
    status: str = Field(max_length=10, nullable=False)
    overdue_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    planted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    confirmation_id: str | None = Field(default=None, max_length=32)


class ConfirmationRow(SQLModel, table=True):
    """A partner's planting confirmation (``kind`` planting) or survival check (survival).

    Hash chain per shard of the tree's owner; see ``planting_repo`` for the canonical bytes.
    Coordinates are stored as the 7-decimal text that is hashed.
    """

    __tablename__ = "planting_confirmations"
    __table_args__ = (
        UniqueConstraint("shard", "seq"),
        Index("ix_planting_confirmations_tree", "tree_id"),
        CheckConstraint("kind IN ('planting', 'survival')", name="known_kind"),
    )

    id: str = Field(primary_key=True, max_length=32)
    shard: int = Field(sa_type=SmallInteger, nullable=False)
    seq: int = Field(sa_type=BigInteger, nullable=False)
    kind: str = Field(max_length=10, nullable=False)
    tree_id: str = Field(max_length=32, nullable=False, foreign_key="trees.tree_id")
    partner_id: str = Field(max_length=48, nullable=False)
    plot_id: str = Field(max_length=48, nullable=False)
    species_id: str = Field(max_length=48, nullable=False)
    occurred_at: datetime = Field(sa_type=UTCDateTime, nullable=False)  # planted_at or checked_at
    photo_sha256: str = Field(max_length=64, unique=True, nullable=False)
    latitude: str | None = Field(default=None, max_length=16)
    longitude: str | None = Field(default=None, max_length=16)
    tag: str | None = Field(default=None, max_length=64, unique=True)  # normalized
    location_key: str | None = Field(default=None, max_length=48, unique=True)
    alive: bool | None = Field(default=None, sa_type=Boolean)
    planting_no: int | None = Field(default=None, sa_type=Integer)
    order_id: str | None = Field(default=None, max_length=32, unique=True)
    recorded_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    prev_hash: str = Field(max_length=64, nullable=False)
    hash: str = Field(max_length=64, nullable=False)


class PlantingCertificateRow(SQLModel, table=True):
    """A planting certificate: the facts of ``planting.CertificateFacts`` and their hash."""

    __tablename__ = "planting_certificates"
    __table_args__ = (Index("ix_planting_certificates_holder_issued", "holder_id", "issued_on"),)

    certificate_no: str = Field(primary_key=True, max_length=32)
    holder_id: str = Field(max_length=64, nullable=False)
    shard: int = Field(sa_type=SmallInteger, nullable=False)
    tree_id: str = Field(max_length=32, nullable=False, foreign_key="trees.tree_id")
    confirmation_id: str = Field(max_length=32, nullable=False, foreign_key="planting_confirmations.id")
    species_id: str = Field(max_length=48, nullable=False)
    plot_id: str = Field(max_length=48, nullable=False)
    partner_id: str = Field(max_length=48, nullable=False)
    kind: str = Field(max_length=16, nullable=False)
    quantity: int = Field(sa_type=Integer, nullable=False)
    energy_g: int = Field(sa_type=BigInteger, nullable=False)
    share_g: int = Field(sa_type=BigInteger, nullable=False)
    redeemed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    planted_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    issued_on: date = Field(sa_type=Date, nullable=False)
    issued_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    planting_no: int = Field(sa_type=Integer, nullable=False)
    ledger_tx_id: str = Field(max_length=32, nullable=False)
    ledger_tx_hash: str = Field(max_length=64, nullable=False)
    confirmation_hash: str = Field(max_length=64, nullable=False)
    certificate_hash: str = Field(max_length=64, nullable=False)


class NationalCertificateRow(SQLModel, table=True):
    __tablename__ = "national_certificates"
    __table_args__ = (Index("ix_national_certificates_holder", "holder_id"),)

    national_no: str = Field(primary_key=True, max_length=32)
    holder_id: str = Field(max_length=64, nullable=False)
    shard: int = Field(sa_type=SmallInteger, nullable=False)
    year: int = Field(sa_type=Integer, nullable=False)
    issued_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class NationalCertificatePartRow(SQLModel, table=True):
    """Which planting certificate a national certificate used: each at most once, ever."""

    __tablename__ = "national_certificate_parts"

    certificate_no: str = Field(primary_key=True, max_length=32, foreign_key="planting_certificates.certificate_no")
    national_no: str = Field(max_length=32, nullable=False, foreign_key="national_certificates.national_no")


class CoplantPoolRow(SQLModel, table=True):
    """A co-planting pool: energy in ``pool:<pool_id>`` toward one tree of ``species_id``."""

    __tablename__ = "coplant_pools"
    __table_args__ = (CheckConstraint("status IN ('open', 'redeemed')", name="known_status"),)

    pool_id: str = Field(primary_key=True, max_length=32)
    species_id: str = Field(max_length=48, nullable=False)
    plot_id: str | None = Field(default=None, max_length=48)
    price_g: int = Field(sa_type=BigInteger, nullable=False)
    daily_cap_g: int = Field(sa_type=BigInteger, nullable=False)
    max_members: int = Field(sa_type=Integer, nullable=False)
    status: str = Field(max_length=10, nullable=False)
    founder_id: str = Field(max_length=64, nullable=False)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    redeemed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    tree_id: str | None = Field(default=None, max_length=32)
    joined: int = Field(default=1, sa_type=Integer, nullable=False)  # members ever joined: orders them


class CoplantMemberRow(SQLModel, table=True):
    __tablename__ = "coplant_members"
    __table_args__ = (Index("ix_coplant_members_user", "user_id"),)

    pool_id: str = Field(primary_key=True, max_length=32, foreign_key="coplant_pools.pool_id")
    user_id: str = Field(primary_key=True, max_length=64)
    position: int = Field(sa_type=Integer, nullable=False)  # joining order
    joined_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class CoplantContributionRow(SQLModel, table=True):
    """Grams one member put into one pool on one local day (the daily cap's unit)."""

    __tablename__ = "coplant_contributions"

    pool_id: str = Field(primary_key=True, max_length=32, foreign_key="coplant_pools.pool_id")
    user_id: str = Field(primary_key=True, max_length=64)
    local_day: date = Field(primary_key=True, sa_type=Date)
    energy_g: int = Field(sa_type=BigInteger, nullable=False)
