"""Alembic migrations of the registry store (run by :func:`tilbudskart.store.open_store`)."""
