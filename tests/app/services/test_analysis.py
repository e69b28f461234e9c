"""Experiment analysis against a hand-computed example (arithmetic written out below)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from scipy.stats import norm, t

from app.services.analysis import VariantAggregate, analyse, sample_ratio_check
from app.services.report_rendering import plot_report, report_markdown

Z975 = 1.959964  # the 97.5% standard-normal quantile, for 95% intervals

CONTROL = VariantAggregate(
    variant="sft",
    sessions=1000,
    conversions=100,
    offer_sessions=400,
    offer_conversions=80,
    handoffs=100,
    satisfaction=(0, 1, 2, 1, 0),  # ratings 2, 3, 3, 4
)
TREATMENT = VariantAggregate(
    variant="more",
    sessions=1000,
    conversions=130,
    offer_sessions=500,
    offer_conversions=120,
    handoffs=70,
    satisfaction=(0, 0, 1, 2, 2),  # ratings 3, 4, 4, 5, 5
)


@pytest.fixture(scope="module")
def report():
    return analyse([CONTROL, TREATMENT], control="sft", experiment="sft-vs-more")


def test_analysis_overall_conversion_matches_hand_computation(report) -> None:
    c = report.comparison("more", "conversion_rate")
    # Rates: 100/1000 = 0.10 and 130/1000 = 0.13; lift 0.13 / 0.10 - 1 = +30%.
    assert c.control == pytest.approx(0.10)
    assert c.treatment == pytest.approx(0.13)
    assert c.relative_lift == pytest.approx(0.30)
    # Pooled z-test: p = 230/2000 = 0.115; se = sqrt(0.115 * 0.885 * (1/1000 + 1/1000))
    # = sqrt(0.00020355) = 0.0142671; z = 0.03 / 0.0142671 = 2.10274.
    z = 0.03 / math.sqrt(0.115 * 0.885 * 0.002)
    assert z == pytest.approx(2.10274, abs=1e-4)
    assert c.p_value == pytest.approx(2 * norm.sf(z), rel=1e-6)
    assert c.p_value == pytest.approx(0.03549, abs=1e-4)
    assert c.significant
    # Wald interval of the difference: se = sqrt(0.13*0.87/1000 + 0.10*0.90/1000)
    # = sqrt(0.0002031) = 0.0142513; 0.03 ± 1.959964 * 0.0142513 = [0.00207, 0.05793].
    assert c.difference_ci == pytest.approx((0.002068, 0.057932), abs=1e-5)
    # Log ratio interval: ln(1.3) = 0.262364; se = sqrt(1/130 - 1/1000 + 1/100 - 1/1000)
    # = sqrt(0.0156923) = 0.125269; exp(0.262364 ± 1.959964 * 0.125269) = [1.01698, 1.66178].
    se = math.sqrt(1 / 130 - 1 / 1000 + 1 / 100 - 1 / 1000)
    low, high = (math.exp(math.log(1.3) + s * Z975 * se) - 1 for s in (-1, 1))
    assert (low, high) == pytest.approx((0.01698, 0.66178), abs=1e-4)
    assert c.relative_lift_ci == pytest.approx((low, high), abs=1e-5)


def test_analysis_reached_conversion_and_handoff_match_hand_computation(report) -> None:
    reached = report.comparison("more", "reached_conversion_rate")
    # 80/400 = 0.20 vs 120/500 = 0.24 (+20%); pooled 200/900 = 0.2222;
    # se = sqrt(0.2222 * 0.7778 * (1/400 + 1/500)) = 0.0278887; z = 0.04 / 0.0278887 = 1.43427.
    assert (reached.control, reached.treatment) == pytest.approx((0.20, 0.24))
    assert reached.relative_lift == pytest.approx(0.20)
    z = 0.04 / math.sqrt((2 / 9) * (7 / 9) * (1 / 400 + 1 / 500))
    assert z == pytest.approx(1.43427, abs=1e-4)
    assert reached.p_value == pytest.approx(2 * norm.sf(z), rel=1e-6)  # 0.1515
    assert not reached.significant

    handoff = report.comparison("more", "handoff_rate")
    # 100/1000 vs 70/1000 (-30%); pooled 0.085; se = sqrt(0.085 * 0.915 * 0.002) = 0.0124720;
    # z = -0.03 / 0.0124720 = -2.40538 -> p = 0.01615.
    assert handoff.relative_lift == pytest.approx(-0.30)
    assert handoff.p_value == pytest.approx(0.01615, abs=1e-4)


def test_analysis_satisfaction_welch_matches_hand_computation(report) -> None:
    c = report.comparison("more", "satisfaction_mean")
    # Control 2,3,3,4: mean 3, variance (1 + 0 + 0 + 1) / 3 = 0.6667.
    # Treatment 3,4,4,5,5: mean 4.2, variance (1.44 + 0.04 + 0.04 + 0.64 + 0.64) / 4 = 0.7.
    # Welch: se^2 = 0.7/5 + 0.6667/4 = 0.14 + 0.16667 = 0.30667; t = 1.2 / 0.55378 = 2.16694;
    # df = 0.30667^2 / (0.14^2/4 + 0.16667^2/3) = 0.094044 / 0.014159 = 6.6419.
    assert (c.control, c.treatment, c.difference) == pytest.approx((3.0, 4.2, 1.2))
    se = math.sqrt(0.7 / 5 + (2 / 3) / 4)
    df = se**4 / ((0.7 / 5) ** 2 / 4 + ((2 / 3) / 4) ** 2 / 3)
    assert df == pytest.approx(6.6419, abs=1e-3)
    assert c.p_value == pytest.approx(2 * t.sf(1.2 / se, df), rel=1e-6)
    half = t.ppf(0.975, df) * se
    assert c.difference_ci == pytest.approx((1.2 - half, 1.2 + half), rel=1e-6)
    assert c.relative_lift == pytest.approx(0.4)


def test_analysis_per_variant_estimates_and_wilson_interval(report) -> None:
    est = report.variants["sft"]["conversion_rate"]
    # Wilson: centre (0.1 + z^2/2000) / (1 + z^2/1000), half-width
    # z * sqrt(0.1*0.9/1000 + z^2/(4*1000^2)) / (1 + z^2/1000).
    denom = 1 + Z975**2 / 1000
    centre = (0.1 + Z975**2 / 2000) / denom
    half = Z975 * math.sqrt(0.09 / 1000 + Z975**2 / 4e6) / denom
    assert (est.value, est.n) == (0.1, 1000)
    assert (est.ci_low, est.ci_high) == pytest.approx((centre - half, centre + half), abs=1e-6)
    assert report.variants["more"]["satisfaction_mean"].value == pytest.approx(4.2)


def test_analysis_sample_ratio_mismatch_chi_square() -> None:
    # 1000 vs 1100 at 50/50: expected 1050 each; chi2 = 2 * 50^2 / 1050 = 4.7619, p = 0.0291.
    small = sample_ratio_check(
        [CONTROL, VariantAggregate("more", 1100, 0, 0, 0, 0)], {"sft": 0.5, "more": 0.5}
    )
    assert small.chi2 == pytest.approx(4.7619, abs=1e-4)
    assert small.p_value == pytest.approx(0.02910, abs=1e-4)
    assert not small.mismatch
    # 1000 vs 1200: chi2 = 2 * 100^2 / 1100 = 18.18, p = 2.0e-5 < 0.001: a mismatch.
    big = sample_ratio_check([CONTROL, VariantAggregate("more", 1200, 0, 0, 0, 0)])
    assert big.chi2 == pytest.approx(18.1818, abs=1e-3)
    assert big.mismatch
    # Units (users) take precedence over sessions; 90/10 weights make 900/100 fine.
    weighted = sample_ratio_check(
        [
            VariantAggregate("a", 5000, 0, 0, 0, 0, units=900),
            VariantAggregate("b", 10, 0, 0, 0, 0, units=100),
        ],
        {"a": 0.9, "b": 0.1},
    )
    assert weighted.chi2 == pytest.approx(0.0)
    assert not weighted.mismatch


def test_analysis_handles_empty_and_degenerate_variants() -> None:
    empty = VariantAggregate("more", 0, 0, 0, 0, 0)
    zero = VariantAggregate("sft", 50, 0, 0, 0, 0)
    rep = analyse([zero, empty], control="sft")
    c = rep.comparison("more", "conversion_rate")
    assert c.p_value is None and c.relative_lift is None
    assert rep.notes
    json.dumps(rep.to_dict(), allow_nan=False)  # strict JSON even when stats are undefined


def test_analysis_rejects_inconsistent_counts() -> None:
    with pytest.raises(ValueError):
        VariantAggregate("x", 10, 11, 0, 0, 0)
    with pytest.raises(ValueError):
        VariantAggregate("x", 10, 2, 1, 2, 0)
    with pytest.raises(ValueError):
        analyse([CONTROL], control="nope")


def test_analysis_report_renders_markdown_json_and_png(report, tmp_path: Path) -> None:
    text = report_markdown(report)
    assert "+30.0% [+1.7%, +66.2%]" in text
    assert "Sample-ratio check" in text
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["srm"]["mismatch"] is False
    path = plot_report(report, tmp_path / "report.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_guard_rates_per_variant_with_intervals() -> None:
    from app.services.analysis import VariantAggregate, analyse

    control = VariantAggregate(
        "sft", 100, 10, 50, 8, 20, checked_turns=200, raw_passed_turns=150, intervened_turns=50
    )
    treat = VariantAggregate(
        "more", 100, 12, 50, 9, 18, checked_turns=220, raw_passed_turns=198, intervened_turns=22
    )
    report = analyse([control, treat], control="sft")
    raw = report.variants["more"]["raw_satisfaction_rate"]
    assert raw.value == pytest.approx(0.9) and raw.n == 220
    assert raw.ci_low < 0.9 < raw.ci_high
    assert report.variants["sft"]["intervention_rate"].value == pytest.approx(0.25)
    lift = report.comparison("more", "raw_satisfaction_rate")
    assert lift.difference == pytest.approx(0.15) and lift.significant
    with pytest.raises(ValueError, match="guard counts"):
        VariantAggregate("x", 1, 0, 0, 0, 0, checked_turns=1, raw_passed_turns=2)
