"""A body that cannot be read is 413 or 422 with a specific message, never FastAPI's 400.

Not JSON text (bad syntax, or bytes that are not UTF-8) is 422 ``invalid_json`` saying what
and where; JSON sent without ``Content-Type: application/json`` is 422
``unsupported_media_type`` saying what to send; a body over the limit without a
``Content-Length`` (chunked) is 413 ``body_too_large`` like one that declares its length.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from greenenergy.api.limits import MAX_BODY_BYTES
from greenenergy.services.runtime import Runtime
from tests.helpers import bearer

BATCH = {
    "events": [
        {
            "event_id": "e-1",
            "type": "transit.bus",
            "user_id": "u-1",
            "occurred_at": "2026-11-20T09:00:00+08:00",
            "data": {},
        }
    ]
}


@pytest.fixture
def source(runtime: Runtime) -> dict[str, str]:
    return bearer(runtime, "source", "metro")


def error_of(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error"}
    error = response.json()["error"]
    assert error["code"] == code, error
    return error


def test_invalid_utf8_is_422_invalid_json_with_where(client: TestClient, source: dict[str, str]) -> None:
    body = b'{"events": [\n  {"event_id": "\xff"}]}'
    error = error_of(
        client.post("/v1/events", content=body, headers={**source, "content-type": "application/json"}),
        422,
        "invalid_json",
    )
    assert error["message"] == "the body is not valid JSON: invalid UTF-8 (byte 0xff) at line 2, column 17"
    assert error["details"] == {"line": 2, "column": 17, "position": 29}


def test_a_syntax_error_says_the_body_is_not_json_and_where_not_a_field_named_0(
    client: TestClient, source: dict[str, str]
) -> None:
    body = b'{"events": [\n  {"event_id": "e-1",}\n]}'
    error = error_of(
        client.post("/v1/events", content=body, headers={**source, "content-type": "application/json"}),
        422,
        "invalid_json",
    )
    assert error["message"] == (
        "the body is not valid JSON: expecting property name enclosed in double quotes at line 2, column 22"
    )
    assert (error["details"]["line"], error["details"]["column"]) == (2, 22)
    assert "problems" not in error["details"]


@pytest.mark.parametrize("media", ["text/plain", None])
def test_json_sent_as_another_media_type_says_to_send_application_json(
    client: TestClient, source: dict[str, str], runtime: Runtime, media: str | None
) -> None:
    headers = {**source, **({"content-type": media} if media else {})}
    error = error_of(
        client.post("/v1/events", content=json.dumps(BATCH).encode(), headers=headers), 422, "unsupported_media_type"
    )
    assert "`Content-Type: application/json`" in error["message"]
    assert (repr(media) if media else "no Content-Type") in error["message"]
    user = bearer(runtime, "user", "u-1")
    water = client.post(
        "/v1/users/u-1/water",
        content=b'{"friend_id": "u-2", "energy_g": 10}',
        headers={**user, "content-type": "text/plain"},
    )
    error_of(water, 422, "unsupported_media_type")


def test_an_empty_body_says_a_json_body_is_needed(client: TestClient, source: dict[str, str]) -> None:
    error = error_of(
        client.post("/v1/events", headers={**source, "content-type": "application/json"}), 422, "missing_body"
    )
    assert "JSON body" in error["message"]


def test_a_chunked_body_over_the_limit_is_413_body_too_large(client: TestClient, source: dict[str, str]) -> None:
    chunk = b" " * (1024 * 1024)

    def chunks() -> Iterator[bytes]:
        yield b"{"
        for _ in range(MAX_BODY_BYTES // len(chunk) + 1):
            yield chunk
        yield b"}"

    response = client.post("/v1/events", content=chunks(), headers={**source, "content-type": "application/json"})
    error = error_of(response, 413, "body_too_large")
    assert str(MAX_BODY_BYTES) in error["message"]


def test_bulk_json_that_is_not_json_says_where(client: TestClient, runtime: Runtime) -> None:
    partner = client.get("/v1/plots").json()[0]["partner_id"]
    headers = {**bearer(runtime, "partner", partner), "content-type": "application/json"}
    path = f"/v1/partners/{partner}/plantings:bulk"
    error = error_of(client.post(path, content=b"[1, 2", headers=headers), 422, "invalid_json")
    assert error["message"] == "the body is not valid JSON: expecting ',' delimiter at line 1, column 6"
    answer = client.post(path, content=b"[\xc3]", headers=headers)
    assert error_of(answer, 422, "invalid_json")["message"].startswith("the body is not valid JSON: invalid UTF-8")


UNREADABLE = [b'{"events": [', b'{"events": "\xc3"}']


@pytest.mark.parametrize("body", UNREADABLE, ids=["bad syntax", "not utf-8"])
@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "missing_token"),
        ("Basic dTpw", "missing_token"),
        ("Bearer ge_000000000000_unknown", "invalid_token"),
        ("Bearer something-else", "invalid_token"),
    ],
)
def test_an_unreadable_body_without_a_valid_token_is_401_like_a_readable_one(
    client: TestClient, body: bytes, authorization: str | None, code: str
) -> None:
    """FastAPI reads JSON text before the token check; the answer must not depend on that."""
    headers = {"content-type": "application/json"}
    if authorization:
        headers["Authorization"] = authorization
    unreadable = client.post("/v1/events", content=body, headers=headers)
    readable = client.post("/v1/events", json=BATCH, headers=headers)
    assert error_of(unreadable, 401, code) == error_of(readable, 401, code)
    assert unreadable.headers["www-authenticate"] == "Bearer"


def test_a_revoked_token_with_an_unreadable_body_is_told_it_was_revoked(client: TestClient, runtime: Runtime) -> None:
    from greenenergy.services.tokens import create_token, revoke_token

    token, info = create_token(runtime, role="source", subject="metro")
    revoke_token(runtime, info.id)
    answer = client.post(
        "/v1/events", content=b"{", headers={"Authorization": f"Bearer {token}", "content-type": "application/json"}
    )
    error_of(answer, 401, "token_revoked")


def test_a_valid_token_still_learns_where_the_body_is_broken(client: TestClient, source: dict[str, str]) -> None:
    answer = client.post("/v1/events", content=b'{"events": [', headers={**source, "content-type": "application/json"})
    assert error_of(answer, 422, "invalid_json")["details"] == {"line": 1, "column": 13, "position": 12}
