"""MORE step time vs plain GRPO on the same batches (bundled SmolLM2-135M, CPU).

Plain GRPO is `MoreTrainer` in `mixed` mode with the reference on the bare prompt, i.e.
exactly TRL's `GRPOTrainer` step with the same seven rewards. MORE adds the group
normalisation per reward, the multipliers, the reasoning-conditioned reference pass and,
every M steps, the per-reward policy gradients (1 forward + J backward passes).
Blocks alternate (plain, MORE, plain, MORE) so drifting machine load hits both alike.

Two clocks per step: wall time (what TRL logs as `step_time`) and the process's CPU time
(`time.process_time`, all threads). With one torch thread the CPU time barely moves when
other jobs share the machine, so its ratio is the figure to quote on a busy host; the
wall-time ratio is the one an idle machine or a GPU box reproduces.

    python benchmarks/more_overhead.py --train-file data/ecommerce/train.jsonl --steps 8
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any


def _cpu_timer() -> Any:
    """A trainer callback collecting the process CPU seconds of every optimizer step."""
    from transformers import TrainerCallback

    class StepCpuTimer(TrainerCallback):
        def __init__(self) -> None:
            self.started = 0.0
            self.steps: list[float] = []

        def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.started = time.process_time()

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.steps.append(time.process_time() - self.started)

    return StepCpuTimer()


def _block(
    mode: str, args: argparse.Namespace, out: Path, block: int
) -> tuple[list[float], list[float]]:
    """One block of `args.steps` steps; (wall seconds, CPU seconds) per step."""
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
    timer = _cpu_timer()
    trainer.add_callback(timer)
    trainer.train()
    wall = [h["step_time"] for h in trainer.state.log_history if "step_time" in h]
    return wall, timer.steps


def _table(result: dict[str, Any]) -> str:
    lines = [
        "| clock | plain GRPO median s | MORE median s | ratio (median) | ratio (mean) |",
        "|---|---:|---:|---:|---:|",
    ]
    for clock in ("wall", "cpu"):
        med = result[f"median_{clock}_s"]
        lines.append(
            f"| {clock} | {med['plain']:.1f} | {med['more']:.1f} | "
            f"{result[f'ratio_{clock}_median']:.2f} | {result[f'ratio_{clock}_mean']:.2f} |"
        )
    return "\n".join(lines)


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
    wall: dict[str, list[float]] = {"plain": [], "more": []}
    cpu: dict[str, list[float]] = {"plain": [], "more": []}
    started = time.perf_counter()
    if args.warmup_steps:
        # Loads the reward models (fluency LM, MiniLM) and caches them before timing.
        steps, args.steps = args.steps, args.warmup_steps
        _block("plain", args, out, -1)
        args.steps = steps
    for block in range(args.blocks):
        for mode in ("plain", "more"):
            block_wall, block_cpu = _block(mode, args, out, block)
            wall[mode].extend(block_wall)
            cpu[mode].extend(block_cpu)
    result: dict[str, Any] = {
        "steps_per_block": args.steps,
        "blocks": args.blocks,
        "completions_per_step": 8,
        "max_completion_length": args.max_completion_length,
        "weight_update_interval": args.weight_update_interval,
        "threads": args.threads,
        "load_average_end": os.getloadavg(),
        "step_wall_s": wall,
        "step_cpu_s": cpu,
        "wall_s": time.perf_counter() - started,
    }
    for clock, times in (("wall", wall), ("cpu", cpu)):
        for stat in ("mean", "median"):
            per_mode = {k: getattr(statistics, stat)(v) for k, v in times.items()}
            result[f"{stat}_{clock}_s"] = per_mode
            result[f"ratio_{clock}_{stat}"] = per_mode["more"] / per_mode["plain"]
    out.mkdir(parents=True, exist_ok=True)
    (out / "overhead.json").write_text(json.dumps(result, indent=2))
    table = _table(result)
    (out / "overhead.md").write_text(table + "\n")
    print(table)
    print(f"load average at the end: {result['load_average_end'][0]:.1f}; {out / 'overhead.json'}")


if __name__ == "__main__":
    main()
