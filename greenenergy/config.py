"""One ``Settings`` for the whole service, read from ``GREENENERGY_*`` variables.

Built once in the shells (CLI, API app factory) and passed down as a value; never read at
import time. Nonsense values are refused with a ``ConfigError`` naming the variable and
what it accepts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from greenenergy.errors import ConfigError

ENV_PREFIX = "GREENENERGY_"


def _default_catalog_dir() -> Path:
    # The project root: the folder that holds rules/, trees/ and partners/ next to the package.
    return Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    database_url: str = "sqlite:///./greenenergy.db"
    catalog_dir: Path = _default_catalog_dir()
    tz: str = "Asia/Shanghai"
    scheduler: Literal["inprocess", "off"] = "inprocess"
    # Plausibility of ingested events: a day's running step total above this is implausible,
    # and so is a burst of more events of one type for one user in one clock hour.
    max_daily_steps: int = Field(default=100_000, gt=0)
    max_events_per_hour: int = Field(default=120, gt=0)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")):
            raise ValueError("must be a SQLAlchemy URL starting with sqlite:// or postgresql+psycopg://")
        return value

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown IANA time zone {value!r} (e.g. Asia/Shanghai)") from error
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def sqlalchemy_url(self) -> str:
        """The URL with the psycopg 3 driver named, as SQLAlchemy needs it."""
        if self.database_url.startswith("postgresql://"):
            return "postgresql+psycopg://" + self.database_url[len("postgresql://") :]
        return self.database_url


def load_settings(**overrides: object) -> Settings:
    """Read the environment (plus explicit overrides); refuse bad values by variable name."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        problems = []
        for item in error.errors():
            field = str(item["loc"][0]) if item["loc"] else "?"
            message = str(item["msg"]).removeprefix("Value error, ")
            problems.append(f"{ENV_PREFIX}{field.upper()}: {message}")
        raise ConfigError("; ".join(problems)) from None
