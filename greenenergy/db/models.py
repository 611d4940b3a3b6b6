"""Every table module, imported once so that ``metadata`` (and Alembic) sees them all."""

from sqlmodel import SQLModel

from greenenergy.db import tables, tables_events, tables_forest, tables_planting, tables_users

TABLE_MODULES = (tables, tables_events, tables_forest, tables_planting, tables_users)
metadata = SQLModel.metadata
