"""ASGI entry point for process managers: ``uvicorn --factory greenenergy.api.asgi:app_from_env``."""

from __future__ import annotations

from fastapi import FastAPI

from greenenergy.api.app import create_app
from greenenergy.api.gc_tuning import tune_for_serving
from greenenergy.config import load_settings
from greenenergy.services.runtime import Runtime


def app_from_env() -> FastAPI:
    app = create_app(Runtime.from_settings(load_settings()))
    tune_for_serving()
    return app
