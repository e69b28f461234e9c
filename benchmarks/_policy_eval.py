"""Offline evaluation pieces the policy comparisons share (`more_vs_baselines.py`,
`against_shipped.py`): a policy merged into the weights and evaluated on vLLM as serving
builds its prompts, and paired-bootstrap intervals of per-turn differences.

Imported by scripts in this folder (run as scripts, so it is on `sys.path`); nothing
here runs at import.
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# The per-turn outcomes a difference is reported for: every reasoning function at once,
# then each one.
METRICS = ("all", "decision", "numeric", "state", "handoff")
PASS = 0.95  # a function's score that counts as satisfied (as in the reports)


def own_the_cores() -> None:
    """Offline evaluation owns the machine: vLLM's CPU default binds its threads to all
    cores but one (kept for an API process), which halves throughput here."""
    cores = os.cpu_count() or 1
    os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", f"0-{cores - 1}")
    os.environ.setdefault("OMP_NUM_THREADS", str(cores))


def evaluate_merged(
    adapter: Path,
    merged: Path,
    jobs: Iterable[tuple[str, str, Path]],
    *,
    name: str,
    data_dir: Path,
    max_new_tokens: int,
) -> dict[str, Path]:
    """Merge `adapter` into `merged` (once), start one engine, and evaluate it on each
    `(split, verdict, out_dir)` job; returns `{f"{split}-{verdict}": report.json}`.

    Merged, because vLLM's LoRA slots cost ~11x per token on this CPU (a 300-turn split
    took 21 min in a slot, about 2 min merged), and a merged policy is what serving runs.
    """
    from training.data.ecommerce.io import load_split
    from training.eval.policies import VLLMPolicy
    from training.eval.runner import evaluate
    from training.more.export import merge_adapter

    own_the_cores()
    if not (merged / "config.json").is_file():
        merge_adapter(adapter, merged)
    engine = VLLMPolicy(merged, name=name, max_new_tokens=max_new_tokens)
    reports: dict[str, Path] = {}
    try:
        for split, verdict, out in jobs:
            engine.verdict = verdict  # type: ignore[assignment]
            evaluate(
                engine,
                load_split(data_dir, split),
                split=split,
                out_dir=out,
                progress=False,
                settings={"verdict": verdict, "engine": "vllm, merged"},
            )
            reports[f"{split}-{verdict}"] = out / "report.json"
    finally:
        engine.close()
        del engine
        gc.collect()  # the engine's processes go before the next policy's start
    return reports


def passes(report: Path) -> dict[str, dict[str, bool]]:
    """{example id: {metric: satisfied}} from a report's replies.jsonl; a function that
    does not apply to a turn counts as satisfied."""
    rows = [json.loads(line) for line in (report.parent / "replies.jsonl").read_text().splitlines()]
    out = {}
    for r in rows:
        scores = r["constraints"]
        met = {k: v is None or v >= PASS for k, v in scores.items()}
        out[r["id"]] = {"all": all(met.values()), **{k: met.get(k, True) for k in METRICS[1:]}}
    return out


def paired_interval(
    a: dict[str, dict[str, bool]], b: dict[str, dict[str, bool]], metric: str
) -> dict[str, Any]:
    """The mean per-turn difference a − b of `metric` over the turns both answered, with
    its paired-bootstrap 95% interval (scipy, 10,000 resamples, percentile)."""
    import numpy as np
    from scipy.stats import bootstrap

    ids = sorted(a.keys() & b.keys())
    diff = np.array([int(a[i][metric]) - int(b[i][metric]) for i in ids], float)
    if not diff.any():  # identical outcomes: bootstrap has no spread to resample
        return {"difference": 0.0, "ci_low": 0.0, "ci_high": 0.0, "n": len(ids)}
    ci = bootstrap(
        (diff,), np.mean, n_resamples=10_000, method="percentile", random_state=0
    ).confidence_interval
    return {
        "difference": float(diff.mean()),
        "ci_low": float(ci.low),
        "ci_high": float(ci.high),
        "n": len(ids),
    }
