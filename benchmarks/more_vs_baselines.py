"""MORE vs its baselines and ablations, same data, seed and budget (bundled SmolLM2, CPU).

Trains the scaffold once, then SFT-only, MORE, mixed-reward GRPO, MORE without adaptive
weights and MORE without constraints from the shipped run files (`training/configs/`),
evaluates each on test and hard with the evaluation module, and writes a table
(constraint satisfaction overall and per function, linguistic rewards, reply length,
stability of the constraint curve) plus side-by-side curves.

Jobs run in `--workers` processes with one torch thread each: on a 2-core machine two
single-threaded jobs finish sooner than one job with two threads (OpenMP workers spin
against each other). The scaffold and SFT-only train first; the four RL arms start from
the scaffold as soon as it exists. Each job's log is `<out>/<arm>/job.log`. With
`--resume`, an arm whose run finished (`summary.json`) is not trained again and a split
already evaluated (`eval/<split>/report.json`) is not evaluated again.

    python benchmarks/more_vs_baselines.py --data-dir data/ecommerce --workers 2 \
        --scaffold-steps 60 --rl-steps 24 --eval-limit 60 --out runs/bench/comparison
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import sys
import time
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

CONFIGS = Path(__file__).resolve().parents[1] / "training" / "configs"
RL_ARMS = ("more", "mixed", "no_adaptive", "no_constraints")
POLICIES = ("sft_only", *RL_ARMS)
SPLITS = ("test", "hard")


def _job(name: str, args: argparse.Namespace, out: Path, scaffold: str | None) -> dict[str, Any]:
    """Train one arm (and evaluate it unless it is the scaffold), in a worker process."""
    # Before torch is imported in this process: one intra-op thread per job.
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)
    from training.eval.runner import run_eval
    from training.more.run import load_run, train_more, train_scaffold

    arm_dir = out / name
    arm_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    finished = arm_dir / "summary.json"
    resumed = args.resume and finished.is_file()
    with (
        (arm_dir / "job.log").open("a") as log,
        contextlib.redirect_stdout(log),
        contextlib.redirect_stderr(log),
    ):
        overrides: dict[str, Any] = {
            "train_file": str(Path(args.data_dir) / "train.jsonl"),
            "eval_after": False,
            "seed": args.seed,
            "output_dir": str(arm_dir),
        }
        if resumed:
            adapter = json.loads(finished.read_text())
            print(f"resumed: {name} was trained by an earlier run", file=log)
        elif name in ("scaffold", "sft_only"):
            overrides |= {
                "max_steps": args.scaffold_steps,
                "per_device_train_batch_size": args.sft_batch,
                "max_train_examples": args.scaffold_steps * args.sft_batch,
            }
            adapter = train_scaffold(*load_run(CONFIGS / f"{name}.yaml", "scaffold", overrides))
        else:
            overrides |= {
                "max_steps": args.rl_steps,
                "scaffold_path": scaffold,
                "per_device_train_batch_size": args.prompts_per_step * args.generations,
                "num_generations": args.generations,
                "max_completion_length": args.max_completion_length,
                "max_train_examples": args.rl_steps * args.prompts_per_step,
            }
            adapter = train_more(*load_run(CONFIGS / f"{name}.yaml", "more", overrides))
        trained = time.perf_counter()
        results: dict[str, Any] = {}
        if name != "scaffold":
            for split in SPLITS:
                done = arm_dir / "eval" / split / "report.json"
                if args.resume and done.is_file():
                    results[split] = json.loads(done.read_text())["overall"]
                    continue
                result = run_eval(
                    f"adapter:{adapter['adapter']}",
                    split=split,
                    data=args.data_dir,
                    limit=args.eval_limit,
                    seed=args.seed,
                    out_dir=arm_dir / "eval" / split,
                    max_new_tokens=args.max_new_tokens,
                    threads=1,
                )
                results[split] = result.report["overall"]
    return {
        "name": name,
        "adapter": adapter["adapter"],
        # A resumed arm reports the wall time of the run that trained it.
        "train_s": adapter.get("wall_seconds", 0.0) if resumed else trained - started,
        "eval_s": time.perf_counter() - trained,
        "results": results,
    }


def _run_jobs(args: argparse.Namespace, out: Path) -> dict[str, dict[str, Any]]:
    from tqdm import tqdm

    done: dict[str, dict[str, Any]] = {}
    ctx = multiprocessing.get_context("spawn")  # no forked torch/OpenMP state in workers
    with (
        ProcessPoolExecutor(max_workers=args.workers, mp_context=ctx) as pool,
        tqdm(total=1 + len(POLICIES), desc="arms", unit="arm", file=sys.stdout) as bar,
    ):
        pending: dict[Future[dict[str, Any]], str] = {
            pool.submit(_job, name, args, out, None): name for name in ("scaffold", "sft_only")
        }
        while pending:
            future = next(as_completed(pending))
            name = pending.pop(future)
            job = future.result()
            done[name] = job
            bar.update(1)
            bar.write(
                f"{name}: trained in {job['train_s']:.0f} s, evaluated in {job['eval_s']:.0f} s"
            )
            if name == "scaffold":
                for arm in RL_ARMS:
                    pending[pool.submit(_job, arm, args, out, job["adapter"])] = arm
    return done


def _stability(out: Path) -> dict[str, float | None]:
    from training.more.metrics import read_metrics
    from training.more.stability import oscillation

    figures: dict[str, float | None] = {"sft_only": None}
    for arm in RL_ARMS:
        rows = read_metrics(out / arm / "metrics.jsonl")
        series = [
            r["constraints/overall/mean"]
            for r in rows
            if r.get("constraints/overall/mean") is not None
        ]
        figures[arm] = oscillation(series) if series else None
    return figures


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else "–" if value is None else str(value)


def _table(results: dict[str, Any], stability: dict[str, float | None]) -> str:
    any_split = next(iter(results.values()))["test"]
    functions = sorted(any_split["constraints"])
    linguistic = sorted(any_split["linguistic"])
    header = (
        ["policy", "test all", "hard all"]
        + [f"test {f.removesuffix('_reward')}" for f in functions]
        + [f"hard {f.removesuffix('_reward')}" for f in functions]
        + [f"test {g.removesuffix('_reward')}" for g in linguistic]
        + ["reply tokens", "stability"]
    )
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, splits in results.items():
        test, hard = splits["test"], splits["hard"]
        cells = [name, _fmt(test["all_satisfied"]), _fmt(hard["all_satisfied"])]
        cells += [_fmt(test["constraints"][f]["satisfied"]) for f in functions]
        cells += [_fmt(hard["constraints"].get(f, {}).get("satisfied")) for f in functions]
        cells += [_fmt(test["linguistic"].get(g)) for g in linguistic]
        cells += [_fmt(test["reply_tokens"]["mean"]), _fmt(stability.get(name))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _plot(out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from training.more.metrics import read_metrics
    from training.more.stability import moving_average

    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for arm in RL_ARMS:
        rows = read_metrics(out / arm / "metrics.jsonl")
        pts = [
            (r["step"], r["constraints/overall/mean"])
            for r in rows
            if r.get("constraints/overall/mean") is not None
        ]
        if not pts:
            continue
        steps, values = zip(*pts, strict=True)
        axes[0].plot(steps, values, label=arm, alpha=0.8)
        axes[1].plot(steps, moving_average(values, 5), label=arm)
    axes[0].set_title("constraint satisfaction per step (training batches)")
    axes[1].set_title("moving average (window 5)")
    for ax in axes:
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    target = out / "constraints_side_by_side.png"
    fig.savefig(target, dpi=100)
    plt.close(fig)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data/ecommerce")
    parser.add_argument("--workers", type=int, default=2, help="parallel single-thread jobs")
    parser.add_argument("--scaffold-steps", type=int, default=60)
    parser.add_argument("--sft-batch", type=int, default=8, help="rows per SFT step")
    parser.add_argument("--rl-steps", type=int, default=24)
    parser.add_argument("--prompts-per-step", type=int, default=2)
    parser.add_argument("--generations", type=int, default=4, help="G completions per prompt")
    parser.add_argument("--max-completion-length", type=int, default=48)
    parser.add_argument("--eval-limit", type=int, default=60, help="examples per split")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/bench/comparison")
    parser.add_argument(
        "--resume", action="store_true", help="reuse arms and evaluations already in --out"
    )
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    jobs = _run_jobs(args, out)
    results = {name: jobs[name]["results"] for name in POLICIES}
    stability = _stability(out)
    table = _table(results, stability)
    plot = _plot(out)
    summary = {
        "command": vars(args),
        "total_wall_s": time.perf_counter() - started,
        "jobs": {
            name: {k: v for k, v in job.items() if k != "results"} for name, job in jobs.items()
        },
        "results": results,
        "stability": stability,
        "plot": str(plot),
    }
    (out / "comparison.json").write_text(json.dumps(summary, indent=2, default=str))
    (out / "comparison.md").write_text(table + "\n")
    print(table)
    print(f"\ntotal {summary['total_wall_s'] / 60:.1f} min; plot: {plot}")
    for name, job in summary["jobs"].items():
        print(f"  {name:15s} train {job['train_s']:6.0f} s  eval {job['eval_s']:6.0f} s")


if __name__ == "__main__":
    main()
