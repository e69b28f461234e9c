"""Run both MORE stages from one YAML file per run (`training/configs/*.yaml`).

A run file holds `RunArgs` keys (model, data, LoRA, evaluation) and the trainer config's
keys (`SFTConfig` for the scaffold, `MoreConfig` for stage 2) side by side; unknown keys
are an error. Everything a run produces lands in its `output_dir`:

    run_config.yaml   the resolved configuration (every field, defaults included)
    metrics.jsonl     one line per step: rewards, constraint means, λ, w, KL, loss, step time
    plots/*.png       curves of those metrics
    checkpoint-*/     TRL checkpoints (+ more_state.json with λ and w)
    adapter/          the final LoRA adapter (PEFT format: transformers + PEFT and vLLM load it)
    summary.json      final metrics (and evaluation results when the eval module ran)

Both stages read TaskExamples from `train_file`; another benchmark passes its own rows as a
`TrainSource` instead (MultiWOZ: `training/multiwoz/train.py`), with the trainers unchanged.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

logger = logging.getLogger(__name__)


@dataclass
class RunArgs:
    """What a run trains on and with, beside the trainer config.

    Parameters:
        model_name_or_path: base model folder; unset = the bundled SmolLM2-135M-Instruct.
        train_file: TaskExample JSONL of the training split.
        max_train_examples: keep the first N examples (budgeted CPU runs).
        lora_r, lora_alpha, lora_dropout, lora_target_modules: the LoRA adapter.
        per_cell: SFT: at most this many examples per (action, reason) cell (None: all).
        verdict_share: share of prompts carrying the rules' verdict line (serving adds it
            when it recognises the intent).
        reasoned_share: scaffold: share of examples that also get a reasoned row (marker
            prompt, trace, reply); 0 for plain SFT.
        head_tokens, head_weight: SFT: loss weight of the reply's first tokens (the stance).
        eval_after: run the evaluation module on `eval_splits` after training when present.
        eval_splits: splits evaluated at the end.
        eval_data_dir: folder holding `<split>.jsonl` for the evaluation.
        eval_max_examples: examples per split in the final evaluation.
        eval_max_new_tokens: reply budget in the final evaluation.
    """

    model_name_or_path: str | None = field(
        default=None, metadata={"help": "Base model folder (unset: the bundled SmolLM2)."}
    )
    train_file: str = field(
        default="data/ecommerce/train.jsonl", metadata={"help": "TaskExample JSONL to train on."}
    )
    max_train_examples: int | None = field(
        default=None, metadata={"help": "Use only the first N training examples."}
    )
    lora_r: int = field(default=16, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha."})
    lora_dropout: float = field(default=0.05, metadata={"help": "LoRA dropout."})
    lora_target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"],
        metadata={"help": "Modules the LoRA adapts."},
    )
    per_cell: int | None = field(
        default=None,
        metadata={"help": "SFT: at most N examples per (action, reason) cell (unset: all)."},
    )
    verdict_share: float = field(
        default=0.75, metadata={"help": "Share of prompts with the rules' verdict line."}
    )
    reasoned_share: float = field(
        default=0.0,
        metadata={"help": "Scaffold: share of examples that also get a reasoned row (0: SFT)."},
    )
    head_tokens: int = field(
        default=4, metadata={"help": "SFT: reply tokens weighted as the stance."}
    )
    head_weight: float = field(
        default=2.0, metadata={"help": "SFT: loss weight of those tokens (1 = plain SFT)."}
    )
    eval_after: bool = field(default=True, metadata={"help": "Evaluate on eval_splits at the end."})
    eval_splits: list[str] = field(
        default_factory=lambda: ["dev", "test", "hard"], metadata={"help": "Splits evaluated."}
    )
    eval_data_dir: str = field(
        default="data/ecommerce", metadata={"help": "Folder with <split>.jsonl for evaluation."}
    )
    eval_max_examples: int | None = field(
        default=200, metadata={"help": "Examples per split in the final evaluation."}
    )
    eval_max_new_tokens: int = field(
        default=64, metadata={"help": "Reply budget (tokens) in the final evaluation."}
    )


@dataclass(frozen=True)
class TrainSource:
    """Training rows built outside `train_file`, for either stage.

    Parameters:
        dataset: a `datasets.Dataset` in the stage's format: `prompt`/`completion` for SFT,
            `prompt` plus the columns the rewards read for GRPO.
        description: the model card's Data section (what the rows are, how many).
        evaluate: `(adapter_dir, out_dir) -> {name: figures}`, run after training when
            `eval_after` is set, in place of the task evaluation of `eval_splits`;
            None skips evaluation.
    """

    dataset: Any
    description: str
    evaluate: Callable[[Path, Path], dict[str, Any]] | None = None


def _parse(data: dict[str, Any], config_cls: type) -> tuple[RunArgs, Any]:
    from transformers import HfArgumentParser

    parser = HfArgumentParser((RunArgs, config_cls))
    run, cfg = parser.parse_dict(data, allow_extra_keys=False)
    return run, cfg


def load_run(
    path: str | Path, stage: str, overrides: dict[str, Any] | None = None
) -> tuple[RunArgs, Any]:
    """Parse a run YAML for `stage` ("scaffold" or "more"); `overrides` win over the file."""
    data = yaml.safe_load(Path(path).read_text()) or {}
    data.update(overrides or {})
    return _parse(data, config_class(stage))


def config_class(stage: str) -> type:
    """The trainer config class of `stage`: `SFTConfig` ("scaffold") or `MoreConfig`."""
    if stage == "scaffold":
        from trl import SFTConfig

        return SFTConfig
    if stage == "more":
        from training.more.config import MoreConfig

        return MoreConfig
    raise ValueError(f"unknown stage {stage!r}: scaffold or more")


def save_resolved(run: RunArgs, cfg: Any, out: Path) -> Path:
    """Write every resolved field (defaults included) next to the run's outputs."""
    out.mkdir(parents=True, exist_ok=True)
    target = out / "run_config.yaml"
    if os.environ.get("RANK", "0") != "0":  # under accelerate launch only rank 0 writes
        return target
    fields = {"run": dataclasses.asdict(run), "trainer": _plain(cfg.to_dict())}
    target.write_text(yaml.safe_dump(fields, sort_keys=True))
    return target


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, str | int | float | bool) or obj is None:
        return obj
    return str(obj)


def _model_path(run: RunArgs) -> str:
    if run.model_name_or_path:
        return run.model_name_or_path
    from app.engine.bundled import ensure_bundled_model

    return str(ensure_bundled_model())


def _lora(run: RunArgs) -> Any:
    from peft import LoraConfig

    return LoraConfig(
        r=run.lora_r,
        lora_alpha=run.lora_alpha,
        lora_dropout=run.lora_dropout,
        target_modules=list(run.lora_target_modules),
        task_type="CAUSAL_LM",
    )


def _load_base(path: str) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    # fp32: bf16 is slower than fp32 on CPUs without AMX (DESIGN §2).
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    return model, tokenizer


def _finish(
    trainer: Any, run: RunArgs, out: Path, started: float, source: TrainSource | None = None
) -> dict[str, Any]:
    """Save the adapter, draw the plots, evaluate, write and return the summary."""
    from training.more.card import write_model_card
    from training.more.metrics import plot_metrics

    adapter_dir = out / "adapter"
    model = trainer.accelerator.unwrap_model(trainer.model)
    if "ref" in getattr(model, "peft_config", {}):
        # Ship only the policy: the frozen "ref" copy TRL adds is a training detail.
        if trainer.accelerator.is_main_process:
            model.save_pretrained(str(adapter_dir), selected_adapters=["default"])
    else:
        trainer.save_model(str(adapter_dir))
    if not trainer.accelerator.is_main_process:
        return {"adapter": str(adapter_dir), "steps": trainer.state.global_step}
    trainer.processing_class.save_pretrained(str(adapter_dir))
    metrics_file = out / "metrics.jsonl"
    plots = plot_metrics(metrics_file, out / "plots") if metrics_file.exists() else []
    history = [h for h in trainer.state.log_history if "loss" in h]
    summary: dict[str, Any] = {
        "adapter": str(adapter_dir),
        "steps": trainer.state.global_step,
        "processes": trainer.accelerator.num_processes,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "final": history[-1] if history else {},
        "plots": [str(p) for p in plots],
    }
    if run.eval_after:
        if source is None:
            summary["evaluation"] = evaluate_adapter(run, adapter_dir, out / "eval")
        elif source.evaluate is not None:
            summary["evaluation"] = source.evaluate(adapter_dir, out / "eval")
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    write_model_card(
        adapter_dir,
        stage=type(trainer).__name__,
        summary=summary,
        config_file=out / "run_config.yaml",
        train_file=Path(run.train_file),
        seed=trainer.args.seed,
        data=source.description if source is not None else None,
    )
    return summary


def evaluate_adapter(run: RunArgs, adapter_dir: Path, out: Path) -> dict[str, Any]:
    """`more eval` on each split (the evaluation module), headline figures per split."""
    from training.eval.runner import run_eval

    results: dict[str, Any] = {}
    for split in run.eval_splits:
        if not (Path(run.eval_data_dir) / f"{split}.jsonl").is_file():
            results[split] = f"skipped: {run.eval_data_dir}/{split}.jsonl missing"
            continue
        result = run_eval(
            f"adapter:{adapter_dir}",
            split=split,
            data=run.eval_data_dir,
            limit=run.eval_max_examples,
            out_dir=out / split,
            model_path=run.model_name_or_path,
            max_new_tokens=run.eval_max_new_tokens,
        )
        results[split] = result.report["overall"]
    return results


def train_scaffold(run: RunArgs, cfg: Any, source: TrainSource | None = None) -> dict[str, Any]:
    """Stage 1: LoRA SFT teaching "reason over the profile, then reply", plus direct replies.

    With a `source`, plain LoRA SFT on its prompt/completion rows instead of `train_file`.
    """
    from training.more.data import balanced, load_examples, sft_dataset
    from training.more.metrics import MetricsJsonlCallback
    from training.more.sft import ReplySFTTrainer

    started = time.perf_counter()
    out = Path(cfg.output_dir)
    save_resolved(run, cfg, out)
    if source is not None:
        dataset = source.dataset
    else:
        examples = load_examples(run.train_file, run.max_train_examples)
        dataset = sft_dataset(
            balanced(examples, run.per_cell, seed=cfg.seed),
            verdict_share=run.verdict_share,
            reasoned_share=run.reasoned_share,
            seed=cfg.seed,
        )
    model, tokenizer = _load_base(_model_path(run))
    trainer = ReplySFTTrainer(
        model=model,
        args=cfg,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=_lora(run),
        callbacks=[MetricsJsonlCallback(out / "metrics.jsonl")],
        head_tokens=run.head_tokens,
        head_weight=run.head_weight,
    )
    trainer.train(resume_from_checkpoint=_resume(cfg))
    return _finish(trainer, run, out, started, source)


def build_more_trainer(
    run: RunArgs,
    cfg: Any,
    reward_funcs: list[Any] | None = None,
    source: TrainSource | None = None,
) -> Any:
    """Stage 2 trainer: the scaffold adapter (trainable) as policy, its frozen copy as reference.

    Trains on `source.dataset` when given, else on the TaskExamples of `run.train_file`.
    """
    from training.more.data import balanced, grpo_dataset, load_examples
    from training.more.metrics import MetricsJsonlCallback
    from training.more.rewards import resolve_rewards
    from training.more.trainer import MoreTrainer

    out = Path(cfg.output_dir)
    dataset = (
        source.dataset
        if source is not None
        else grpo_dataset(
            balanced(load_examples(run.train_file, run.max_train_examples), run.per_cell, cfg.seed),
            verdict_share=run.verdict_share,
            seed=cfg.seed,
        )
    )
    model, tokenizer = _load_base(_model_path(run))
    peft_config = None
    if cfg.scaffold_path:
        from peft import PeftModel

        # Continue training the scaffold's adapter; TRL copies it to a frozen "ref" adapter.
        model = PeftModel.from_pretrained(model, cfg.scaffold_path, is_trainable=True)
    else:
        peft_config = _lora(run)
    return MoreTrainer(
        model=model,
        reward_funcs=reward_funcs
        if reward_funcs is not None
        else resolve_rewards(cfg.reward_names),
        args=cfg,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[MetricsJsonlCallback(out / "metrics.jsonl")],
    )


def train_more(
    run: RunArgs,
    cfg: Any,
    reward_funcs: list[Any] | None = None,
    source: TrainSource | None = None,
) -> dict[str, Any]:
    """Stage 2: MORE (or a baseline `mode`) on the task data or `source`; returns the summary."""
    started = time.perf_counter()
    out = Path(cfg.output_dir)
    save_resolved(run, cfg, out)
    trainer = build_more_trainer(run, cfg, reward_funcs, source)
    trainer.train(resume_from_checkpoint=_resume(cfg))
    summary = _finish(trainer, run, out, started, source)
    summary["more_state"] = trainer.more_state()
    if trainer.accelerator.is_main_process:
        (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary


def _resume(cfg: Any) -> str | bool | None:
    """`resume_from_checkpoint`: a checkpoint folder, or `last` for the newest one in
    `output_dir` (a fresh start when there is none yet, so one command serves both)."""
    value = cfg.resume_from_checkpoint
    if value == "last":
        return True if any(Path(cfg.output_dir).glob("checkpoint-*")) else None
    return value or None
