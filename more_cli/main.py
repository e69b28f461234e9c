"""`more`: one entry point; each half of the product registers its own subcommands.

Subcommand modules keep heavy imports (torch, vllm, trl) inside their functions, so
`more --help` stays fast.
"""

from __future__ import annotations

import typer

from app.cli import register as register_serving
from training.cli import register as register_training

app = typer.Typer(
    name="more",
    help="MORE dialogue service: serve the chat API, generate data, train and evaluate policies.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
register_serving(app)
register_training(app)

if __name__ == "__main__":  # pragma: no cover
    app()
