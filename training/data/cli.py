"""`more data generate`: write the e-commerce task splits, their dataset card and a summary."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Task data: generate the e-commerce splits.", no_args_is_help=True)


@app.command("generate")
def generate_command(
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same bytes.")] = 7,
    out: Annotated[
        Path, typer.Option(help="Output folder for <split>.jsonl and README.md.")
    ] = Path("data/ecommerce"),
    n_train: Annotated[int, typer.Option(min=0, help="Train examples (customer turns).")] = 6000,
    n_dev: Annotated[int, typer.Option(min=0, help="Dev examples.")] = 300,
    n_test: Annotated[int, typer.Option(min=0, help="Test examples.")] = 300,
    n_hard: Annotated[int, typer.Option(min=0, help="Hard examples (all hard categories).")] = 300,
    n_train_terms: Annotated[
        int, typer.Option(min=0, help="Train examples asking for an instalment term by name.")
    ] = 240,
    n_refs: Annotated[int, typer.Option(min=3, help="Reference replies per example.")] = 4,
) -> None:
    """Generate train/dev/test/hard as JSONL (one TaskExample per line) plus a dataset card."""
    from tqdm import tqdm

    from app.domain.rules import Action
    from training.data.ecommerce import (
        GENERATOR_VERSION,
        SplitSizes,
        dataset_card,
        generate,
        split_path,
        write_split,
    )

    sizes = SplitSizes(
        train=n_train, dev=n_dev, test=n_test, hard=n_hard, train_terms=n_train_terms
    )
    total = n_train + n_dev + n_test + n_hard + n_train_terms
    with tqdm(total=total, desc="generating", unit="ex") as bar:
        splits = generate(seed, sizes, n_refs=n_refs, on_example=lambda: bar.update(1))
    for split, examples in splits.items():
        write_split(examples, split_path(out, split))
    card = out / "README.md"
    card.write_text(dataset_card(splits, seed=seed, version=GENERATOR_VERSION), encoding="utf-8")

    actions = [a.value for a in Action]
    header = f"{'split':<6} {'examples':>8} " + " ".join(f"{a:>8}" for a in actions)
    typer.echo(header)
    typer.echo("-" * len(header))
    for split, examples in splits.items():
        counts = Counter(ex.decision.action.value for ex in examples)
        row = " ".join(f"{counts[a]:>8}" for a in actions)
        typer.echo(f"{split.value:<6} {len(examples):>8} {row}")
    typer.echo(f"wrote {total} examples to {out}/ (seed {seed}); dataset card: {card}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="data")
