"""Storing bearer tokens: one ``api_tokens`` row per token, found by the SHA-256 of its text.

Only the digest of a token is stored; the allowed event types of a source token are kept as
a JSON list (``NULL``: every type). Functions work on the caller's connection and commit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Row, select, update

from greenenergy.db.tables import ApiToken

TOKENS = ApiToken.__table__


@dataclass(frozen=True, slots=True)
class StoredToken:
    id: str
    role: str
    subject: str
    allowed_types: tuple[str, ...] | None  # None: every type
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


def _stored(row: Row) -> StoredToken:
    allowed = tuple(json.loads(row.allowed_types)) if row.allowed_types else None
    return StoredToken(row.id, row.role, row.subject, allowed, row.created_at, row.expires_at, row.revoked_at)


def insert_token(connection: Connection, token: StoredToken, *, secret_sha256: str) -> None:
    connection.execute(
        TOKENS.insert().values(
            id=token.id,
            role=token.role,
            subject=token.subject,
            secret_sha256=secret_sha256,
            allowed_types=json.dumps(list(token.allowed_types)) if token.allowed_types else None,
            created_at=token.created_at,
            expires_at=token.expires_at,
            revoked_at=token.revoked_at,
        )
    )


def all_tokens(connection: Connection) -> list[StoredToken]:
    """Every token, oldest first."""
    return [_stored(row) for row in connection.execute(select(TOKENS).order_by(TOKENS.c.created_at, TOKENS.c.id))]


def token_by_digest(connection: Connection, secret_sha256: str) -> StoredToken | None:
    row = connection.execute(select(TOKENS).where(TOKENS.c.secret_sha256 == secret_sha256)).first()
    return _stored(row) if row is not None else None


def revoke(connection: Connection, token_id: str, *, now: datetime) -> StoredToken | None:
    """Mark the token revoked at ``now`` unless it already was; the token after, or None if unknown."""
    connection.execute(
        update(TOKENS).where(TOKENS.c.id == token_id, TOKENS.c.revoked_at.is_(None)).values(revoked_at=now)
    )
    row = connection.execute(select(TOKENS).where(TOKENS.c.id == token_id)).first()
    return _stored(row) if row is not None else None
