"""Every table module, imported once so SQLModel.metadata (and Alembic) sees them all."""
