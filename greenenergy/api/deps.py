"""Request dependencies that read as types: ``RuntimeDep``, ``CurrentPrincipal``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from greenenergy.errors import Forbidden, Unauthorized
from greenenergy.services.runtime import Runtime
from greenenergy.services.tokens import Principal, resolve_token

bearer_scheme = HTTPBearer(auto_error=False, description="`greenenergy token create --role ROLE --subject ID`")


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_principal(
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("send `Authorization: Bearer <token>`", code="missing_token")
    return resolve_token(runtime, credentials.credentials)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def with_article(word: str) -> str:
    """``a user``, ``a source``, ``an auditor``, ``an admin``: the article goes by the sound."""
    return f"an {word}" if word[:1].lower() in "aeio" else f"a {word}"


def require_role(principal: Principal, *roles: str) -> Principal:
    if principal.role not in roles:
        raise Forbidden(
            f"{with_article(principal.role)} token may not do this; it needs role {' or '.join(roles)}",
            code="wrong_role",
        )
    return principal


def require_self_or_reader(principal: Principal, *, role: str, subject: str) -> Principal:
    """Own resources for ``role``; auditors and admins may read anyone's."""
    if principal.role in ("auditor", "admin"):
        return principal
    if principal.role != role or principal.subject != subject:
        raise Forbidden(
            f"this token belongs to {principal.role} {principal.subject!r} and may not access {role} {subject!r}",
            code="not_yours",
        )
    return principal


def require_self(principal: Principal, *, role: str, subject: str) -> Principal:
    """Writes: only the subject itself (an auditor or admin token may read, never write)."""
    require_role(principal, role)
    if principal.subject != subject:
        raise Forbidden(
            f"this token belongs to {role} {principal.subject!r} and may not act for {subject!r}", code="not_yours"
        )
    return principal
