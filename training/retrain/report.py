"""What a retraining run reports: the headline figures, the base-vs-new chart and the
readable summary (also printed by `more retrain`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from training.retrain.pipeline import RetrainSummary


def headline(overall: dict[str, Any]) -> dict[str, float | None]:
    """Flat figures of an evaluation: all-satisfied rate, each constraint, each reward."""
    out: dict[str, float | None] = {"all_satisfied": overall.get("all_satisfied")}
    for name, stats in (overall.get("constraints") or {}).items():
        out[f"constraints/{name}"] = stats.get("satisfied") if isinstance(stats, dict) else stats
    for name, value in (overall.get("linguistic") or {}).items():
        out[f"rewards/{name}"] = value
    tokens = overall.get("reply_tokens") or {}
    out["reply_tokens"] = tokens.get("mean") if isinstance(tokens, dict) else None
    return out


def plot_comparison(base: dict[str, Any], new: dict[str, Any], path: Path) -> Path:
    """Bar chart of base vs new on dev (every figure in [0, 1])."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [
        k
        for k in new
        if k != "reply_tokens"
        and isinstance(new[k], float | int)
        and isinstance(base.get(k), float | int)
    ]
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(keys)), 4))
    xs = range(len(keys))
    ax.bar([x - 0.2 for x in xs], [base[k] for k in keys], width=0.4, label="current policy")
    ax.bar([x + 0.2 for x in xs], [new[k] for k in keys], width=0.4, label="retrained")
    ax.set_xticks(list(xs), [k.split("/")[-1] for k in keys], rotation=30, ha="right")
    ax.set_ylim(0, 1)
    ax.set_title("Dev split (held-out logged sessions)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def render_summary(summary: RetrainSummary) -> str:
    """The readable end-of-job report (also printed by the CLI)."""
    ex = summary.export
    lines = [
        f"# Retrain {summary.name}",
        "",
        f"- from: {summary.base_policy} ({summary.base_adapter})",
        f"- new adapter: {summary.adapter}",
        f"- sessions read: {ex['sessions']}, user turns: {ex['user_turns']}, "
        f"exported: {ex['exported']} (train {ex['by_split'].get('train', 0)}, "
        f"dev {ex['by_split'].get('dev', 0)}), skipped: {ex['skipped'] or 'none'}",
        f"- sessions with a good / bad outcome: {ex['positive_sessions']} / "
        f"{ex['negative_sessions']}; logged replies promoted to references: "
        f"{ex['logged_references']}",
        f"- training mix: {summary.mix['logged_rows']} logged rows + "
        f"{summary.mix['generated_rows']} generated; {summary.training.get('steps')} MORE steps "
        f"in {summary.training.get('wall_seconds')} s",
        f"- wall time: {summary.wall_seconds} s",
        "",
        f"## Dev evaluation ({summary.evaluation.get('dev_source')})",
        "",
        "| metric | current policy | retrained |",
        "|---|---|---|",
    ]
    new = summary.evaluation.get("new", {})
    base = summary.evaluation.get("base", {})
    for key, value in new.items():
        lines.append(f"| {key} | {_fmt(base.get(key))} | {_fmt(value)} |")
    lines.append("")
    if summary.registered:
        lines += [
            f"Registered as policy version **{summary.registered['name']}** "
            f"(status: {summary.registered['status']}; not promoted).",
            f"Promote it with: `POST /v1/policies/{summary.registered['name']}/promote`.",
        ]
    else:
        lines.append("Not registered (no --register-url).")
    return "\n".join(lines) + "\n"


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)
