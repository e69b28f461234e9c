"""Run outputs: a metrics JSONL line per logged step and PNG plots of the curves.

`MetricsJsonlCallback` appends every `Trainer.log` call (one per step with
`logging_steps=1`) as one JSON object with its `step`; `plot_metrics` draws the groups
that matter for MORE (rewards, constraints, multipliers, weights, KL/loss, step time).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

PLOT_GROUPS: dict[str, tuple[str, str]] = {
    # file stem: (key prefix, key suffix) selecting the curves drawn together
    "rewards": ("rewards/", "/mean"),
    "constraints": ("constraints/", "/mean"),
    "lambdas": ("constraints/", "/lambda"),
    "weights": ("weights/", ""),
}
SCALARS = ("kl", "loss", "step_time")


class MetricsJsonlCallback(TrainerCallback):
    """Append each log dict as one JSON line (main process only)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        if not state.is_world_process_zero or not logs:
            return
        row = {"step": state.global_step, **{k: _jsonable(v) for k, v in logs.items()}}
        with self.path.open("a") as fh:
            fh.write(json.dumps(row) + "\n")


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """Per-step rows (the final train summary line, which lacks `loss`, is dropped)."""
    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    return [r for r in rows if "train_runtime" not in r]


def _series(rows: Iterable[dict[str, Any]], key: str) -> tuple[list[int], list[float]]:
    xs, ys = [], []
    for r in rows:
        if r.get(key) is not None:
            xs.append(int(r["step"]))
            ys.append(float(r[key]))
    return xs, ys


def plot_metrics(path: Path, out_dir: Path) -> list[Path]:
    """Draw one PNG per curve group present in the JSONL; return the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_metrics(path)
    keys = sorted({k for r in rows for k in r})
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    groups = {
        stem: [k for k in keys if k.startswith(prefix) and k.endswith(suffix) and k.count("/") >= 1]
        for stem, (prefix, suffix) in PLOT_GROUPS.items()
    }
    groups["rewards"] = [k for k in groups["rewards"] if k.count("/") == 2]
    groups["training"] = [k for k in SCALARS if k in keys]
    for stem, selected in groups.items():
        if not selected:
            continue
        fig, ax = plt.subplots(figsize=(7, 4))
        for key in selected:
            xs, ys = _series(rows, key)
            ax.plot(xs, ys, label=key, marker="." if len(xs) < 30 else None)
        ax.set_xlabel("step")
        ax.set_title(stem)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        target = out_dir / f"{stem}.png"
        fig.savefig(target, dpi=100)
        plt.close(fig)
        written.append(target)
    return written
