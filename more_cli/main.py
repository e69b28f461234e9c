"""`more`: one entry point; each half of the product registers its own subcommands.

Subcommand modules keep heavy imports (torch, vllm, trl) inside their functions, so
`more --help` stays fast, and the serving commands run where only the serving stack is
installed (the Docker image leaves out the `train` extra).
"""

from __future__ import annotations

import sys

import typer

from app.cli import register as register_serving
from training.cli import register as register_training

# Top-level packages only the `train` extra installs (pyproject.toml).
TRAIN_EXTRA = frozenset({"trl", "datasets", "sacrebleu", "rapidfuzz", "sacremoses"})

app = typer.Typer(
    name="more",
    help="MORE dialogue service: serve the chat API, generate data, train and evaluate policies.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
register_serving(app)
register_training(app)


def main() -> None:
    """The `more` console script: the app, with a clear word when the training stack is
    missing instead of a traceback."""
    try:
        app(standalone_mode=True)
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in TRAIN_EXTRA:
            raise
        typer.secho(
            f"this command needs the training stack ({exc.name} is not installed): "
            "pip install 'more-dialogue[train]' (make install does)",
            fg=typer.colors.RED,
            err=True,
        )
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
