"""Training subcommands of `more`: data, eval, train, multiwoz, simulate, retrain."""

from __future__ import annotations

import typer


def register(root: typer.Typer) -> None:
    """Attach the training subcommands to the root `more` app."""
    from training.data.cli import register as register_data

    register_data(root)

    from training.more.cli import app as train_app

    root.add_typer(train_app, name="train")

    from training.eval.cli import register as register_eval

    register_eval(root)

    from training.simulate.cli import register as register_simulate

    register_simulate(root)

    from training.multiwoz.cli import register as register_multiwoz

    register_multiwoz(root)

    from training.retrain.cli import register as register_retrain

    register_retrain(root)
