"""Decision accuracy against rows seen: evaluate every checkpoint of an SFT run.

Each `checkpoint-<step>` adapter of a run is evaluated on the same seeded subset of a
split, twice: with the verdict line the service adds when it recognises the shopper's
intent (`inferred`, what serving sends) and without it (`none`, as when the classifier
abstains). One vLLM engine serves every checkpoint in turn (start-up paid once).

    python benchmarks/learning_curve.py runs/scaffold --split dev --limit 150 \
        --out benchmarks/results

Writes `learning_curve-<run>-<time>.json`, `.md` (a table) and `.png` (the curves), and
prints the table. Rows seen = step x per-device batch size x processes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

VERDICTS = ("inferred", "none")


def checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """(step, folder) of every checkpoint with an adapter, plus the final adapter."""
    found = []
    for path in run_dir.glob("checkpoint-*"):
        m = re.fullmatch(r"checkpoint-(\d+)", path.name)
        if m and (path / "adapter_config.json").is_file():
            found.append((int(m.group(1)), path))
    return sorted(found)


def rows_per_step(run_dir: Path) -> int:
    import yaml

    config = yaml.safe_load((run_dir / "run_config.yaml").read_text())["trainer"]
    return int(config["per_device_train_batch_size"]) * int(
        config.get("gradient_accumulation_steps") or 1
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--split", default="dev")
    parser.add_argument("--data", type=Path, default=Path("data/ecommerce"))
    parser.add_argument("--limit", type=int, default=150)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()

    from tqdm import tqdm

    from training.data.ecommerce.io import load_split
    from training.eval.policies import VLLMPolicy
    from training.eval.runner import evaluate, select

    examples = select(load_split(args.data, args.split), args.limit, seed=0)
    points = checkpoints(args.run_dir)
    if not points:
        raise SystemExit(f"no checkpoint-* adapters in {args.run_dir}")
    per_step = rows_per_step(args.run_dir)
    load = os.getloadavg()
    policy = VLLMPolicy(max_new_tokens=args.max_new_tokens, lora=True)
    results: list[dict[str, Any]] = []
    started = time.perf_counter()
    try:
        with tqdm(total=len(points) * len(VERDICTS), desc="checkpoints x verdicts") as bar:
            for step, path in points:
                for verdict in VERDICTS:
                    policy.verdict = verdict  # type: ignore[assignment]
                    policy.with_adapter(path, name=path.name)
                    result = evaluate(
                        policy, examples, split=args.split, linguistic={}, progress=False
                    )
                    overall = result.report["overall"]
                    results.append(
                        {
                            "step": step,
                            "rows_seen": step * per_step,
                            "verdict": verdict,
                            "decision": overall["constraints"]["decision"]["satisfied"],
                            "all_four": overall["all_satisfied"],
                            "reply_tokens_p95": overall["reply_tokens"]["p95"],
                            "degenerate": overall["degenerate"],
                        }
                    )
                    bar.update(1)
    finally:
        policy.close()

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    args.out.mkdir(parents=True, exist_ok=True)
    base = args.out / f"learning_curve-{args.run_dir.name}-{stamp}"
    payload = {
        "run": str(args.run_dir),
        "split": args.split,
        "examples": len(examples),
        "rows_per_step": per_step,
        "loadavg_at_start": load,
        "wall_s": round(time.perf_counter() - started, 1),
        "points": results,
    }
    base.with_suffix(".json").write_text(json.dumps(payload, indent=2))
    table = _table(results, args.split, len(examples))
    base.with_suffix(".md").write_text(table + "\n")
    _plot(results, base.with_suffix(".png"), args.run_dir.name, args.split)
    print(table)
    print(f"wrote {base}.json/.md/.png (load average at start {load[0]:.2f})")


def _table(results: list[dict[str, Any]], split: str, n: int) -> str:
    lines = [
        f"Decision accuracy and all four functions against rows seen ({split}, {n} turns)",
        "",
        "| step | rows seen | decision (verdict) | all four (verdict) "
        "| decision (no verdict) | all four (no verdict) |",
        "|---|---|---|---|---|---|",
    ]
    by_step: dict[int, dict[str, dict[str, Any]]] = {}
    for r in results:
        by_step.setdefault(r["step"], {})[r["verdict"]] = r
    for step, row in sorted(by_step.items()):
        inf, none = row.get("inferred", {}), row.get("none", {})
        lines.append(
            f"| {step} | {inf.get('rows_seen', none.get('rows_seen'))} "
            f"| {inf.get('decision', 0):.3f} | {inf.get('all_four', 0):.3f} "
            f"| {none.get('decision', 0):.3f} | {none.get('all_four', 0):.3f} |"
        )
    return "\n".join(lines)


def _plot(results: list[dict[str, Any]], path: Path, run: str, split: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for verdict, style in (("inferred", "-"), ("none", "--")):
        pts = sorted((r["rows_seen"], r) for r in results if r["verdict"] == verdict)
        xs = [x for x, _ in pts]
        ax.plot(
            xs, [r["decision"] for _, r in pts], style, marker="o", label=f"decision ({verdict})"
        )
        ax.plot(
            xs, [r["all_four"] for _, r in pts], style, marker="s", label=f"all four ({verdict})"
        )
    ax.axhline(0.92, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("rows seen")
    ax.set_ylabel(f"share of {split} turns")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"{run}: learning curve")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
