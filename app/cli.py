"""Serving subcommands of `more`: bootstrap, serve, db, seed-demo, apikey."""

from __future__ import annotations

import typer


def register(root: typer.Typer) -> None:
    """Attach the serving subcommands to the root `more` app."""
