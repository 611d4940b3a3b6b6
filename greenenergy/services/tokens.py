"""Bearer tokens: create, list, revoke, resolve to a principal.

A token is ``ge_<id>_<secret>``; only the SHA-256 of the whole token is stored, so a copy
of the database does not leak credentials. ``id`` is public (listing, revoking).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from greenenergy.db.engine import read_tx, write_tx
from greenenergy.db.tables import ApiToken
from greenenergy.errors import InvalidInput, NotFound, Unauthorized
from greenenergy.ids import check_id
from greenenergy.services.catalogs import rulebook
from greenenergy.services.runtime import Runtime

ROLES = ("user", "source", "partner", "auditor", "admin")
TOKENS = ApiToken.__table__
TOKEN_PREFIX = "ge_"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a role, a subject id and, for sources, the event types allowed."""

    token_id: str
    role: str
    subject: str
    allowed_types: frozenset[str] | None = None  # None: every type (sources without --allow)


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: str
    role: str
    subject: str
    allowed_types: tuple[str, ...] | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(
    runtime: Runtime,
    *,
    role: str,
    subject: str,
    allow: list[str] | None = None,
    expires_at: datetime | None = None,
) -> tuple[str, TokenInfo]:
    """Create a token; returns the secret text (shown once) and its public info."""
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; use one of {', '.join(ROLES)}", code="invalid_role")
    check_id(subject, what="subject")
    if allow and role != "source":
        raise InvalidInput("--allow limits event types and applies to role source only", code="invalid_allow")
    if allow:
        _check_event_types(runtime, allow)
    allowed = tuple(sorted(set(allow))) if allow else None
    token_id = secrets.token_hex(6)
    token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    now = runtime.clock.now()
    with write_tx(runtime.engine) as connection:
        connection.execute(
            TOKENS.insert().values(
                id=token_id,
                role=role,
                subject=subject,
                secret_sha256=_digest(token),
                allowed_types=json.dumps(list(allowed)) if allowed else None,
                created_at=now,
                expires_at=expires_at,
                revoked_at=None,
            )
        )
    return token, TokenInfo(token_id, role, subject, allowed, now, expires_at, None)


def _check_event_types(runtime: Runtime, types: list[str]) -> None:
    """Refuse a type that no rule in the catalog scores: a typo would make the source's every
    event ``type_not_allowed``."""
    known = rulebook(runtime).event_types
    unknown = sorted({t for t in types if t not in known})
    if unknown:
        names = ", ".join(repr(t) for t in unknown)
        what = "this event type" if len(unknown) == 1 else "these event types"
        raise InvalidInput(
            f"--allow {names}: no rule in the catalog scores {what}; known types: {', '.join(sorted(known))}",
            code="unknown_event_type",
            types=unknown,
        )


def list_tokens(runtime: Runtime) -> list[TokenInfo]:
    with read_tx(runtime.engine) as connection:
        rows = connection.execute(select(TOKENS).order_by(TOKENS.c.created_at, TOKENS.c.id)).all()
    return [_info(row) for row in rows]


def revoke_token(runtime: Runtime, token_id: str) -> TokenInfo:
    now = runtime.clock.now()
    with write_tx(runtime.engine) as connection:
        row = connection.execute(select(TOKENS).where(TOKENS.c.id == token_id)).first()
        if row is None:
            raise NotFound(
                f"no token with id {token_id!r}; `greenenergy token list` shows them", code="token_not_found"
            )
        if row.revoked_at is None:
            connection.execute(update(TOKENS).where(TOKENS.c.id == token_id).values(revoked_at=now))
        row = connection.execute(select(TOKENS).where(TOKENS.c.id == token_id)).one()
    return _info(row)


def resolve_token(runtime: Runtime, token: str) -> Principal:
    """The principal of a bearer token, or ``Unauthorized`` saying why not."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise Unauthorized("the bearer token is not a greenenergy token", code="invalid_token")
    with read_tx(runtime.engine) as connection:
        row = connection.execute(select(TOKENS).where(TOKENS.c.secret_sha256 == _digest(token))).first()
    if row is None:
        raise Unauthorized("the bearer token is not known", code="invalid_token")
    now = runtime.clock.now()
    if row.revoked_at is not None:
        raise Unauthorized("the bearer token was revoked", code="token_revoked")
    if row.expires_at is not None and row.expires_at <= now:
        raise Unauthorized("the bearer token has expired", code="token_expired")
    allowed = frozenset(json.loads(row.allowed_types)) if row.allowed_types else None
    return Principal(token_id=row.id, role=row.role, subject=row.subject, allowed_types=allowed)


def _info(row) -> TokenInfo:
    allowed = tuple(json.loads(row.allowed_types)) if row.allowed_types else None
    return TokenInfo(row.id, row.role, row.subject, allowed, row.created_at, row.expires_at, row.revoked_at)
