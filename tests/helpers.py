"""Small helpers shared by tests (not fixtures)."""

from __future__ import annotations

from greenenergy.services.runtime import Runtime
from greenenergy.services.tokens import create_token


def bearer(runtime: Runtime, role: str, subject: str, allow: list[str] | None = None) -> dict[str, str]:
    token, _ = create_token(runtime, role=role, subject=subject, allow=allow)
    return {"Authorization": f"Bearer {token}"}
