"""MORE vs its baselines and ablations, same data, seed and budget (bundled SmolLM2, CPU).

Trains the scaffold once, then SFT-only, MORE, mixed-reward GRPO, MORE without adaptive
weights and MORE without constraints from the shipped run files (`training/configs/`),
evaluates each on test and hard with the evaluation module, and writes a table
(constraint satisfaction overall and per function, linguistic rewards, reply length,
stability of the constraint curve) plus side-by-side curves.

    python benchmarks/more_vs_baselines.py --data-dir data/ecommerce \
        --scaffold-steps 120 --rl-steps 60 --eval-limit 100 --out runs/bench/comparison
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

CONFIGS = Path(__file__).resolve().parents[1] / "training" / "configs"
RL_ARMS = ("more", "mixed", "no_adaptive", "no_constraints")


def _train(args: argparse.Namespace, out: Path) -> dict[str, Path]:
    from training.more.run import load_run, train_more, train_scaffold

    train_file = str(Path(args.data_dir) / "train.jsonl")
    common = {"train_file": train_file, "eval_after": False, "seed": args.seed}
    adapters: dict[str, Path] = {}
    for name in ("scaffold", "sft_only"):
        run, cfg = load_run(
            CONFIGS / f"{name}.yaml",
            "scaffold",
            {**common, "output_dir": str(out / name), "max_steps": args.scaffold_steps},
        )
        adapters[name] = Path(train_scaffold(run, cfg)["adapter"])
    for arm in RL_ARMS:
        run, cfg = load_run(
            CONFIGS / f"{arm}.yaml",
            "more",
            {
                **common,
                "output_dir": str(out / arm),
                "max_steps": args.rl_steps,
                "scaffold_path": str(adapters["scaffold"]),
            },
        )
        adapters[arm] = Path(train_more(run, cfg)["adapter"])
    return adapters


def _evaluate(args: argparse.Namespace, adapters: dict[str, Path], out: Path) -> dict[str, Any]:
    from training.eval.runner import run_eval

    results: dict[str, Any] = {}
    for name in ("sft_only", *RL_ARMS):
        results[name] = {}
        for split in ("test", "hard"):
            result = run_eval(
                f"adapter:{adapters[name]}",
                split=split,
                data=args.data_dir,
                limit=args.eval_limit,
                seed=args.seed,
                out_dir=out / name / "eval" / split,
                max_new_tokens=args.max_new_tokens,
            )
            results[name][split] = result.report["overall"]
    return results


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
    axes[0].set_title("constraint satisfaction per step")
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
    parser.add_argument("--scaffold-steps", type=int, default=120)
    parser.add_argument("--rl-steps", type=int, default=60)
    parser.add_argument("--eval-limit", type=int, default=100)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/bench/comparison")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    adapters = _train(args, out)
    trained = time.perf_counter()
    results = _evaluate(args, adapters, out)
    stability = _stability(out)
    table = _table(results, stability)
    plot = _plot(out)
    summary = {
        "command": vars(args),
        "train_wall_s": trained - started,
        "total_wall_s": time.perf_counter() - started,
        "results": results,
        "stability": stability,
        "plot": str(plot),
    }
    (out / "comparison.json").write_text(json.dumps(summary, indent=2, default=str))
    (out / "comparison.md").write_text(table + "\n")
    print(table)
    print(f"\ntrain {summary['train_wall_s']:.0f} s, total {summary['total_wall_s']:.0f} s")
    print(f"plot: {plot}")


if __name__ == "__main__":
    main()
