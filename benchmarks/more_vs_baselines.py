"""MORE vs its baselines and ablations: same data, seed and budget (bundled SmolLM2, CPU).

Stages, each resumable (`--resume` skips what is finished and continues a training run
from its newest checkpoint):

1. `data`: `more data generate` (seeded; a no-op when the splits exist);
2. `scaffold` and `sft_only`: stage-1 SFT from `training/configs/{scaffold,sft_only}.yaml`;
3. RL arms from the scaffold: `more`, `mixed`, `no_adaptive`, `no_constraints`
   (`training/configs/<arm>.yaml`, the budgets written there);
4. `eval`: every policy, merged into the weights, on the FULL test and hard splits on vLLM
   (one engine per policy), prompts as serving builds them (`--verdict inferred`: the
   verdict line for the intent the service's classifier recognises); the scaffold,
   SFT-only and MORE also without any verdict line.

Training runs as `more train ...` subprocesses, so each stage's wall and CPU time
(process + children, from `getrusage`) is measured on its own. The report: every
reasoning function and linguistic reward per policy and split, degenerate output, reply
length, the paired-bootstrap 95% interval of every difference that matters (MORE -
scaffold, MORE - mixed, mixed - SFT-only, MORE - SFT-only, MORE - each ablation) and the
oscillation of each RL arm's constraint curve. Writes `<out>/comparison.{json,md,png}`
and a copy of the table into `benchmarks/results/`.

    python benchmarks/more_vs_baselines.py --arms scaffold,more --resume          # the pipeline
    python benchmarks/more_vs_baselines.py --resume                               # all arms
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _policy_eval import evaluate_merged, paired_interval, passes

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "training" / "configs"
SFT_ARMS = ("scaffold", "sft_only")
RL_ARMS = ("more", "mixed", "no_adaptive", "no_constraints")
ALL_ARMS = (*SFT_ARMS, *RL_ARMS)
POLICIES = ALL_ARMS  # the scaffold too: it is what RL starts from and what ships as `sft`
SPLITS = ("test", "hard")
# Differences reported with a paired-bootstrap interval: (a, b) means a - b.
PAIRS = (
    ("more", "scaffold"),
    ("more", "mixed"),
    ("mixed", "sft_only"),
    ("more", "sft_only"),
    ("more", "no_adaptive"),
    ("more", "no_constraints"),
)


def _cpu_s() -> float:
    """CPU seconds of this process and its finished children (user + system)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


class Stages:
    """Runs stages and keeps their times in `<out>/stages.json` (kept across resumes)."""

    def __init__(self, out: Path) -> None:
        self.path = out / "stages.json"
        self.times: dict[str, dict[str, float]] = (
            json.loads(self.path.read_text()) if self.path.is_file() else {}
        )

    def run(self, name: str, command: list[str], log: Path, env: dict[str, str]) -> None:
        wall, cpu = time.perf_counter(), _cpu_s()
        print(f"[{datetime.now(UTC):%H:%M}] {name}: {' '.join(command)}  (log: {log})", flush=True)
        with log.open("a") as f:
            done = subprocess.run(command, stdout=f, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        if done.returncode != 0:
            raise SystemExit(f"{name} failed (exit {done.returncode}); see {log}")
        spent = self.times.setdefault(name, {"wall_s": 0.0, "cpu_s": 0.0})
        spent["wall_s"] += time.perf_counter() - wall  # a resumed stage adds its new time
        spent["cpu_s"] += _cpu_s() - cpu
        self.path.write_text(json.dumps(self.times, indent=2))


def train(arm: str, args: argparse.Namespace, stages: Stages) -> Path:
    """Train one arm (or resume it); return its adapter folder."""
    arm_dir = args.out / arm
    adapter = arm_dir / "adapter"
    if args.resume and (arm_dir / "summary.json").is_file() and adapter.is_dir():
        print(f"{arm}: trained already ({adapter})", flush=True)
        if arm not in stages.times:  # trained outside this script: its own clock only
            wall = json.loads((arm_dir / "summary.json").read_text()).get("wall_seconds")
            stages.times[arm] = {"wall_s": float(wall or 0.0), "cpu_s": float("nan")}
            stages.path.write_text(json.dumps(stages.times, indent=2))
        return adapter
    arm_dir.mkdir(parents=True, exist_ok=True)
    stage = "scaffold" if arm in SFT_ARMS else "more"
    command = [
        str(Path(sys.executable).with_name("more")),
        "train",
        stage,
        "--config",
        str(CONFIGS / f"{arm}.yaml"),
        "--set",
        f"output_dir={arm_dir}",
        "--set",
        f"train_file={args.data_dir / 'train.jsonl'}",
        "--set",
        f"seed={args.seed}",
    ]
    if arm in RL_ARMS:
        command += ["--set", f"scaffold_path={args.out / 'scaffold' / 'adapter'}"]
    for override in args.set or []:
        command += ["--set", override]
    if args.resume:
        command.append("--resume")
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "TOKENIZERS_PARALLELISM": "false"}
    stages.run(arm, command, arm_dir / "job.log", env)
    return adapter


def evaluate_all(args: argparse.Namespace, policies: list[str], stages: Stages) -> dict[str, Any]:
    """Every policy on every split, one vLLM engine; reports cached per (policy, split)."""
    from tqdm import tqdm

    # The RL arms first (what the comparison is about), the SFT arms they start from last.
    ordered = sorted(policies, key=lambda p: p in SFT_ARMS)
    jobs = [(p, s, "inferred") for p in ordered for s in SPLITS]
    if args.without_verdict:
        jobs += [
            (p, s, "none")
            for p in ("more", "scaffold", "sft_only")
            if p in policies
            for s in SPLITS
        ]
    results: dict[str, Any] = {}
    todo = []
    for policy, split, verdict in jobs:
        report = args.out / policy / "eval" / f"{split}-{verdict}" / "report.json"
        if args.resume and report.is_file():
            results.setdefault(policy, {})[f"{split}-{verdict}"] = report
        else:
            todo.append((policy, split, verdict))
    if todo:
        wall, cpu = time.perf_counter(), _cpu_s()
        for policy in tqdm(sorted({p for p, _, _ in todo}, key=ordered.index), desc="evaluate"):
            mine = [
                (split, verdict, args.out / policy / "eval" / f"{split}-{verdict}")
                for p, split, verdict in todo
                if p == policy
            ]
            reports = evaluate_merged(
                args.out / policy / "adapter",
                args.out / policy / "merged",
                mine,
                name=policy,
                data_dir=args.data_dir,
                max_new_tokens=args.max_new_tokens,
            )
            results.setdefault(policy, {}).update(reports)
        spent = stages.times.setdefault("eval", {"wall_s": 0.0, "cpu_s": 0.0})
        spent["wall_s"] += time.perf_counter() - wall
        spent["cpu_s"] += _cpu_s() - cpu
        stages.path.write_text(json.dumps(stages.times, indent=2))
    return results


def paired_differences(reports: dict[str, Any]) -> list[dict[str, Any]]:
    """Paired-bootstrap 95% intervals of per-turn pass-rate differences."""
    rows = []
    for a, b in PAIRS:
        if a not in reports or b not in reports:
            continue
        for split in SPLITS:
            key = f"{split}-inferred"
            pa, pb = passes(reports[a][key]), passes(reports[b][key])
            for metric in ("all", "decision"):
                rows.append({"a": a, "b": b, "split": split, "metric": metric,
                             **paired_interval(pa, pb, metric)})  # fmt: skip
    return rows


def stability(out: Path, arms: list[str]) -> dict[str, float | None]:
    from training.more.metrics import read_metrics
    from training.more.stability import oscillation

    figures: dict[str, float | None] = {}
    for arm in arms:
        metrics = out / arm / "metrics.jsonl"  # absent for an adapter trained elsewhere
        rows = read_metrics(metrics) if arm in RL_ARMS and metrics.is_file() else []
        series = [r["constraints/overall/mean"] for r in rows if r.get("constraints/overall/mean")]
        figures[arm] = oscillation(series) if len(series) > 2 else None
    return figures


def final_state(out: Path, arm: str) -> dict[str, Any] | None:
    """Final λ and linguistic weights of an RL arm (from its summary)."""
    summary = out / arm / "summary.json"
    if arm not in RL_ARMS or not summary.is_file():
        return None
    state = json.loads(summary.read_text()).get("more_state") or {}
    lambdas = {
        name: round(math.exp(float(s["log_value"])), 4)
        for name, s in (state.get("multipliers") or {}).items()
    }
    weights = (state.get("weights") or {}).get("weights")
    return {"lambdas": lambdas, "weights": weights}


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else "–" if value is None else str(value)


def table(overall: dict[str, dict[str, Any]], diffs: list[dict[str, Any]], stab: dict) -> str:
    functions = ("decision", "numeric", "state", "handoff")
    header = ["policy", "split", "all four", *functions, "natural", "fluency", "tokens p95",
              "at cap", "loops", "stability"]  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for policy, splits in overall.items():
        for key, o in splits.items():
            cells = [policy, key, _fmt(o["all_satisfied"])]
            cells += [_fmt(o["constraints"].get(f, {}).get("satisfied")) for f in functions]
            cells += [
                _fmt(o["linguistic"].get("naturalness")),
                _fmt(o["linguistic"].get("fluency")),
            ]
            cells += [_fmt(o["reply_tokens"]["p95"]), str(o["degenerate"]["at_token_cap"])]
            cells += [str(o["degenerate"]["repetition_loops"]), _fmt(stab.get(policy))]
            lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "| difference | split | metric | value | 95% CI (paired bootstrap) | n |",
              "|---|---|---|---|---|---|"]  # fmt: skip
    for d in diffs:
        lines.append(
            f"| {d['a']} - {d['b']} | {d['split']} | {d['metric']} | {d['difference']:+.3f} "
            f"| [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}] | {d['n']} |"
        )
    return "\n".join(lines)


def plot(out: Path, arms: list[str]) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from training.more.metrics import read_metrics
    from training.more.stability import moving_average

    rl = [a for a in arms if a in RL_ARMS and (out / a / "metrics.jsonl").is_file()]
    if not rl:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for arm in rl:
        rows = read_metrics(out / arm / "metrics.jsonl")
        pts = [(r["step"], r["constraints/overall/mean"]) for r in rows
               if r.get("constraints/overall/mean") is not None]  # fmt: skip
        if pts:
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
    target = out / "comparison.png"
    fig.savefig(target, dpi=100)
    plt.close(fig)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arms", default=",".join(ALL_ARMS), help="comma-separated arms")
    parser.add_argument("--data-dir", type=Path, default=Path("data/ecommerce"))
    parser.add_argument("--out", type=Path, default=Path("runs/bench/comparison"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="torch threads per job")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--set", action="append", help="override a run-file key (all arms)")
    parser.add_argument("--resume", action="store_true", help="continue what --out holds")
    parser.add_argument("--skip-eval", action="store_true")
    parser.add_argument(
        "--without-verdict",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also evaluate the scaffold, SFT-only and MORE with no verdict line",
    )
    args = parser.parse_args()
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    unknown = set(arms) - set(ALL_ARMS)
    if unknown:
        parser.error(f"unknown arms {sorted(unknown)}; choose from {', '.join(ALL_ARMS)}")
    if any(a in RL_ARMS for a in arms) and "scaffold" not in arms:
        arms.insert(0, "scaffold")  # the RL arms start from it
    args.out.mkdir(parents=True, exist_ok=True)
    stages = Stages(args.out)
    load_start = os.getloadavg()

    if not (args.data_dir / "train.jsonl").is_file():
        more = str(Path(sys.executable).with_name("more"))
        stages.run("data", [more, "data", "generate", "--out", str(args.data_dir)],
                   args.out / "data.log", dict(os.environ))  # fmt: skip
    for arm in arms:
        train(arm, args, stages)
    policies = [a for a in arms if a in POLICIES]
    if args.skip_eval or not policies:
        return
    reports = evaluate_all(args, policies, stages)
    overall = {
        p: {k: json.loads(Path(v).read_text())["overall"] for k, v in sorted(splits.items())}
        for p, splits in reports.items()
    }
    diffs = paired_differences(reports)
    stab = stability(args.out, policies)
    png = plot(args.out, policies)
    text = table(overall, diffs, stab)
    pipeline = sum(stages.times.get(s, {}).get("wall_s", 0.0) for s in ("data", "scaffold", "more"))
    summary = {
        "command": " ".join(sys.argv),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "loadavg_at_start": load_start,
        "stages": stages.times,
        "pipeline_wall_s": pipeline + stages.times.get("eval", {}).get("wall_s", 0.0),
        "overall": overall,
        "differences": diffs,
        "stability": stab,
        "final_state": {a: final_state(args.out, a) for a in policies},
        "plot": str(png) if png else None,
    }
    (args.out / "comparison.json").write_text(json.dumps(summary, indent=2, default=str))
    (args.out / "comparison.md").write_text(text + "\n")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    results = ROOT / "benchmarks" / "results"
    shutil.copy(args.out / "comparison.json", results / f"more_vs_baselines-{stamp}.json")
    shutil.copy(args.out / "comparison.md", results / f"more_vs_baselines-{stamp}.md")
    print(text)
    for name, t in stages.times.items():
        print(f"  {name:15s} wall {t['wall_s'] / 60:6.1f} min  cpu {t['cpu_s'] / 60:6.1f} min")


if __name__ == "__main__":
    main()
