"""Alembic migrations (a package so the scripts ship with the wheel)."""
