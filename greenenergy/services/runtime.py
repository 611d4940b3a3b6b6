"""What every service needs: settings, the database engine and the clock.

Built once by a shell (CLI command, API app factory, scheduler) and passed to services as
a value; tests build one with a ``ManualClock`` and a throw-away database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from greenenergy.clock import Clock, SystemClock
from greenenergy.config import Settings
from greenenergy.db.engine import make_engine


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    clock: Clock
    # Catalogs (rules, species, plots) loaded once per process and cached here by services.
    cache: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock | None = None) -> Runtime:
        return cls(settings=settings, engine=make_engine(settings.sqlalchemy_url), clock=clock or SystemClock())

    def close(self) -> None:
        self.engine.dispose()
