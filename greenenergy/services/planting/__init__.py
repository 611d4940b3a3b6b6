"""Planting use cases."""
