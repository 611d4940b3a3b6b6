"""Read-only queries about a user's trees, for the forest (energy, statement, achievements).

Owned by the planting integration; the forest code calls only these functions.
"""

from __future__ import annotations

from sqlalchemy import Connection

from greenenergy.forest.statement import CertificateRow, TreeRow


def count_trees(connection: Connection, user_id: str) -> int:
    """Virtual trees the user owns (any status), co-planted trees included. TODO(planting)."""
    return 0


def trees_for_statement(connection: Connection, user_id: str, year: int, tz_name: str) -> list[TreeRow]:
    """The user's trees redeemed in the local calendar ``year``. TODO(planting)."""
    return []


def certificates_for_statement(connection: Connection, user_id: str, year: int, tz_name: str) -> list[CertificateRow]:
    """The user's certificates issued in the local calendar ``year``. TODO(planting)."""
    return []
