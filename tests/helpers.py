"""Small helpers shared by tests (not fixtures)."""

from __future__ import annotations

from greenenergy.services.runtime import Runtime
from greenenergy.services.tokens import create_token


def bearer(runtime: Runtime, role: str, subject: str, allow: list[str] | None = None) -> dict[str, str]:
    token, _ = create_token(runtime, role=role, subject=subject, allow=allow)
    return {"Authorization": f"Bearer {token}"}


def pending_g(runtime: Runtime, user_id: str) -> int:
    """The grams waiting in the user's balls in play: what ``pending_g`` of the energy
    endpoint shows. (Energy an event earns waits in its ball, outside the ledger, until the
    ball is collected, stolen or expires, so the ledger's pending account no longer holds it.)"""
    from greenenergy.services.forest.balls import energy

    return energy(runtime, user_id).pending_g
