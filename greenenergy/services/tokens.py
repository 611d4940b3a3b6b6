"""Bearer tokens: create, list, revoke, resolve to a principal.

A token is ``ge_<id>_<secret>``; only the SHA-256 of the whole token is stored, so a copy
of the database does not leak credentials. ``id`` is public (listing, revoking).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from greenenergy.db import tokens_repo
from greenenergy.db.engine import in_write_tx, read_tx
from greenenergy.errors import InvalidInput, NotFound, Unauthorized
from greenenergy.ids import check_id
from greenenergy.services.catalogs import rulebook
from greenenergy.services.runtime import Runtime

ROLES = ("user", "source", "partner", "auditor", "admin")
TOKEN_PREFIX = "ge_"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a role, a subject id and, for sources, the event types allowed."""

    token_id: str
    role: str
    subject: str
    allowed_types: frozenset[str] | None = None  # None: every type (sources without --allow)


# A token's public info (never its secret): id, role, subject, allowed types, when created,
# expires and was revoked.
TokenInfo = tokens_repo.StoredToken


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
    info = TokenInfo(token_id, role, subject, allowed, runtime.clock.now(), expires_at, None)
    in_write_tx(runtime.engine, lambda tx: tokens_repo.insert_token(tx, info, secret_sha256=_digest(token)))
    return token, info


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
        return tokens_repo.all_tokens(connection)


def revoke_token(runtime: Runtime, token_id: str) -> TokenInfo:
    """Revoke ``token_id`` (revoking twice keeps the first time)."""
    now = runtime.clock.now()
    info = in_write_tx(runtime.engine, lambda tx: tokens_repo.revoke(tx, token_id, now=now))
    if info is None:
        raise NotFound(f"no token with id {token_id!r}; `greenenergy token list` shows them", code="token_not_found")
    return info


def resolve_token(runtime: Runtime, token: str) -> Principal:
    """The principal of a bearer token, or ``Unauthorized`` saying why not."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise Unauthorized("the bearer token is not a greenenergy token", code="invalid_token")
    with read_tx(runtime.engine) as connection:
        row = tokens_repo.token_by_digest(connection, _digest(token))
    if row is None:
        raise Unauthorized("the bearer token is not known", code="invalid_token")
    now = runtime.clock.now()
    if row.revoked_at is not None:
        raise Unauthorized("the bearer token was revoked", code="token_revoked")
    if row.expires_at is not None and row.expires_at <= now:
        raise Unauthorized("the bearer token has expired", code="token_expired")
    allowed = frozenset(row.allowed_types) if row.allowed_types is not None else None
    return Principal(token_id=row.id, role=row.role, subject=row.subject, allowed_types=allowed)
