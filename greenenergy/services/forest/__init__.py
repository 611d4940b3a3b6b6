"""Forest use cases."""
