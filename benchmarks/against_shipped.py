"""A retrained policy against the shipped one, on the same splits, in one run.

Both adapters are merged into the weights and evaluated on vLLM, greedy, with the
prompts serving builds (`--verdict inferred`), on the full test and hard splits; then
every reasoning function's per-turn difference (candidate − shipped) gets a
paired-bootstrap 95% interval. Resumable: a split already evaluated (its `report.json`
in `--out`) is read, not run again. Writes `<out>/against_shipped.{json,md}` and a copy
into `benchmarks/results/against_shipped-<label>-<stamp>.{json,md}`.

    .venv/bin/python benchmarks/against_shipped.py runs/gen7/comparison/more/adapter \\
        --label gen7 --resume
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _policy_eval import METRICS, evaluate_merged, paired_interval, passes

ROOT = Path(__file__).resolve().parents[1]
SPLITS = ("test", "hard")
POLICIES = ("shipped", "candidate")


def _row(name: str, split: str, overall: dict[str, Any]) -> str:
    c, ling, deg = overall["constraints"], overall["linguistic"], overall["degenerate"]

    def sat(fn: str) -> str:
        return f"{c[fn]['satisfied']:.3f}" if fn in c and c[fn]["satisfied"] is not None else "–"

    cells = [
        name,
        split,
        f"**{overall['all_satisfied']:.3f}**",
        *(sat(fn) for fn in METRICS[1:]),
        f"{ling.get('naturalness_reward', float('nan')):.3f}",
        f"{ling.get('fluency_reward', float('nan')):.3f}",
        f"{overall['reply_tokens']['p95']:.0f}",
        str(deg["at_token_cap"]),
        str(deg["repetition_loops"]),
    ]
    return "| " + " | ".join(cells) + " |"


def report_table(overall: dict[str, dict[str, Any]], diffs: list[dict[str, Any]]) -> str:
    lines = [
        "| policy | split | all four | decision | numeric | state | handoff | naturalness "
        "| fluency | tokens p95 | at cap | loops |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        *(_row(p, s, overall[p][s]) for s in SPLITS for p in POLICIES),
        "",
        "| candidate − shipped | split | value | 95 % CI (paired bootstrap) | n |",
        "|---|---|---|---|---|",
        *(
            f"| {d['metric']} | {d['split']} | {d['difference']:+.3f} | "
            f"[{d['ci_low']:+.3f}, {d['ci_high']:+.3f}] | {d['n']} |"
            for d in diffs
        ),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("candidate", type=Path, help="the retrained LoRA adapter folder")
    parser.add_argument("--shipped", type=Path, default=ROOT / "models" / "more")
    parser.add_argument("--label", required=True, help="names the result files")
    parser.add_argument("--data-dir", type=Path, default=Path("data/ecommerce"))
    parser.add_argument("--out", type=Path, default=None, help="default runs/against/<label>")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--resume", action="store_true", help="reuse finished evaluations")
    args = parser.parse_args()
    out: Path = args.out or Path("runs") / "against" / args.label
    adapters = {"shipped": args.shipped, "candidate": args.candidate}
    for name, adapter in adapters.items():
        if not (adapter / "adapter_config.json").is_file():
            parser.error(f"{name}: no LoRA adapter in {adapter} (adapter_config.json missing)")

    started, load = time.perf_counter(), [os.getloadavg()[0]]
    reports: dict[str, dict[str, Path]] = {}
    for name, adapter in adapters.items():
        jobs = []
        for split in SPLITS:
            report = out / name / "eval" / split / "report.json"
            if args.resume and report.is_file():
                reports.setdefault(name, {})[split] = report
            else:
                jobs.append((split, "inferred", report.parent))
        if jobs:
            print(
                f"[{datetime.now(UTC):%H:%M}] {name}: {', '.join(j[0] for j in jobs)}", flush=True
            )
            done = evaluate_merged(
                adapter,
                out / name / "merged",
                jobs,
                name=name,
                data_dir=args.data_dir,
                max_new_tokens=args.max_new_tokens,
            )
            for key, report in done.items():
                reports.setdefault(name, {})[key.removesuffix("-inferred")] = report
        load.append(os.getloadavg()[0])

    overall = {
        p: {s: json.loads(reports[p][s].read_text())["overall"] for s in SPLITS} for p in POLICIES
    }
    diffs = []
    for split in SPLITS:
        candidate, shipped = passes(reports["candidate"][split]), passes(reports["shipped"][split])
        for metric in METRICS:
            diffs.append(
                {"split": split, "metric": metric, **paired_interval(candidate, shipped, metric)}
            )
    text = report_table(overall, diffs)
    summary = {
        "command": " ".join(["benchmarks/against_shipped.py", *sys.argv[1:]]),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "adapters": {k: str(v) for k, v in adapters.items()},
        "wall_s": round(time.perf_counter() - started, 1),
        "load_1m": load,
        "overall": overall,
        "differences": diffs,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "against_shipped.json").write_text(json.dumps(summary, indent=2, default=str))
    (out / "against_shipped.md").write_text(text + "\n")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    results = ROOT / "benchmarks" / "results"
    for suffix in ("json", "md"):
        shutil.copy(
            out / f"against_shipped.{suffix}",
            results / f"against_shipped-{args.label}-{stamp}.{suffix}",
        )
    print(text)
    print(f"\nwall {summary['wall_s'] / 60:.1f} min; load {min(load):.1f}–{max(load):.1f}")


if __name__ == "__main__":
    main()
