"""The one JSON error shape, and the only place HTTP statuses are chosen.

Every error answer is ``{"error": {"code": "<snake_case>", "message": "<sentence>"}}``
(plus ``details`` when there is more to say). Unexpected exceptions answer 500 with a
generic message and are logged; a user error must never reach that branch.

A body that cannot be read is 422, never FastAPI's 400: not JSON text (bad syntax or not
UTF-8) is ``invalid_json`` with the line and column; a body sent with another
``Content-Type`` than ``application/json`` (or none) to a JSON route is
``unsupported_media_type`` (422, as the contract lists no 415); a body over the limit,
with or without ``Content-Length``, is 413 ``body_too_large`` (``api/limits.py``).

Credentials come before the body: FastAPI decodes JSON text before it runs a route's
dependencies, so on a route that needs a token, an unreadable body sent without a valid
one answers the 401 a readable body would have got -- a caller without a token learns
nothing about the body, and every caller sees the same order of checks.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from greenenergy.api.deps import bearer_scheme, get_principal
from greenenergy.errors import (
    Conflict,
    Forbidden,
    GreenEnergyError,
    InvalidInput,
    InvalidJson,
    NotFound,
    TooLarge,
    Unauthorized,
)

log = logging.getLogger("greenenergy.api")

STATUS_BY_CATEGORY: tuple[tuple[type[GreenEnergyError], int], ...] = (
    (Unauthorized, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (TooLarge, 413),
    (InvalidInput, 422),
)
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return {"error": body}


def status_for(error: GreenEnergyError) -> int:
    for category, status in STATUS_BY_CATEGORY:
        if isinstance(error, category):
            return status
    return 500


def _jsonable(details: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v if isinstance(v, (str, int, float, bool, type(None), list, dict)) else str(v) for k, v in details.items()
    }


def _describe_validation(error: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    problems = []
    for item in error.errors()[:20]:
        location = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
        problems.append({"field": location or "body", "problem": str(item.get("msg", "invalid"))})
    if not problems:
        return "the request is not valid", problems
    first = problems[0]
    more = f" (and {len(error.errors()) - 1} more problems)" if len(error.errors()) > 1 else ""
    return f"{first['field']}: {first['problem']}{more}", problems


def _unreadable_body(request: Request, error: RequestValidationError) -> JSONResponse | None:
    """The answer when the body itself could not be read as JSON, else None (field errors)."""
    items = error.errors()
    invalid = next((item for item in items if item.get("type") == "json_invalid"), None)
    if invalid is not None and isinstance(error.body, str):  # FastAPI's JSONDecodeError, as a 422 item
        position = next((p for p in invalid.get("loc", ()) if isinstance(p, int)), 0)
        reason = str((invalid.get("ctx") or {}).get("error") or "invalid JSON")
        return _json_error(InvalidJson.from_error(json.JSONDecodeError(reason, error.body, position)))
    whole_body = [item for item in items if tuple(item.get("loc", ())) == ("body",)]
    if whole_body and isinstance(error.body, (bytes, bytearray)):  # not parsed: not sent as JSON
        media = request.headers.get("content-type")
        sent = f"this one has Content-Type {media!r}" if media else "this one has no Content-Type"
        return _json_error(
            InvalidInput(
                f"send the body as JSON with `Content-Type: application/json`; {sent}",
                code="unsupported_media_type",
                content_type=media,
            )
        )
    if whole_body and whole_body[0].get("type") == "missing":
        return _json_error(
            InvalidInput("this request needs a JSON body (`Content-Type: application/json`)", code="missing_body")
        )
    return None


def _needs_principal(dependant: Dependant) -> bool:
    return any(d.call is get_principal or _needs_principal(d) for d in dependant.dependencies)


async def _credentials_error(request: Request) -> GreenEnergyError | None:
    """What the route's own token dependency says of this request: its error, or None (the
    route needs no token, or the token is good)."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None or not _needs_principal(dependant):
        return None
    try:
        credentials = await bearer_scheme(request)
        await run_in_threadpool(get_principal, request.app.state.runtime, credentials)
    except GreenEnergyError as error:
        return error
    return None


def _json_error(error: GreenEnergyError) -> JSONResponse:
    return JSONResponse(error_body(error.code, error.message, _jsonable(error.details)), status_code=status_for(error))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(GreenEnergyError)
    async def _domain(_request: Request, error: GreenEnergyError) -> JSONResponse:
        status = status_for(error)
        if status == 500:
            log.error("unmapped domain error %s: %s", error.code, error.message)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(
            error_body(error.code, error.message, _jsonable(error.details)), status_code=status, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> JSONResponse:
        unreadable = _unreadable_body(request, error)
        if unreadable is not None:
            refused = await _credentials_error(request)
            if refused is not None:
                return await _domain(request, refused)
            return unreadable
        message, problems = _describe_validation(error)
        return JSONResponse(error_body("invalid_request", message, {"problems": problems}), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 400:  # FastAPI could not read the body; the cause says why
            refused = await _credentials_error(request)
            if refused is not None:
                return await _domain(request, refused)
            cause = error.__cause__
            if isinstance(cause, UnicodeDecodeError):
                return _json_error(InvalidJson.from_error(cause))
            return _json_error(
                InvalidInput(f"the request body could not be read: {cause or error.detail}", code="invalid_body")
            )
        code = HTTP_CODES.get(error.status_code, "http_error")
        message = error.detail if isinstance(error.detail, str) else code.replace("_", " ")
        if error.status_code == 404 and message == "Not Found":
            message = "no such route; see /docs for the API"
        return JSONResponse(
            error_body(code, message), status_code=error.status_code, headers=getattr(error, "headers", None)
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=error)
        return JSONResponse(
            error_body("internal_error", "an internal error occurred; it has been logged"), status_code=500
        )
