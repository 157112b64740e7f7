"""Intervals the data can support, and a verdict that follows the paired interval."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from exotwin.biopsy.classify import fit_classifier
from exotwin.biopsy.metrics import (
    METRICS,
    MIN_PER_CLASS,
    auc_interval,
    clopper_pearson,
    compare,
    interval,
)
from exotwin.biopsy.readers import Dataset

from .conftest import FAST


def _dataset(y: list[str], x: np.ndarray) -> Dataset:
    index = [f"S{i}" for i in range(len(y))]
    values = pd.DataFrame(x, index=index, columns=[f"hsa-miR-{j + 1}" for j in range(x.shape[1])])
    return Dataset(values, "signal", Path("<generated>"), pd.Series(y, index=index), "group")


def test_clopper_pearson_known_values() -> None:
    # all 4 of 4: the lower bound solves p^4 = 0.025
    low, high = clopper_pearson(4, 4)
    assert low == pytest.approx(0.025**0.25) and high == 1.0
    low, high = clopper_pearson(0, 10)
    assert low == 0.0 and high == pytest.approx(1 - 0.025**0.1)
    low, high = clopper_pearson(3, 10)  # beta quantiles, the textbook definition
    assert low == pytest.approx(stats.beta.ppf(0.025, 3, 8))
    assert high == pytest.approx(stats.beta.ppf(0.975, 4, 7))


def _newcombe_variance(theta: float, m: int, n: int) -> float:
    star = (m + n) / 2 - 1
    return (
        theta
        * (1 - theta)
        * (1 + star * (1 - theta) / (2 - theta) + star * theta / (1 + theta))
        / (m * n)
    )


@pytest.mark.parametrize(
    ("value", "m", "n"), [(1.0, 4, 2), (1.0, 4, 4), (0.75, 10, 12), (0.0, 5, 5)]
)
def test_newcombe_auc_interval_keeps_a_width(value: float, m: int, n: int) -> None:
    low, high = auc_interval(value, m, n)
    assert 0 <= low <= value <= high <= 1 and high - low > 0.2
    z = stats.norm.ppf(0.975)
    for bound in (low, high):  # each finite bound solves |value - θ| = z sqrt(V(θ))
        if 0 < bound < 1:
            assert abs(value - bound) == pytest.approx(z * np.sqrt(_newcombe_variance(bound, m, n)))


def test_newcombe_close_to_hanley_mcneil_in_large_samples() -> None:
    value, m, n = 0.8, 400, 500
    q1, q2 = value / (2 - value), 2 * value**2 / (1 + value)
    var = (value * (1 - value) + (m - 1) * (q1 - value**2) + (n - 1) * (q2 - value**2)) / (m * n)
    wald = value - 1.96 * np.sqrt(var), value + 1.96 * np.sqrt(var)
    assert auc_interval(value, m, n) == pytest.approx(wald, abs=0.005)


def test_small_cohort_gives_exact_intervals_or_says_why() -> None:
    """n = 8, perfectly separated: the bootstrap would print [1.0000, 1.0000]."""
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    score = np.array([0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2, 0.1])
    hit = score >= 0.5
    for key, pred in (("cv_auc", score), ("cv_sensitivity", hit), ("cv_specificity", hit)):
        m = interval(METRICS[key], y, pred, 500, 0)
        assert m["value"] == 1.0 and m["ci_high"] - m["ci_low"] > 0.3, key
        assert "bootstrap" not in m["method"]
    brier = interval(METRICS["cv_brier"], y, score, 500, 0)
    assert brier["ci_low"] is None and brier["reason"].startswith("too few samples for an interval")


def test_zero_width_bootstrap_falls_back_at_any_n() -> None:
    """Sensitivity 1.0 on 60 cases: every resample scores 1.0; Clopper-Pearson instead."""
    y = np.repeat([1, 0], 60)
    hit = y == 1
    m = interval(METRICS["cv_sensitivity"], y, hit, 300, 0)
    assert m["method"] == "Clopper-Pearson" and m["ci_low"] == pytest.approx(0.025 ** (1 / 60))


def test_grouped_small_cohort_has_no_interval() -> None:
    y = np.repeat([1, 0], 12)
    groups = np.repeat(np.arange(8), 3)
    m = interval(METRICS["cv_auc"], y, np.linspace(1, 0, 24), 200, 0, groups)
    assert m["ci_low"] is None and m["reason"].startswith("too few groups for an interval")


@pytest.mark.parametrize(
    ("shift", "verdict"),
    [(1.0, "better"), (-1.0, "worse"), (0.0, "no detectable difference")],
)
def test_verdict_follows_the_paired_interval(shift: float, verdict: str) -> None:
    rng = np.random.default_rng(0)
    y = np.repeat([1, 0], 100)
    common = y + rng.normal(0, 1.0, 200)
    model = common + shift * y + rng.normal(0, 0.3, 200)
    baseline = common + rng.normal(0, 0.3, 200)
    _, _, delta = compare(METRICS["cv_auc"], y, model, baseline, 400, 0)
    assert delta["verdict"] == verdict
    if verdict == "no detectable difference":
        assert delta["ci_low"] < 0 < delta["ci_high"]
    # lower is better: the same difference in Brier score reads the other way
    _, _, brier = compare(
        METRICS["cv_brier"], y, 1 / (1 + np.exp(-model)), 1 / (1 + np.exp(-baseline)), 400, 0
    )
    if brier["verdict"] != "no detectable difference":
        assert (brier["verdict"] == "better") == (brier["ci_high"] < 0)


def test_better_point_estimate_inside_a_spanning_interval_is_not_better() -> None:
    """Model ahead by one sample on 40 per class: the point favours it, the data do not."""
    y = np.repeat([1, 0], 40)
    baseline = y.astype(bool).copy()
    baseline[:3] = False  # 3 missed cases
    model = baseline.copy()
    model[0] = True  # one fewer
    _, _, delta = compare(METRICS["cv_sensitivity"], y, model, baseline, 500, 0)
    assert delta["value"] > 0 and delta["ci_low"] <= 0
    assert delta["verdict"] == "no detectable difference"


def test_fit_on_a_tiny_cohort_never_reports_a_zero_width_interval() -> None:
    rng = np.random.default_rng(0)
    y = ["case"] * 4 + ["control"] * 4
    x = rng.normal(8, 1, (8, 5))
    x[:4, 0] += 6  # perfectly separable
    m = fit_classifier(_dataset(y, x), "diagnosis", FAST).metrics
    assert m["intervals"]["smallest_class"] == 4 < MIN_PER_CLASS
    for key in [k for k in m if k.startswith("cv_")]:
        for entry in (m[key], m["baseline"][key], m["baseline"]["delta"][key]):
            if entry["ci_low"] is None:
                assert entry["reason"]
            else:
                assert entry["ci_high"] - entry["ci_low"] > 0, key
        delta = m["baseline"]["delta"][key]
        assert delta["verdict"] == "no detectable difference"  # nothing is detectable at n = 8
