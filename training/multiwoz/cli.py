"""`more multiwoz ...`: evaluate predictions, export references and datasets, run the baseline,
train SFT / mixed-reward GRPO / MORE policies and score them.

more multiwoz train sft  --config training/configs/multiwoz/sft.yaml [--set max_steps=2]
more multiwoz train more --config training/configs/multiwoz/more.yaml   # or mixed.yaml
more multiwoz predict --adapter runs/multiwoz/sft/adapter --dialogues 20 --out preds.json
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from training.more.cli import ConfigOpt, SetOpt

app = typer.Typer(
    help="MultiWOZ benchmark: BLEU / Inform / Success, data export, baseline, training."
)
train_app = typer.Typer(
    help="Train MultiWOZ policies: SFT, then GRPO (MORE or the mixed reward).",
    no_args_is_help=True,
)
app.add_typer(train_app, name="train")

DataOpt = Annotated[
    str,
    typer.Option(
        help="multiwoz22 (official 2.2 layout), multiwoz21 (ConvLab-2 2.1 zips) or auto "
        "(2.2 when --root or MORE_MULTIWOZ_DIR is set)"
    ),
]
SplitOpt = Annotated[str, typer.Option(help="train, dev or test")]
RootOpt = Annotated[
    Path | None,
    typer.Option(help="data root (else MORE_MULTIWOZ_DIR / MORE_MULTIWOZ21_DIR / ../shared/data)"),
]
DbOpt = Annotated[Path | None, typer.Option(help="venue DB folder (else MORE_MULTIWOZ_DB_DIR)")]
DialoguesOpt = Annotated[int, typer.Option(help="evaluate the first N dialogues")]
MaxNewTokensOpt = Annotated[int, typer.Option(help="reply budget in tokens")]
BatchSizeOpt = Annotated[int, typer.Option(help="prompts per generate call")]
ThreadsOpt = Annotated[
    int,
    typer.Option(
        help="torch CPU threads (1 is much faster on a busy shared CPU; raise it on a free one)"
    ),
]


def _set_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def _load(
    data: str,
    split: str,
    root: Path | None,
    db_path: Path | None,
    limit: int | None = None,
    goals: str = "derived",
):
    from training.data.multiwoz.load import LABELS, load_turns, open_db, resolve_data

    name = resolve_data(data, root)  # type: ignore[arg-type]
    db = open_db(name, root, db_path)
    turns = load_turns(name, split, root=root, db=db, limit=limit, progress=True, goals=goals)  # type: ignore[arg-type]
    return turns, db, f"{LABELS[name]} {split}"


@app.command("eval")
def eval_command(
    predictions: Annotated[Path, typer.Option(help="JSON {dialogue_id: [{response, ...}]}")],
    data: DataOpt = "auto",
    split: SplitOpt = "test",
    root: RootOpt = None,
    db: DbOpt = None,
    mode: Annotated[
        str, typer.Option(help="auto | delex (replies hold placeholders) | lex (plain text)")
    ] = "auto",
    out: Annotated[Path | None, typer.Option(help="write the full result as JSON")] = None,
    goals: Annotated[
        str,
        typer.Option(
            help="2.2 only: derived (from the annotations) or multiwoz21 (the 2.1 goals of the "
            "same dialogues, from MORE_MULTIWOZ21_DIR, as the standard evaluator uses)"
        ),
    ] = "derived",
) -> None:
    """Score predictions: corpus BLEU, Inform, Success, Combined."""
    from training.multiwoz.evaluator import evaluate, group_dialogues, read_predictions

    turns, venue_db, label = _load(data, split, root, db, goals=goals)
    result = evaluate(read_predictions(predictions), group_dialogues(turns), venue_db, mode=mode)  # type: ignore[arg-type]
    if out:
        out.write_text(json.dumps({"data": label, **result.model_dump()}, indent=2) + "\n")
    typer.echo(f"{label}: {result.summary()}")
    typer.echo(f"  inform by domain:  {result.inform_by_domain}")
    typer.echo(f"  success by domain: {result.success_by_domain}")


@app.command("references")
def references_command(
    out: Annotated[Path, typer.Option(help="predictions file to write")],
    data: DataOpt = "auto",
    split: SplitOpt = "test",
    root: RootOpt = None,
    db: DbOpt = None,
    lexicalised: Annotated[bool, typer.Option(help="raw replies instead of delexicalised")] = False,
) -> None:
    """Write the gold replies in the predictions format (the identity check's input)."""
    turns, _, label = _load(data, split, root, db)
    predictions: dict[str, list[dict[str, str]]] = {}
    for turn in turns:
        text = turn.reply if lexicalised else turn.delex_reply
        predictions.setdefault(turn.dialogue_id, []).append({"response": text})
    out.write_text(json.dumps(predictions, indent=1) + "\n")
    typer.echo(f"{label}: wrote {len(turns)} replies of {len(predictions)} dialogues to {out}")


@app.command("export")
def export_command(
    out: Annotated[Path, typer.Option(help="JSONL of MultiWozTurn records")],
    data: DataOpt = "auto",
    split: SplitOpt = "test",
    root: RootOpt = None,
    db: DbOpt = None,
    limit: Annotated[int | None, typer.Option(help="first N dialogues")] = None,
) -> None:
    """Export turns (context, belief state, DB results, replies, acts, goal) as JSONL."""
    turns, _, label = _load(data, split, root, db, limit)
    with out.open("w") as fh:
        for turn in turns:
            fh.write(turn.model_dump_json() + "\n")
    typer.echo(f"{label}: wrote {len(turns)} turns to {out}")


@app.command("dataset")
def dataset_command(
    out: Annotated[Path, typer.Option(help="folder for datasets.Dataset.save_to_disk")],
    data: DataOpt = "auto",
    split: Annotated[
        str, typer.Option(help="train split; the 2.1 copy has none, so `dev` stands in")
    ] = "dev",
    root: RootOpt = None,
    db: DbOpt = None,
    limit: Annotated[int | None, typer.Option(help="first N dialogues")] = None,
) -> None:
    """Build the GRPO dataset (`prompt`, `example`, `references`) for the MORE trainer."""
    from training.multiwoz.dataset import build_dataset

    turns, _, label = _load(data, split, root, db, limit)
    dataset = build_dataset(turns)
    dataset.save_to_disk(str(out))
    typer.echo(f"{label}: {len(dataset)} rows -> {out}")


@app.command("baseline")
def baseline_command(
    out: Annotated[Path, typer.Option(help="predictions file to write")],
    model: Annotated[
        str, typer.Option(help="HF model folder, or `bundled` (SmolLM2-135M)")
    ] = "bundled",
    data: DataOpt = "auto",
    split: SplitOpt = "test",
    root: RootOpt = None,
    db: DbOpt = None,
    dialogues: DialoguesOpt = 20,
    max_new_tokens: MaxNewTokensOpt = 48,
    batch_size: BatchSizeOpt = 8,
    result: Annotated[Path | None, typer.Option(help="also evaluate and write JSON here")] = None,
) -> None:
    """Generate replies with a prompted base model (greedy), then evaluate them."""
    _predict(
        (data, split, root, db, dialogues),
        out=out,
        result=result,
        model=model,
        adapter=None,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
    )


@app.command("predict")
def predict_command(
    adapter: Annotated[
        Path, typer.Option(exists=True, file_okay=False, help="trained LoRA adapter folder")
    ],
    out: Annotated[Path, typer.Option(help="predictions file to write")],
    result: Annotated[Path | None, typer.Option(help="write the scores as JSON here")] = None,
    model: Annotated[
        str | None,
        typer.Option(help="base model folder (default: the adapter's recorded base, or bundled)"),
    ] = None,
    data: DataOpt = "auto",
    split: SplitOpt = "test",
    root: RootOpt = None,
    db: DbOpt = None,
    dialogues: DialoguesOpt = 20,
    max_new_tokens: MaxNewTokensOpt = 48,
    batch_size: BatchSizeOpt = 8,
    threads: ThreadsOpt = 1,
) -> None:
    """Generate replies with base model + adapter (greedy), then score BLEU/Inform/Success."""
    from training.more.export import recorded_base

    _set_threads(threads)
    _predict(
        (data, split, root, db, dialogues),
        out=out,
        result=result,
        model=model or str(recorded_base(adapter)),
        adapter=adapter,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
    )


def _predict(
    source: tuple[str, str, Path | None, Path | None, int | None],
    *,
    out: Path,
    result: Path | None,
    model: str,
    adapter: Path | None,
    max_new_tokens: int,
    batch_size: int,
) -> None:
    """Load the turns (`_load` arguments), generate, write, score and print one line."""
    from training.multiwoz.predict import predict_and_score

    turns, venue_db, label = _load(*source)
    scored = predict_and_score(
        turns,
        venue_db,
        label=label,
        out=out,
        result=result,
        model=model,
        adapter=adapter,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
    )
    typer.echo(f"{label}, {adapter or model}: {scored.summary()}")


def _train(stage: str, config: Path, set_: list[str] | None, threads: int) -> None:
    from training.more.cli import _overrides, _report
    from training.multiwoz.train import load_multiwoz_run, train_multiwoz

    _set_threads(threads)
    run, mwoz, cfg = load_multiwoz_run(config, stage, _overrides(set_))
    _report(train_multiwoz(stage, run, mwoz, cfg))


@train_app.command("sft")
def train_sft_command(config: ConfigOpt, set_: SetOpt = None, threads: ThreadsOpt = 1) -> None:
    """LoRA SFT on the gold plain replies of the training turns."""
    _train("sft", config, set_, threads)


@train_app.command("more")
def train_more_command(config: ConfigOpt, set_: SetOpt = None, threads: ThreadsOpt = 1) -> None:
    """GRPO from the SFT adapter: MORE, or the fixed-weight mixed reward (`mode` in the config)."""
    _train("more", config, set_, threads)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="multiwoz")
