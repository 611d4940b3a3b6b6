"""Running the HTTP server (uvicorn) for `serve` and `demo`."""

from __future__ import annotations

import uvicorn

from greenenergy.api.app import create_app
from greenenergy.services.runtime import Runtime


def serve_forever(runtime: Runtime, *, host: str, port: int) -> None:
    uvicorn.run(create_app(runtime), host=host, port=port, log_level="info")
