"""Training subcommands of `more`: data, eval, train, multiwoz, simulate, retrain."""

from __future__ import annotations

import typer


def register(root: typer.Typer) -> None:
    """Attach the training subcommands to the root `more` app."""
