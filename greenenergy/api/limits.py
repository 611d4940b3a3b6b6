"""Request body limit: an oversized body is refused with 413 ``body_too_large`` before it is parsed.

A declared ``Content-Length`` over the limit is answered at once. A body without one
(chunked transfer encoding) is counted as it arrives; past the limit, reading it raises
``BodyTooLarge``, an ``HTTPException``, because FastAPI's body parsing passes those on
(any other exception there becomes a 400) to the handler of ``api/errors.py``.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from greenenergy.api.errors import error_body

MAX_BODY_BYTES = 32 * 1024 * 1024  # 10,000 events of ~3 KB each


class BodyTooLarge(HTTPException):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, detail=f"the request body is larger than {max_bytes} bytes")


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _refuse(send, self.max_bytes)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, limited_receive, send)


async def _refuse(send: Send, max_bytes: int) -> None:
    body = json.dumps(error_body("body_too_large", f"the request body is larger than {max_bytes} bytes")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
