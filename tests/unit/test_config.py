"""Settings: defaults of CONTRACT.md, and bad values named by variable."""

from __future__ import annotations

import pytest

from greenenergy.config import load_settings
from greenenergy.errors import ConfigError


def test_defaults_match_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "TZ", "SCHEDULER", "CATALOG_DIR"):
        monkeypatch.delenv(f"GREENENERGY_{name}", raising=False)
    settings = load_settings()
    assert settings.database_url == "sqlite:///./greenenergy.db"
    assert settings.tz == "Asia/Shanghai"
    assert settings.scheduler == "inprocess"
    assert (settings.catalog_dir / "pyproject.toml").exists()


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("GREENENERGY_TZ", "Mars/Olympus", "GREENENERGY_TZ: unknown IANA time zone 'Mars/Olympus'"),
        ("GREENENERGY_SCHEDULER", "cron", "GREENENERGY_SCHEDULER: Input should be 'inprocess' or 'off'"),
        ("GREENENERGY_DATABASE_URL", "mysql://x", "GREENENERGY_DATABASE_URL: must be a SQLAlchemy URL"),
    ],
)
def test_bad_values_are_refused_by_variable_name(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert expected in caught.value.message


def test_postgresql_url_gets_the_psycopg_driver() -> None:
    settings = load_settings(database_url="postgresql://u@h/db")
    assert settings.sqlalchemy_url == "postgresql+psycopg://u@h/db"
