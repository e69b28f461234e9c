"""An experiment report for people: the markdown table and the chart.

The statistics are `app.services.analysis`; this module only formats them (the API's
`report` and `report.png`, `more experiment report`).
"""

from __future__ import annotations

from pathlib import Path

from app.services.analysis import METRICS, Comparison, Estimate, ExperimentReport


def report_markdown(report: ExperimentReport) -> str:
    """A readable table: one row per variant and metric."""
    lines = [
        f"Experiment `{report.experiment}` (control `{report.control}`, "
        f"{round((1 - report.alpha) * 100)}% intervals)",
        "",
        "| variant | sessions | metric | value [CI] | lift vs control [CI] | p |",
        "|---|---:|---|---|---|---:|",
    ]
    for variant, metrics in report.variants.items():
        for metric, est in metrics.items():
            row = f"| {variant} | {report.sessions[variant]} | {metric} | {_fmt_est(est)} |"
            if variant == report.control:
                row += " (control) | |"
            else:
                c = report.comparison(variant, metric)
                row += f" {_fmt_lift(c)} | {_fmt_p(c.p_value)} |"
            lines.append(row)
    srm = report.srm
    lines += [
        "",
        f"Sample-ratio check: chi² = {_fmt(srm.chi2, 3)}, p = {_fmt_p(srm.p_value)}"
        + (" — MISMATCH: do not trust the lifts" if srm.mismatch else " (ok)"),
    ]
    lines += [f"Note: {n}" for n in report.notes]
    return "\n".join(lines)


def plot_report(report: ExperimentReport, path: Path | str, *, title: str | None = None) -> Path:
    """Save a 2x2 bar chart (one panel per metric, 95% intervals as error bars)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    names = list(report.variants)
    colors = ["#7f7f7f" if n == report.control else f"C{i}" for i, n in enumerate(names)]
    fig, axes = plt.subplots(2, 3, figsize=(14, 7))
    labels = {
        "conversion_rate": "Overall conversion",
        "reached_conversion_rate": "Reached conversion (offer shown)",
        "handoff_rate": "Handoff rate",
        "raw_satisfaction_rate": "Policy replies passing every check",
        "intervention_rate": "Replies the guard replaced",
        "satisfaction_mean": "Mean satisfaction (1–5)",
    }
    for ax, metric in zip(axes.flat, METRICS, strict=True):
        values, errors = [], [[], []]
        for name in names:
            est = report.variants[name][metric]
            v = est.value if est.value is not None else 0.0
            values.append(v)
            # Clamped: an interval's bound can sit a rounding error past its estimate (a
            # Wilson bound at p = 0 or 1), and matplotlib refuses negative error bars.
            errors[0].append(max(0.0, v - est.ci_low) if est.ci_low is not None else 0.0)
            errors[1].append(max(0.0, est.ci_high - v) if est.ci_high is not None else 0.0)
        ax.bar(names, values, yerr=errors, capsize=6, color=colors)
        ax.set_title(labels[metric])
        tops = [v + up for v, up in zip(values, errors[1], strict=True)]
        for i, name in enumerate(names):
            if name == report.control:
                continue
            c = report.comparison(name, metric)
            if c.relative_lift is not None:
                ax.annotate(  # above the interval, so the label never hides it
                    f"{c.relative_lift:+.1%}\np={_fmt_p(c.p_value)}",
                    (i, tops[i]),
                    textcoords="offset points",
                    xytext=(0, 4),
                    ha="center",
                    fontsize=8,
                )
        if metric == "satisfaction_mean":
            ax.set_ylim(1, 5.6)
        else:
            ax.set_ylim(0, max([*tops, 0.05]) * 1.3)
    srm = report.srm
    srm_text = f"SRM p={_fmt_p(srm.p_value)}" + (" MISMATCH" if srm.mismatch else "")
    fig.suptitle(
        (title or f"Experiment {report.experiment}")
        + f"\n{', '.join(f'{n}: {report.sessions[n]} sessions' for n in names)}; {srm_text}"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _fmt(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _fmt_p(p: float | None) -> str:
    if p is None:
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _fmt_est(est: Estimate) -> str:
    if est.value is None:
        return "n/a"
    return f"{est.value:.4f} [{_fmt(est.ci_low, 4)}, {_fmt(est.ci_high, 4)}]"


def _fmt_lift(c: Comparison) -> str:
    if c.relative_lift is None:
        return "n/a"
    ci = (
        f" [{c.relative_lift_ci[0]:+.1%}, {c.relative_lift_ci[1]:+.1%}]"
        if c.relative_lift_ci
        else ""
    )
    return f"{c.relative_lift:+.1%}{ci}"
