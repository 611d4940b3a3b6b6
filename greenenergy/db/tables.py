"""SQLModel tables of the ledger and of access tokens.

Every row that belongs to a user carries ``shard`` (greenenergy.units.shard_of). Ledger
tables are append-only: the code has no update or delete path for transactions or
postings; balances and shard heads are caches maintained in the same commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Index, SmallInteger, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from greenenergy.db.types import UTCDateTime

# Stable constraint names, so Alembic migrations name the same things on every backend.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}


class LedgerTransaction(SQLModel, table=True):
    __tablename__ = "ledger_transactions"
    __table_args__ = (UniqueConstraint("shard", "seq"),)

    id: str = Field(primary_key=True, max_length=32)
    shard: int = Field(sa_type=SmallInteger, nullable=False)
    seq: int = Field(sa_type=BigInteger, nullable=False)
    kind: str = Field(max_length=32, nullable=False)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    idempotency_key: str | None = Field(default=None, max_length=200, unique=True)
    reverses: str | None = Field(default=None, max_length=32, unique=True, foreign_key="ledger_transactions.id")
    refs: str = Field(sa_type=Text, nullable=False)  # canonical JSON, hashed as stored
    prev_hash: str = Field(max_length=64, nullable=False)
    hash: str = Field(max_length=64, nullable=False)


class LedgerPosting(SQLModel, table=True):
    __tablename__ = "ledger_postings"
    __table_args__ = (Index("ix_ledger_postings_account_created", "account", "created_at"),)

    transaction_id: str = Field(primary_key=True, max_length=32, foreign_key="ledger_transactions.id")
    idx: int = Field(primary_key=True, sa_type=SmallInteger)
    account: str = Field(max_length=160, nullable=False)
    shard: int = Field(sa_type=SmallInteger, nullable=False)
    energy_g: int = Field(sa_type=BigInteger, nullable=False)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class LedgerBalance(SQLModel, table=True):
    """Cached balance of a guarded account (user, pool); system accounts are summed from postings.

    The CHECK is the last line of defence: the repository refuses an overdraft before it
    gets here, naming the account.
    """

    __tablename__ = "ledger_balances"
    __table_args__ = (CheckConstraint("balance_g >= 0", name="guarded_non_negative"),)

    account: str = Field(primary_key=True, max_length=160)
    shard: int = Field(primary_key=True, sa_type=SmallInteger)
    balance_g: int = Field(default=0, sa_type=BigInteger, nullable=False)


class ChainHead(SQLModel, table=True):
    """The last seq and hash of each hash chain, per shard and lane.

    Chains: ``ledger`` (transactions), ``events`` (accepted events), ``confirmations``
    (planting confirmations). Each shard of a chain has one or more *lanes*, each its own
    chain: ``events`` has ``EVENT_LANES`` so that concurrent ingestion batches append side by
    side (a batch holds one lane for its whole commit), the others one (lane 0). Every row is
    created by a migration, so an append only locks or updates its own rows.
    """

    __tablename__ = "chain_heads"

    chain: str = Field(primary_key=True, max_length=16)
    shard: int = Field(primary_key=True, sa_type=SmallInteger, sa_column_kwargs={"autoincrement": False})
    lane: int = Field(default=0, primary_key=True, sa_type=SmallInteger, sa_column_kwargs={"autoincrement": False})
    seq: int = Field(default=0, sa_type=BigInteger, nullable=False)
    head_hash: str = Field(max_length=64, nullable=False)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_tokens"

    id: str = Field(primary_key=True, max_length=16)
    role: str = Field(max_length=16, nullable=False)
    subject: str = Field(max_length=64, nullable=False)
    secret_sha256: str = Field(max_length=64, unique=True, nullable=False)
    allowed_types: str | None = Field(default=None, sa_type=Text)  # JSON list, sources only
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
