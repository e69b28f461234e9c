"""MORE step time vs plain GRPO on the same batches (bundled SmolLM2-135M, CPU).

Plain GRPO is `MoreTrainer` in `mixed` mode with the reference on the bare prompt, i.e.
exactly TRL's `GRPOTrainer` step with the same seven rewards. MORE adds the group
normalisation per reward, the multipliers, the reasoning-conditioned reference pass and,
every M steps, the per-reward policy gradients (1 forward + J backward passes).
Blocks alternate (plain, MORE, plain, MORE) so drifting machine load hits both alike.

    python benchmarks/more_overhead.py --train-file data/ecommerce/train.jsonl --steps 8
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any


def _block(mode: str, args: argparse.Namespace, out: Path, block: int) -> list[float]:
    from training.more.config import MoreConfig
    from training.more.run import RunArgs, build_more_trainer

    run = RunArgs(
        model_name_or_path=args.model,
        train_file=args.train_file,
        max_train_examples=args.steps * 2 * 4,
        lora_r=16,
        lora_alpha=32,
        eval_after=False,
    )
    more = mode == "more"
    cfg = MoreConfig(
        output_dir=str(out / f"{mode}-{block}"),
        use_cpu=True,
        bf16=False,
        seed=0,
        max_steps=args.steps,
        per_device_train_batch_size=8,
        num_generations=4,  # 2 prompts x 4 completions = 8 completions per step
        max_completion_length=args.max_completion_length,
        learning_rate=1e-4,
        beta=0.04,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        disable_tqdm=False,
        mode="more" if more else "mixed",
        reference_conditioning=more,
        weight_update_interval=args.weight_update_interval,
    )
    trainer = build_more_trainer(run, cfg)
    trainer.train()
    return [h["step_time"] for h in trainer.state.log_history if "step_time" in h]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-file", default="data/ecommerce/train.jsonl")
    parser.add_argument("--model", default=None, help="base model folder (default: bundled)")
    parser.add_argument("--steps", type=int, default=8, help="steps per block")
    parser.add_argument("--blocks", type=int, default=2, help="(plain, MORE) block pairs")
    parser.add_argument("--max-completion-length", type=int, default=24)
    parser.add_argument("--weight-update-interval", type=int, default=4)
    parser.add_argument("--warmup-steps", type=int, default=1, help="untimed first block")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--out", default="runs/bench/overhead")
    args = parser.parse_args()
    if args.threads:
        import torch

        # On a shared CPU, fewer threads avoid OpenMP spin-waiting against other jobs.
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    times: dict[str, list[float]] = {"plain": [], "more": []}
    started = time.perf_counter()
    if args.warmup_steps:
        # Loads the reward models (fluency LM, MiniLM) and caches them before timing.
        steps, args.steps = args.steps, args.warmup_steps
        _block("plain", args, out, -1)
        args.steps = steps
    for block in range(args.blocks):
        for mode in ("plain", "more"):
            times[mode].extend(_block(mode, args, out, block))
    result: dict[str, Any] = {
        "steps_per_block": args.steps,
        "blocks": args.blocks,
        "completions_per_step": 8,
        "max_completion_length": args.max_completion_length,
        "weight_update_interval": args.weight_update_interval,
        "threads": args.threads,
        "mean_step_s": {k: statistics.mean(v) for k, v in times.items()},
        "median_step_s": {k: statistics.median(v) for k, v in times.items()},
        "step_times_s": times,
        "wall_s": time.perf_counter() - started,
    }
    result["ratio_mean"] = result["mean_step_s"]["more"] / result["mean_step_s"]["plain"]
    result["ratio_median"] = result["median_step_s"]["more"] / result["median_step_s"]["plain"]
    out.mkdir(parents=True, exist_ok=True)
    (out / "overhead.json").write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "step_times_s"}, indent=2))


if __name__ == "__main__":
    main()
