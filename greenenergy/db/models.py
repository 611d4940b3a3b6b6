"""Every table module, imported once so SQLModel.metadata (and Alembic) sees them all."""

from greenenergy.db import tables, tables_events, tables_forest  # noqa: F401
from greenenergy.db import tables_planting  # noqa: F401,E402
