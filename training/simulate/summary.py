"""The simulator's own per-arm summary (including the oracle arm the server never sees).

The A/B statistics proper (lifts, intervals, p-values, SRM) come from the service's
report endpoint, computed from the events stored in its database. This summary is what
the simulator observed itself: per arm the same four outcome rates with Wilson 95%
intervals (statsmodels), plus the share of the oracle's conversion lift over the
baseline that a variant recovers (the paper's "~60% of the human agents' lift").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from statsmodels.stats.proportion import proportion_confint

from training.simulate.driver import ORACLE_ARM, SimulationResult


@dataclass(frozen=True)
class Rate:
    value: float | None
    ci_low: float | None
    ci_high: float | None
    count: int
    n: int

    @classmethod
    def of(cls, count: int, n: int) -> Rate:
        if n == 0:
            return cls(None, None, None, count, n)
        low, high = proportion_confint(count, n, alpha=0.05, method="wilson")
        return cls(count / n, float(low), float(high), count, n)


@dataclass(frozen=True)
class ArmSummary:
    arm: str
    sessions: int
    conversion: Rate
    reached_conversion: Rate
    handoff: Rate
    satisfaction_mean: float | None
    ratings: int
    decision_accuracy: float | None  # share of replies with the gold stance


def summarise(result: SimulationResult) -> dict[str, ArmSummary]:
    """Per-arm rates from the completed sessions (variants by name, then the oracle)."""
    arms: dict[str, list] = {}
    # Variants by name, the oracle last: a stable order for tables and charts.
    ordered = sorted(result.completed, key=lambda r: (r.arm == ORACLE_ARM, r.arm or ""))
    for record in ordered:
        arms.setdefault(record.arm or "unknown", []).append(record)
    out: dict[str, ArmSummary] = {}
    for arm, records in arms.items():
        outcomes = [r.outcome for r in records]
        offered = [o for o in outcomes if o.offer_shown]
        ratings = [o.satisfaction for o in outcomes if o.satisfaction is not None]
        judged = [r.judgement for r in records if r.judgement is not None]
        out[arm] = ArmSummary(
            arm=arm,
            sessions=len(records),
            conversion=Rate.of(sum(o.converted for o in outcomes), len(outcomes)),
            reached_conversion=Rate.of(sum(o.converted for o in offered), len(offered)),
            handoff=Rate.of(sum(o.handoff for o in outcomes), len(outcomes)),
            satisfaction_mean=sum(ratings) / len(ratings) if ratings else None,
            ratings=len(ratings),
            decision_accuracy=(
                sum(j.decision >= 0.5 for j in judged) / len(judged) if judged else None
            ),
        )
    return out


def oracle_recovery(arms: dict[str, ArmSummary], *, baseline: str, variant: str) -> float | None:
    """(variant − baseline) / (oracle − baseline) overall conversion; None if undefined."""
    if ORACLE_ARM not in arms or baseline not in arms or variant not in arms:
        return None
    base = arms[baseline].conversion.value
    gain = arms[variant].conversion.value
    oracle = arms[ORACLE_ARM].conversion.value
    if base is None or gain is None or oracle is None or oracle == base:
        return None
    return (gain - base) / (oracle - base)


def to_markdown(result: SimulationResult, arms: dict[str, ArmSummary]) -> str:
    cfg = result.config
    lines = [
        "**SIMULATION** — synthetic shoppers and a documented outcome model "
        "(docs/experiments.md), not real customer behaviour.",
        "",
        f"Sessions: {len(result.records)} requested, {len(result.completed)} completed, "
        f"{len(result.errors)} failed; seed {cfg.seed}; oracle share {cfg.oracle_share:.0%}.",
        "",
        "| arm | sessions | conversion [95% CI] | reached conversion [95% CI] | handoff rate "
        "[95% CI] | satisfaction (n) | decision accuracy |",
        "|---|---:|---|---|---|---|---:|",
    ]
    for s in arms.values():
        sat = f"{s.satisfaction_mean:.2f} ({s.ratings})" if s.satisfaction_mean else "n/a"
        acc = f"{s.decision_accuracy:.1%}" if s.decision_accuracy is not None else "n/a"
        lines.append(
            f"| {s.arm} | {s.sessions} | {_rate(s.conversion)} | {_rate(s.reached_conversion)}"
            f" | {_rate(s.handoff)} | {sat} | {acc} |"
        )
    return "\n".join(lines)


def to_dict(result: SimulationResult, arms: dict[str, ArmSummary]) -> dict[str, Any]:
    return {
        "simulation": True,
        "config": asdict(result.config),
        "requested": len(result.records),
        "completed": len(result.completed),
        "errors": [r.error for r in result.errors][:20],
        "arms": {name: asdict(s) for name, s in arms.items()},
    }


def plot_arms(arms: dict[str, ArmSummary], path: Path | str) -> Path:
    """Bars per arm for the three rates, with Wilson intervals; labelled as a simulation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    names = list(arms)
    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    for ax, (attr, title) in zip(
        axes,
        [
            ("conversion", "Overall conversion"),
            ("reached_conversion", "Reached conversion"),
            ("handoff", "Handoff rate"),
        ],
        strict=True,
    ):
        rates = [getattr(arms[n], attr) for n in names]
        values = [r.value or 0.0 for r in rates]
        errors = [
            [v - (r.ci_low or v) for v, r in zip(values, rates, strict=True)],
            [(r.ci_high or v) - v for v, r in zip(values, rates, strict=True)],
        ]
        ax.bar(names, values, yerr=errors, capsize=6, color=[f"C{i}" for i in range(len(names))])
        ax.set_title(title)
        tops = [v + up for v, up in zip(values, errors[1], strict=True)]
        ax.set_ylim(0, max([*tops, 0.05]) * 1.2)
    fig.suptitle("SIMULATION: synthetic shoppers, documented outcome model")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _rate(rate: Rate) -> str:
    if rate.value is None:
        return "n/a"
    return f"{rate.value:.3f} [{rate.ci_low:.3f}, {rate.ci_high:.3f}]"
