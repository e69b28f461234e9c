"""SFT, mixed-reward GRPO and MORE policies on MultiWOZ, with the e-commerce trainers.

A MultiWOZ run file (`training/configs/multiwoz/*.yaml`) holds three groups of keys, side
by side like the e-commerce run files (unknown keys are an error):

* `RunArgs` (model, LoRA, `max_train_examples`, `eval_after`, `eval_max_new_tokens`);
* `MultiWozArgs` (below: which turns to train on, which to evaluate on);
* the trainer config: `SFTConfig` for `sft`, `MoreConfig` for `more` (its `mode` picks
  MORE, the fixed-weight mixed reward or an ablation).

The turns become a `TrainSource` for `training.more.run`, so the trainers, outputs, metrics
and model card are those of the e-commerce runs. Setting (docs/multiwoz.md): train on the
2.1 validation split (the ConvLab-2 copy has no train split), evaluate on 2.1 test; the
prompt carries the gold belief state and DB results; targets and outputs are plain
(lexicalised) replies, scored in the evaluator's `lex` mode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from training.data.multiwoz.db import VenueDB
from training.data.multiwoz.turn import MultiWozTurn
from training.more.run import RunArgs, TrainSource, config_class

STAGES = {"sft": "scaffold", "more": "more"}  # MultiWOZ stage -> the trainer stage it runs
# RunArgs keys about TaskExample files: a MultiWOZ run file setting them is a mistake.
TASK_ONLY_KEYS = (
    "train_file",
    "per_cell",
    "verdict_share",
    "reasoned_share",
    "eval_splits",
    "eval_data_dir",
    "eval_max_examples",
)


@dataclass
class MultiWozArgs:
    """Which MultiWOZ turns a run trains on and is evaluated on.

    Parameters:
        data: `multiwoz21` (the ConvLab-2 2.1 copy), `multiwoz22` (official 2.2 layout) or
            `auto` (2.2 when `data_root` or MORE_MULTIWOZ_DIR is set).
        split: training split; `dev` here, since the 2.1 copy has no train split.
        data_root: release folder (else MORE_MULTIWOZ_DIR / MORE_MULTIWOZ21_DIR /
            ../shared/data); the venue DB is found from it as `more multiwoz` finds it.
        dialogues: load only the first N dialogues of `split` (`max_train_examples` then
            keeps the first M of their system turns).
        eval_split: split evaluated after training (when `eval_after`).
        eval_dialogues: first N dialogues of `eval_split` evaluated.
        predict_batch_size: prompts per `generate` call in that evaluation.
    """

    data: str = field(
        default="multiwoz21", metadata={"help": "multiwoz21 | multiwoz22 | auto (see docs)."}
    )
    split: str = field(
        default="dev", metadata={"help": "Training split (the 2.1 copy has no train split)."}
    )
    data_root: str | None = field(
        default=None, metadata={"help": "Release folder (else the configured/shared copy)."}
    )
    dialogues: int | None = field(
        default=None, metadata={"help": "Train on the first N dialogues of the split."}
    )
    eval_split: str = field(default="test", metadata={"help": "Split evaluated after training."})
    eval_dialogues: int | None = field(
        default=20, metadata={"help": "First N dialogues of eval_split evaluated."}
    )
    predict_batch_size: int = field(
        default=8, metadata={"help": "Prompts per generate call in the final evaluation."}
    )


def load_multiwoz_run(
    path: str | Path, stage: str, overrides: dict[str, Any] | None = None
) -> tuple[RunArgs, MultiWozArgs, Any]:
    """Parse a MultiWOZ run YAML for `stage` ("sft" or "more"); `overrides` win over the file."""
    from transformers import HfArgumentParser

    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}: {' or '.join(STAGES)}")
    data = yaml.safe_load(Path(path).read_text()) or {}
    data.update(overrides or {})
    stray = sorted(set(data) & set(TASK_ONLY_KEYS))
    if stray:
        raise ValueError(
            f"{stray} read TaskExample files and do nothing on MultiWOZ: remove them "
            "(training turns come from data/split/dialogues, evaluation from eval_split)"
        )
    parser = HfArgumentParser((RunArgs, MultiWozArgs, config_class(STAGES[stage])))
    run, mwoz, cfg = parser.parse_dict(data, allow_extra_keys=False)
    if stage == "more" and cfg.reference_conditioning and cfg.beta != 0.0:
        # The conditioned reference reads TaskExample.reasoning; MultiWOZ turns carry no
        # reasoning trace and the SFT policy never learnt one, so there is nothing to insert.
        raise ValueError(
            "reference_conditioning needs gold reasoning traces, which MultiWOZ turns do not "
            "have: set reference_conditioning: false (the KL reference is then the starting "
            "adapter on the plain prompt)"
        )
    return run, mwoz, cfg


def load_split_turns(
    mwoz: MultiWozArgs, split: str, dialogues: int | None
) -> tuple[list[MultiWozTurn], VenueDB, str]:
    """The system turns of the first `dialogues` dialogues of `split`, the DB and a label."""
    from training.data.multiwoz.load import LABELS, load_turns, open_db, resolve_data

    name = resolve_data(mwoz.data, mwoz.data_root)  # type: ignore[arg-type]
    db = open_db(name, mwoz.data_root, None)
    turns = load_turns(name, split, root=mwoz.data_root, db=db, limit=dialogues, progress=True)
    head = f", first {dialogues} dialogues" if dialogues is not None else ""
    return turns, db, f"{LABELS[name]} {split}{head}"


def evaluate_multiwoz(
    run: RunArgs, mwoz: MultiWozArgs, adapter_dir: Path, out: Path
) -> dict[str, Any]:
    """Score an adapter on `eval_split`: predictions.json and result.json under `out`."""
    from training.multiwoz.predict import predict_and_score

    turns, db, label = load_split_turns(mwoz, mwoz.eval_split, mwoz.eval_dialogues)
    scored = predict_and_score(
        turns,
        db,
        label=label,
        out=out / "predictions.json",
        result=out / "result.json",
        model=run.model_name_or_path or "bundled",
        adapter=adapter_dir,
        max_new_tokens=run.eval_max_new_tokens,
        batch_size=mwoz.predict_batch_size,
    )
    headline = ("bleu", "inform", "success", "combined", "dialogues", "turns")
    return {label: {k: getattr(scored, k) for k in headline}}


def multiwoz_source(run: RunArgs, mwoz: MultiWozArgs, stage: str) -> TrainSource:
    """The training turns as SFT rows (`sft`) or GRPO rows (`more`), with their evaluation."""
    from training.multiwoz.dataset import build_dataset, build_sft_dataset

    turns, _, label = load_split_turns(mwoz, mwoz.split, mwoz.dialogues)
    if run.max_train_examples is not None:
        turns = turns[: run.max_train_examples]
    if not turns:
        raise ValueError(f"{label}: no system turns to train on")
    n_dialogues = len({t.dialogue_id for t in turns})
    if stage == "sft":
        dataset, use = build_sft_dataset(turns), "the gold plain (lexicalised) reply is the target"
    else:
        dataset, use = build_dataset(turns), "the gold plain reply is the naturalness reference"
    description = (
        f"{label}: {len(turns)} system turns of {n_dialogues} dialogues; the prompt holds the "
        f"gold belief state, DB results and booking (`training/multiwoz/prompt.py`); {use}."
    )
    return TrainSource(
        dataset=dataset, description=description, evaluate=partial(evaluate_multiwoz, run, mwoz)
    )


def train_multiwoz(
    stage: str,
    run: RunArgs,
    mwoz: MultiWozArgs,
    cfg: Any,
    reward_funcs: list[Any] | None = None,
) -> dict[str, Any]:
    """Train one MultiWOZ policy (`sft`, or `more` in the config's mode); returns the summary.

    `reward_funcs` (GRPO only) replaces the functions the config names, as in `train_more`.
    """
    from training.more.run import train_more, train_scaffold

    source = multiwoz_source(run, mwoz, stage)
    if stage == "sft":
        return train_scaffold(run, cfg, source)
    return train_more(run, cfg, reward_funcs, source)
