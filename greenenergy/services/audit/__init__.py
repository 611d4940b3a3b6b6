"""Audit use cases."""
