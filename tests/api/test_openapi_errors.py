"""/openapi.json documents the error answers the service really sends.

Every operation lists, with the one ``ErrorResponse`` schema, the statuses it can answer
(401/403 with a token, 404 with path parameters, 409 for authenticated writes, 413 with a
body, 422 with parameters or a body); FastAPI's ``HTTPValidationError`` is gone. A probe
then calls every operation the way a schema-driven client would (no token, a token of each
role, an empty body, path values that break their pattern) and checks that each answer's
status is documented and each error body is an ``ErrorResponse``.
"""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from greenenergy.api.openapi import ErrorResponse
from greenenergy.services.runtime import Runtime
from tests.helpers import bearer

ERROR_REF = "#/components/schemas/ErrorResponse"
PROBE_VALUES = {"pool_id": "0" * 32, "year": "2026"}


@pytest.fixture
def spec(client: TestClient) -> dict:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(spec: dict) -> list[tuple[str, str, dict]]:
    return [(path, method, op) for path, ops in spec["paths"].items() for method, op in ops.items()]


def expected_statuses(method: str, op: dict) -> set[str]:
    params = op.get("parameters", [])
    secured, body = bool(op.get("security")), "requestBody" in op
    expected = set()
    if secured:
        expected |= {"401", "403"}
    if any(p["in"] == "path" for p in params):
        expected.add("404")
    if secured and method in ("post", "put", "patch", "delete"):
        expected.add("409")
    if body:
        expected.add("413")
    if params or body:
        expected.add("422")
    return expected


def test_every_operation_documents_its_errors_with_the_error_response_schema(spec: dict) -> None:
    assert "HTTPValidationError" not in json.dumps(spec)
    assert spec["components"]["schemas"]["ErrorResponse"]["properties"]["error"] == {
        "$ref": "#/components/schemas/ErrorDetail"
    }
    assert operations(spec)
    for path, method, op in operations(spec):
        errors = {status: response for status, response in op["responses"].items() if status[0] in "45"}
        assert set(errors) == expected_statuses(method, op), (method, path)
        for status, response in errors.items():
            assert response["content"] == {"application/json": {"schema": {"$ref": ERROR_REF}}}, (method, path, status)
    for public in (("/healthz", "get"), ("/v1/species", "get"), ("/v1/plots", "get")):
        assert [s for s in spec["paths"][public[0]][public[1]]["responses"] if s[0] == "4"] == []
    events = spec["paths"]["/v1/events"]["post"]["responses"]
    assert sorted(s for s in events if s[0] == "4") == ["401", "403", "409", "413", "422"]


def _fill(path: str, op: dict, *, broken: bool) -> str:
    for param in op.get("parameters", []):
        if param["in"] == "path":
            value = "no such/value!" if broken else PROBE_VALUES.get(param["name"], "p-1")
            path = path.replace("{" + param["name"] + "}", value.replace("/", "%2F"))
    return path


def _query(op: dict) -> dict[str, str]:
    return {
        p["name"]: PROBE_VALUES[p["name"]]
        for p in op.get("parameters", [])
        if p["in"] == "query" and p.get("required") and p["name"] in PROBE_VALUES
    }


def test_real_answers_match_the_documented_statuses_and_schema(
    client: TestClient, spec: dict, runtime: Runtime
) -> None:
    tokens = [{}] + [bearer(runtime, role, "p-1") for role in ("user", "source", "partner", "auditor", "admin")]
    seen: set[str] = set()
    for path, method, op in operations(spec):
        for broken in (False, True):
            if broken and "{" not in path:
                continue
            url = _fill(path, op, broken=broken)
            for headers in tokens:
                kwargs: dict = {"headers": dict(headers), "params": _query(op)}
                if "requestBody" in op:
                    kwargs["json"] = {}
                response = client.request(method.upper(), url, **kwargs)
                status = str(response.status_code)
                assert status in op["responses"], (method, url, headers, response.text)
                if status[0] in "45":
                    ErrorResponse.model_validate(response.json())  # extra="forbid": exactly that shape
                    assert re.fullmatch(r"[a-z][a-z0-9_]*", response.json()["error"]["code"])
                seen.add(status)
    assert {"401", "403", "404", "422"} <= seen
