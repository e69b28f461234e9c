"""A/B experiment analysis from per-variant aggregates: rates, lifts, intervals, SRM.

Input is plain counts per variant (`VariantAggregate`), so the same code reports on
the database (`GET /v1/experiments/{name}/report`), on a simulator run and on a
hand-computed example in the tests. Every statistic comes from scipy/statsmodels:

* rates with Wilson 95% intervals (`proportion_confint`);
* treatment vs control: pooled two-proportion z-test p-value (`proportions_ztest`),
  Wald interval of the difference and log interval of the ratio, reported as the
  relative lift (`confint_proportions_2indep`);
* mean satisfaction (1–5) with a t interval, compared by Welch's t-test
  (`scipy.stats.ttest_ind(equal_var=False)`), rebuilt exactly from the score counts;
* sample-ratio mismatch: chi-square goodness of fit of assigned units against the
  expected shares (`scipy.stats.chisquare`), flagged below p = 0.001;
* the reply guard's view, per assistant turn: the share of the policy's own replies that
  passed every check (`raw_satisfaction_rate`, the online measure of what MORE optimises)
  and the share the guard replaced (`intervention_rate`), with the same intervals.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import stats
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)
from statsmodels.stats.weightstats import DescrStatsW

SATISFACTION_SCORES = (1, 2, 3, 4, 5)
PROPORTION_METRICS = (
    "conversion_rate",
    "reached_conversion_rate",
    "handoff_rate",
    "raw_satisfaction_rate",
    "intervention_rate",
)
METRICS = (*PROPORTION_METRICS, "satisfaction_mean")
SRM_P_THRESHOLD = 0.001  # the usual SRM alarm level: a real mismatch, not noise


@dataclass(frozen=True)
class VariantAggregate:
    """Outcome counts of one variant, counted per session.

    `conversions` counts sessions with at least one conversion; `offer_conversions`
    those among the `offer_sessions` (sessions where an offer was shown).
    `satisfaction` holds how many ratings of 1, 2, 3, 4 and 5 were given.
    `units` is what assignment randomises (users); None means sessions are used.
    """

    variant: str
    sessions: int
    conversions: int
    offer_sessions: int
    offer_conversions: int
    handoffs: int
    satisfaction: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)
    units: int | None = None
    checked_turns: int = 0  # assistant turns the reply guard checked
    raw_passed_turns: int = 0  # ... whose policy reply passed every check
    intervened_turns: int = 0  # ... whose policy reply the guard replaced

    def __post_init__(self) -> None:
        if min(self.sessions, self.conversions, self.offer_sessions, self.handoffs) < 0:
            raise ValueError(f"{self.variant}: counts must be >= 0")
        if self.conversions > self.sessions or self.handoffs > self.sessions:
            raise ValueError(f"{self.variant}: conversions and handoffs are per session")
        if not 0 <= self.offer_conversions <= min(self.offer_sessions, self.conversions):
            raise ValueError(
                f"{self.variant}: offer_conversions must be within offer_sessions and conversions"
            )
        if self.offer_sessions > self.sessions:
            raise ValueError(f"{self.variant}: offer_sessions cannot exceed sessions")
        if not 0 <= max(self.raw_passed_turns, self.intervened_turns) <= self.checked_turns:
            raise ValueError(f"{self.variant}: guard counts must be within checked_turns")
        if len(self.satisfaction) != len(SATISFACTION_SCORES) or min(self.satisfaction) < 0:
            raise ValueError(f"{self.variant}: satisfaction needs 5 counts >= 0 (scores 1..5)")

    def counts(self, metric: str) -> tuple[int, int]:
        """(successes, trials) of a proportion metric."""
        if metric == "conversion_rate":
            return self.conversions, self.sessions
        if metric == "reached_conversion_rate":
            return self.offer_conversions, self.offer_sessions
        if metric == "handoff_rate":
            return self.handoffs, self.sessions
        if metric == "raw_satisfaction_rate":
            return self.raw_passed_turns, self.checked_turns
        if metric == "intervention_rate":
            return self.intervened_turns, self.checked_turns
        raise KeyError(metric)

    def satisfaction_scores(self) -> np.ndarray:
        """Every rating as one array (exact: ratings are integers 1..5)."""
        return np.repeat(np.array(SATISFACTION_SCORES, dtype=float), self.satisfaction)


@dataclass(frozen=True)
class Estimate:
    """A per-variant value with its 95% interval and the count it rests on."""

    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int


@dataclass(frozen=True)
class Comparison:
    """One metric of one treatment against control."""

    metric: str
    variant: str
    control: float | None
    treatment: float | None
    difference: float | None
    difference_ci: tuple[float, float] | None
    relative_lift: float | None  # treatment / control - 1
    relative_lift_ci: tuple[float, float] | None
    p_value: float | None
    significant: bool


@dataclass(frozen=True)
class SampleRatioCheck:
    observed: dict[str, int]
    expected: dict[str, float]
    chi2: float | None
    p_value: float | None
    mismatch: bool


@dataclass(frozen=True)
class ExperimentReport:
    experiment: str
    control: str
    alpha: float
    variants: dict[str, dict[str, Estimate]]  # variant -> metric -> estimate
    sessions: dict[str, int]
    comparisons: list[Comparison]
    srm: SampleRatioCheck
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (the API response and `more experiment report --json`)."""
        return _clean(asdict(self))

    def comparison(self, variant: str, metric: str) -> Comparison:
        for c in self.comparisons:
            if c.variant == variant and c.metric == metric:
                return c
        raise KeyError((variant, metric))


def analyse(
    aggregates: Sequence[VariantAggregate],
    *,
    control: str,
    expected_shares: Mapping[str, float] | None = None,
    experiment: str = "",
    alpha: float = 0.05,
) -> ExperimentReport:
    """Report every variant against `control`.

    `expected_shares` are the assignment weights for the SRM check (normalised);
    equal shares when omitted. After a ramp, pass the shares the assigned population
    should have (see docs/experiments.md).
    """
    by_name = {a.variant: a for a in aggregates}
    if len(by_name) != len(aggregates):
        raise ValueError("variant names must be unique")
    if control not in by_name:
        raise ValueError(f"control variant {control!r} is not among {sorted(by_name)}")
    if not 0 < alpha < 1:
        raise ValueError("alpha must be in (0, 1)")
    variants = {a.variant: _estimates(a, alpha) for a in aggregates}
    base = by_name[control]
    comparisons = [
        _compare(metric, base, treat, alpha)
        for treat in aggregates
        if treat.variant != control
        for metric in METRICS
    ]
    notes = []
    if any(a.sessions == 0 for a in aggregates):
        notes.append("a variant has no sessions yet")
    return ExperimentReport(
        experiment=experiment,
        control=control,
        alpha=alpha,
        variants=variants,
        sessions={a.variant: a.sessions for a in aggregates},
        comparisons=comparisons,
        srm=sample_ratio_check(aggregates, expected_shares),
        notes=notes,
    )


def sample_ratio_check(
    aggregates: Sequence[VariantAggregate], expected_shares: Mapping[str, float] | None = None
) -> SampleRatioCheck:
    """Chi-square goodness of fit of assigned units against the expected shares."""
    observed = {a.variant: a.units if a.units is not None else a.sessions for a in aggregates}
    shares = dict(expected_shares) if expected_shares else dict.fromkeys(observed, 1.0)
    missing = observed.keys() - shares.keys()
    if missing:
        raise ValueError(f"no expected share for {sorted(missing)}")
    total_share = sum(shares[v] for v in observed)
    total = sum(observed.values())
    expected = {v: total * shares[v] / total_share for v in observed}
    # Only variants meant to receive traffic enter the test (a zero-weight arm
    # with traffic would be a mismatch the chi-square cannot express: flag it).
    live = [v for v in observed if expected[v] > 0]
    stray = any(observed[v] > 0 for v in observed if expected[v] == 0)
    if total == 0 or len(live) < 2:
        return SampleRatioCheck(observed, expected, None, None, stray)
    result = stats.chisquare([observed[v] for v in live], [expected[v] for v in live])
    p = float(result.pvalue)
    return SampleRatioCheck(
        observed, expected, float(result.statistic), p, stray or p < SRM_P_THRESHOLD
    )


def _estimates(agg: VariantAggregate, alpha: float) -> dict[str, Estimate]:
    out: dict[str, Estimate] = {}
    for metric in PROPORTION_METRICS:
        count, nobs = agg.counts(metric)
        if nobs == 0:
            out[metric] = Estimate(None, None, None, 0)
            continue
        low, high = proportion_confint(count, nobs, alpha=alpha, method="wilson")
        out[metric] = Estimate(count / nobs, float(low), float(high), nobs)
    scores = agg.satisfaction_scores()
    if len(scores) == 0:
        out["satisfaction_mean"] = Estimate(None, None, None, 0)
    elif len(scores) == 1 or np.ptp(scores) == 0:
        mean = float(scores.mean())
        out["satisfaction_mean"] = Estimate(mean, mean, mean, len(scores))
    else:
        low, high = DescrStatsW(scores).tconfint_mean(alpha=alpha)
        out["satisfaction_mean"] = Estimate(
            float(scores.mean()), float(low), float(high), len(scores)
        )
    return out


def _compare(
    metric: str, control: VariantAggregate, treat: VariantAggregate, alpha: float
) -> Comparison:
    if metric == "satisfaction_mean":
        return _compare_means(control, treat, alpha)
    c_count, c_n = control.counts(metric)
    t_count, t_n = treat.counts(metric)
    c_rate = c_count / c_n if c_n else None
    t_rate = t_count / t_n if t_n else None
    if c_rate is None or t_rate is None:
        return Comparison(
            metric, treat.variant, c_rate, t_rate, None, None, None, None, None, False
        )
    diff = t_rate - c_rate
    pooled = (c_count + t_count) / (c_n + t_n)
    p_value = None
    diff_ci = None
    if 0 < pooled < 1:  # otherwise both arms are all-0 or all-1: nothing to test
        _, p = proportions_ztest([t_count, c_count], [t_n, c_n], alternative="two-sided")
        p_value = float(p)
        low, high = confint_proportions_2indep(
            t_count, t_n, c_count, c_n, method="wald", compare="diff", alpha=alpha
        )
        diff_ci = (float(low), float(high))
    lift = t_rate / c_rate - 1 if c_rate > 0 else None
    lift_ci = None
    if c_count > 0 and t_count > 0:  # the log interval needs both counts positive
        low, high = confint_proportions_2indep(
            t_count, t_n, c_count, c_n, method="log", compare="ratio", alpha=alpha
        )
        lift_ci = (float(low) - 1, float(high) - 1)
    return Comparison(
        metric,
        treat.variant,
        c_rate,
        t_rate,
        diff,
        diff_ci,
        lift,
        lift_ci,
        p_value,
        p_value is not None and p_value < alpha,
    )


def _compare_means(control: VariantAggregate, treat: VariantAggregate, alpha: float) -> Comparison:
    c, t = control.satisfaction_scores(), treat.satisfaction_scores()
    c_mean = float(c.mean()) if len(c) else None
    t_mean = float(t.mean()) if len(t) else None
    if c_mean is None or t_mean is None:
        return Comparison(
            "satisfaction_mean", treat.variant, c_mean, t_mean, None, None, None, None, None, False
        )
    diff = t_mean - c_mean
    p_value = None
    diff_ci = None
    # Welch needs at least two ratings per arm and some spread somewhere.
    if len(c) >= 2 and len(t) >= 2 and (np.ptp(c) > 0 or np.ptp(t) > 0):
        result = stats.ttest_ind(t, c, equal_var=False)
        p_value = float(result.pvalue)
        ci = result.confidence_interval(confidence_level=1 - alpha)
        diff_ci = (float(ci.low), float(ci.high))
    lift = t_mean / c_mean - 1  # ratings are >= 1, so the control mean is positive
    # The lift interval scales the difference interval by the control mean, treating
    # that mean as fixed: a first-order approximation, labelled as such in the docs.
    lift_ci = (diff_ci[0] / c_mean, diff_ci[1] / c_mean) if diff_ci else None
    return Comparison(
        "satisfaction_mean",
        treat.variant,
        c_mean,
        t_mean,
        diff,
        diff_ci,
        lift,
        lift_ci,
        p_value,
        p_value is not None and p_value < alpha,
    )


def _clean(value: Any) -> Any:
    """NaN/inf to None and tuples to lists, so the report is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value
