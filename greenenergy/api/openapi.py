"""The OpenAPI document, with the error answers the service really sends.

FastAPI documents a 422 of its own shape (``HTTPValidationError``, ``{"detail": [...]}``)
and nothing else. This service answers every error as ``ErrorResponse``
(``{"error": {"code", "message", "details"?}}``, see ``api/errors.py``), so the document
is corrected once, when it is first built: every operation lists, with that schema, the
statuses it can answer, read from what the operation is --

* 401 and 403: it takes a bearer token (no, bad, revoked or expired token; a token of
  another role or subject);
* 404: it has path parameters (an unknown user, ball, tree, order, certificate...; cursors
  such as ``after`` name a row of that path's resource);
* 409: it is an authenticated write (POST, PUT, PATCH, DELETE): the state can refuse it;
* 413: it takes a body (``api/limits.py``; a batch that is too long);
* 422: it takes parameters or a body.

A new route is documented by the same rules without doing anything; ``tests/api/
test_openapi_errors.py`` checks every route and probes that real answers match.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

ERROR_REF = "#/components/schemas/ErrorResponse"
WRITES = frozenset({"post", "put", "patch", "delete"})
DESCRIPTIONS = {
    401: "No token, or an unknown, revoked or expired one (`missing_token`, `invalid_token`, ...)",
    403: "The token may not do this: another role or another subject (`wrong_role`, `not_yours`)",
    404: "A resource named in the path (or a cursor) does not exist",
    409: "The current state refuses the request (e.g. `not_ripe`, `insufficient_energy`, `already_planted`)",
    413: "The body is over 32 MiB (`body_too_large`) or holds too many items (`too_many_events`, `too_many_rows`)",
    422: "A parameter or the body is not acceptable: `invalid_request` (with `details.problems`), "
    "`invalid_json`, `unsupported_media_type`, or the specific code of the rule it breaks",
}
FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(description="stable snake_case code, what scripts match on", examples=["not_ripe"])
    message: str = Field(description="a sentence for a person, saying what to change")
    details: dict[str, Any] | None = Field(default=None, description="more about the error, when there is more")


class ErrorResponse(BaseModel):
    """Every error answer of the API."""

    model_config = ConfigDict(extra="forbid")

    error: ErrorDetail


def error_statuses(method: str, operation: dict[str, Any]) -> list[int]:
    """The error statuses an operation can answer (see the module docstring)."""
    parameters = operation.get("parameters", [])
    has_body = "requestBody" in operation
    authenticated = bool(operation.get("security"))
    statuses = []
    if authenticated:
        statuses += [401, 403]
    if any(p.get("in") == "path" for p in parameters):
        statuses.append(404)
    if authenticated and method in WRITES:
        statuses.append(409)
    if has_body:
        statuses.append(413)
    if parameters or has_body:
        statuses.append(422)
    return statuses


def _error_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
    }
    if status == 401:
        response["headers"] = {"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}}
    return response


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Replace FastAPI's 422 and add the real error answers to every operation, in place."""
    for operations in schema.get("paths", {}).values():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            for status in error_statuses(method, operation):
                responses[str(status)] = _error_response(status)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in FASTAPI_VALIDATION_SCHEMAS:
        components.pop(name, None)
    error_schema = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(error_schema.pop("$defs", {}))
    components["ErrorResponse"] = error_schema
    return schema


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` (``/openapi.json``, ``/docs``) return the corrected document."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
