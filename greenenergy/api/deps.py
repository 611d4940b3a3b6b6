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


READER_ROLES = ("auditor", "admin")


def require_subject(principal: Principal, *, role: str, subject: str, read: bool = False) -> Principal:
    """May ``principal`` act on the resources of ``role`` ``subject`` (a user, a source, a partner)?

    Only that subject's own token (role and id); when the call only reads (``read``), also
    auditors and admins. Anyone else: 403 ``not_yours`` -- a token of another role too,
    since a path names whose resource it is. The one ownership check of the routes.
    """
    if principal.role == role and principal.subject == subject:
        return principal
    if read and principal.role in READER_ROLES:
        return principal
    readers = " (or an auditor or admin token, to read)" if read else ""
    raise Forbidden(
        f"this token belongs to {principal.role} {principal.subject!r}; only {role} {subject!r}{readers} may do this",
        code="not_yours",
    )


def require_self_or_reader(principal: Principal, *, role: str, subject: str) -> Principal:
    """``require_subject(..., read=True)``; kept only for routes/planting.py until it calls
    ``require_subject`` (then delete this)."""
    return require_subject(principal, role=role, subject=subject, read=True)
