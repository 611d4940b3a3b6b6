"""The one JSON error shape, and the only place HTTP statuses are chosen.

Every error answer is ``{"error": {"code": "<snake_case>", "message": "<sentence>"}}``
(plus ``details`` when there is more to say). Unexpected exceptions answer 500 with a
generic message and are logged; a user error must never reach that branch.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from greenenergy.errors import (
    Conflict,
    Forbidden,
    GreenEnergyError,
    InvalidInput,
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
HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
              422: "invalid_request", 429: "rate_limited"}


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
    return {k: v if isinstance(v, (str, int, float, bool, type(None), list, dict)) else str(v) for k, v in details.items()}


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


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(GreenEnergyError)
    async def _domain(_request: Request, error: GreenEnergyError) -> JSONResponse:
        status = status_for(error)
        if status == 500:
            log.error("unmapped domain error %s: %s", error.code, error.message)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(error_body(error.code, error.message, _jsonable(error.details)), status_code=status,
                            headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, error: RequestValidationError) -> JSONResponse:
        message, problems = _describe_validation(error)
        return JSONResponse(error_body("invalid_request", message, {"problems": problems}), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(error.status_code, "http_error")
        message = error.detail if isinstance(error.detail, str) else code.replace("_", " ")
        if error.status_code == 404 and message == "Not Found":
            message = "no such route; see /docs for the API"
        return JSONResponse(error_body(code, message), status_code=error.status_code,
                            headers=getattr(error, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=error)
        return JSONResponse(error_body("internal_error", "an internal error occurred; it has been logged"),
                            status_code=500)
