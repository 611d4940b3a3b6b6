"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI

from greenenergy import __version__
from greenenergy.api.errors import install_error_handlers
from greenenergy.api.limits import BodyLimit
from greenenergy.api.openapi import install_openapi
from greenenergy.api.routes import audit, catalog, events, forest, health, ledger, partners, trees
from greenenergy.services.runtime import Runtime

API_PREFIX = "/v1"


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(
        title="greenenergy",
        version=__version__,
        description="An open engine for an Ant Forest-style personal carbon account.",
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    install_openapi(app)
    app.include_router(health.router)
    app.include_router(ledger.router)
    app.include_router(forest.router)
    app.include_router(events.router)
    app.include_router(catalog.router)
    app.include_router(trees.router)
    app.include_router(partners.router)
    app.include_router(audit.router)
    app.add_middleware(BodyLimit)
    return app
