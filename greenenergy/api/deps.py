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
    """The one ownership check: may ``principal`` act on the resources of ``role`` ``subject``
    (a user, a source, a partner), as named by the path?

    Writes: only that subject's own token. Reads (``read``): also auditors and admins, who
    may read anyone's. A token of any other role: 403 ``wrong_role`` (as ``require_role``:
    that role never may); a token of the right role for someone else: 403 ``not_yours``.
    """
    require_role(principal, *((role, *READER_ROLES) if read else (role,)))
    if principal.role == role and principal.subject != subject:
        raise Forbidden(
            f"this token belongs to {role} {principal.subject!r} and may not act for {role} {subject!r}",
            code="not_yours",
        )
    return principal
