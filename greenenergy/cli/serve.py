"""Running the HTTP server (uvicorn) for `serve` and `demo`."""

from __future__ import annotations

import uvicorn

from greenenergy.api.app import create_app
from greenenergy.api.gc_tuning import tune_for_serving
from greenenergy.scheduler.runner import start_in_process
from greenenergy.services.runtime import Runtime


def serve_forever(runtime: Runtime, *, host: str, port: int) -> None:
    """Serve until interrupted; with GREENENERGY_SCHEDULER=inprocess the jobs run here too."""
    scheduler = start_in_process(runtime) if runtime.settings.scheduler == "inprocess" else None
    try:
        app = create_app(runtime)
        tune_for_serving()
        uvicorn.run(app, host=host, port=port, log_level="info")
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
