"""Every table module, imported once so SQLModel.metadata (and Alembic) sees them all."""

from greenenergy.db import tables, tables_events, tables_forest  # noqa: F401
