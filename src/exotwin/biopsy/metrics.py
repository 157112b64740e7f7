"""Classifier metrics and 95% intervals that the data can support.

Metrics are numpy versions of scikit-learn's (identical values, a fraction of the cost inside
a 1000-resample bootstrap). Intervals are percentile bootstraps over samples (over groups with
``groups``) when every class holds at least :data:`MIN_PER_CLASS` of them; below that, or when
the bootstrap collapses to zero width (a metric at 0 or 1 scores the same on every resample),
an exact or score interval replaces it where one exists: Clopper–Pearson for sensitivity and
specificity, Bonferroni-combined Clopper–Pearson for balanced accuracy, Newcombe's score
interval for AUC. Otherwise no interval is given, with the reason. A model is called better or
worse than the baseline only when the paired interval of the difference excludes 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, stats
from scipy.stats import rankdata

# The smallest class must hold this many samples (groups) for a percentile bootstrap; the
# coverage study in benchmarks/biopsy_intervals.py shows where the bootstrap of AUC and
# sensitivity reaches ~93% of its nominal 95% (docs/biopsy.md, "Intervals").
MIN_PER_CLASS = 20
LEVEL = 0.95

__all__ = [
    "LEVEL",
    "METRICS",
    "MIN_PER_CLASS",
    "Metric",
    "auc",
    "auc_interval",
    "balanced_accuracy",
    "bootstrap",
    "clopper_pearson",
    "compare",
    "interval",
    "log_loss",
    "macro_f1",
    "paired_bootstrap",
    "smallest_class",
]

Score = Callable[[np.ndarray, np.ndarray], float]
Exact = Callable[[np.ndarray, np.ndarray], tuple[float, float]]

# ----------------------------------------------------------------- metrics


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC of a binary ``y`` in {0, 1} (Mann–Whitney, ties counted half)."""
    positive = y == 1
    n1 = int(positive.sum())
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _confusion(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    k = int(max(y.max(), pred.max())) + 1
    return np.bincount(y * k + pred, minlength=k * k).reshape(k, k)


def balanced_accuracy(y: np.ndarray, pred: np.ndarray) -> float:
    """Mean recall over the classes present in ``y``."""
    cm = _confusion(y, pred.astype(int))
    support = cm.sum(axis=1)
    present = support > 0
    return float(np.mean(np.diag(cm)[present] / support[present]))


def macro_f1(y: np.ndarray, pred: np.ndarray) -> float:
    """Unweighted mean F1 over the classes present in ``y`` or ``pred``."""
    cm = _confusion(y, pred.astype(int))
    tp = np.diag(cm).astype(float)
    denominator = cm.sum(axis=0) + cm.sum(axis=1)
    present = denominator > 0
    return float(np.mean(2 * tp[present] / denominator[present]))


def sensitivity(y: np.ndarray, hit: np.ndarray) -> float:
    return float(hit[y == 1].mean()) if (y == 1).any() else float("nan")


def specificity(y: np.ndarray, hit: np.ndarray) -> float:
    return float((~hit[y == 0]).mean()) if (y == 0).any() else float("nan")


def brier(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean((p - y) ** 2))


def log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    """Mean negative log probability of the true class (probabilities clipped at 1e-15)."""
    return float(-np.mean(np.log(np.clip(proba[np.arange(len(y)), y], 1e-15, 1.0))))


# ----------------------------------------------------------------- exact and score intervals


def clopper_pearson(k: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """Exact (Clopper–Pearson) interval of a proportion ``k / n``."""
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high)


def auc_interval(value: float, n_pos: int, n_neg: int, level: float = LEVEL) -> tuple[float, float]:
    """Newcombe's score interval of an AUC (Stat Med 2006;25:559, method 5): the Hanley–McNeil
    variance with both n − 1 replaced by (n_pos + n_neg)/2 − 1, evaluated at the candidate AUC
    θ; the bounds solve (value − θ)² = z² V(θ). It keeps a width at AUC 0 or 1."""
    z = float(stats.norm.ppf(0.5 + level / 2))
    half = (n_pos + n_neg) / 2 - 1

    def gap(theta: float) -> float:
        var = theta * (1 - theta) / (n_pos * n_neg)
        var *= 1 + half * ((1 - theta) / (2 - theta) + theta / (1 + theta))
        return (value - theta) ** 2 - z * z * var

    eps = 1e-12
    low = 0.0 if value <= 0 else optimize.brentq(gap, 0.0, max(value - eps, 0.0))
    high = 1.0 if value >= 1 else optimize.brentq(gap, min(value + eps, 1.0), 1.0)
    return float(low), float(high)


def _exact_sensitivity(y: np.ndarray, hit: np.ndarray) -> tuple[float, float]:
    return clopper_pearson(int(hit[y == 1].sum()), int((y == 1).sum()))


def _exact_specificity(y: np.ndarray, hit: np.ndarray) -> tuple[float, float]:
    return clopper_pearson(int((~hit[y == 0]).sum()), int((y == 0).sum()))


def _exact_balanced_accuracy(y: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    """Mean of per-class Clopper–Pearson recall intervals at level 1 − 0.05/K (Bonferroni):
    all K cover at once with ≥ 95%, so their mean covers the mean recall (conservative)."""
    classes = np.unique(y)
    level = 1 - (1 - LEVEL) / len(classes)
    bounds = [
        clopper_pearson(int((pred[y == c] == c).sum()), int((y == c).sum()), level) for c in classes
    ]
    return float(np.mean([b[0] for b in bounds])), float(np.mean([b[1] for b in bounds]))


def _exact_auc(y: np.ndarray, score: np.ndarray) -> tuple[float, float]:
    return auc_interval(auc(y, score), int((y == 1).sum()), int((y == 0).sum()))


@dataclass(frozen=True)
class Metric:
    """A metric, its direction, and its exact or score interval where one exists."""

    key: str
    score: Score
    higher_is_better: bool
    exact: Exact | None = None
    exact_name: str = ""

    @property
    def direction(self) -> str:
        return "higher is better" if self.higher_is_better else "lower is better"


METRICS: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric("cv_auc", auc, True, _exact_auc, "Newcombe score interval"),
        Metric("cv_sensitivity", sensitivity, True, _exact_sensitivity, "Clopper-Pearson"),
        Metric("cv_specificity", specificity, True, _exact_specificity, "Clopper-Pearson"),
        Metric(
            "cv_balanced_accuracy",
            balanced_accuracy,
            True,
            _exact_balanced_accuracy,
            "Bonferroni-combined Clopper-Pearson",
        ),
        Metric("cv_macro_f1", macro_f1, True),
        Metric("cv_brier", brier, False),
        Metric("cv_log_loss", log_loss, False),
    )
}

# ----------------------------------------------------------------- bootstrap


def _percentile(values: list[float], point: float) -> dict[str, Any]:
    if not values:
        return {"value": point, "ci_low": None, "ci_high": None}
    low, high = np.percentile(values, [100 * (1 - LEVEL) / 2, 100 * (1 + LEVEL) / 2])
    return {"value": point, "ci_low": float(low), "ci_high": float(high)}


def _resamples(
    y: np.ndarray, n_boot: int, seed: int, groups: np.ndarray | None = None
) -> Iterator[np.ndarray]:
    """Bootstrap index sets over samples, or over whole groups (cluster bootstrap: samples of
    one group are not independent); sets holding one class only are skipped."""
    rng = np.random.default_rng(seed)
    n = len(y)
    members: list[np.ndarray] = []
    if groups is not None:
        order = np.argsort(groups, kind="stable")
        members = np.split(order, np.flatnonzero(np.diff(groups[order])) + 1)
    for _ in range(n_boot):
        if groups is None:
            idx = rng.integers(0, n, n)
        else:
            idx = np.concatenate([members[g] for g in rng.integers(0, len(members), len(members))])
        sample = y[idx]
        if sample.min() != sample.max():
            yield idx


def bootstrap(
    metric: Score,
    y: np.ndarray,
    pred: np.ndarray,
    n_boot: int,
    seed: int,
    groups: np.ndarray | None = None,
) -> dict[str, Any]:
    """Point estimate and percentile bootstrap 95% CI of ``metric(y, pred)`` over samples (over
    groups when given), whatever the sample size; :func:`interval` decides when to trust it."""
    values = [float(metric(y[i], pred[i])) for i in _resamples(y, n_boot, seed, groups)]
    return _percentile(values, float(metric(y, pred)))


def paired_bootstrap(
    metric: Score,
    y: np.ndarray,
    model: np.ndarray,
    baseline: np.ndarray,
    n_boot: int,
    seed: int,
    groups: np.ndarray | None = None,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Percentile intervals of the model's metric, the baseline's, and their difference
    (model − baseline), all from the same resamples of the samples or groups (paired)."""
    a: list[float] = []
    b: list[float] = []
    for i in _resamples(y, n_boot, seed, groups):
        a.append(float(metric(y[i], model[i])))
        b.append(float(metric(y[i], baseline[i])))
    point_a, point_b = float(metric(y, model)), float(metric(y, baseline))
    delta = [x - z for x, z in zip(a, b, strict=True)]
    return _percentile(a, point_a), _percentile(b, point_b), _percentile(delta, point_a - point_b)


# ----------------------------------------------------------------- choosing the interval


def smallest_class(y: np.ndarray, groups: np.ndarray | None = None) -> int:
    """Samples (groups, when given) in the smallest class."""
    if groups is None:
        return int(np.bincount(y).min())
    return min(len(np.unique(groups[y == c])) for c in np.unique(y))


def _too_few(y: np.ndarray, groups: np.ndarray | None) -> str:
    unit = "samples" if groups is None else "groups"
    n = len(y) if groups is None else len(np.unique(groups))
    return (
        f"too few {unit} for an interval: n={n}, smallest class {smallest_class(y, groups)} "
        f"(the bootstrap needs {MIN_PER_CLASS} per class)"
    )


def _zero_width(m: dict[str, Any]) -> bool:
    return m["ci_low"] is None or m["ci_high"] - m["ci_low"] <= 1e-12


def _settle(
    metric: Metric,
    y: np.ndarray,
    pred: np.ndarray,
    boot: dict[str, Any] | None,
    groups: np.ndarray | None,
) -> dict[str, Any]:
    """The bootstrap interval when there is one of non-zero width, else the exact or score
    interval (independent samples only), else none with the reason."""
    if boot is not None and not _zero_width(boot):
        return boot | {"method": "percentile bootstrap"}
    value = float(metric.score(y, pred))
    if metric.exact is not None and groups is None:
        low, high = metric.exact(y, pred)
        return {"value": value, "ci_low": low, "ci_high": high, "method": metric.exact_name}
    if boot is None:
        reason = _too_few(y, groups)
    else:
        reason = f"no interval: every bootstrap resample scores {value:.4g} (zero width)"
    return {"value": value, "ci_low": None, "ci_high": None, "method": "none", "reason": reason}


def interval(
    metric: Metric,
    y: np.ndarray,
    pred: np.ndarray,
    n_boot: int,
    seed: int,
    groups: np.ndarray | None = None,
) -> dict[str, Any]:
    """``value``, ``ci_low``, ``ci_high`` (None when no interval), ``method``, and ``reason``
    when there is none. Bootstrap from :data:`MIN_PER_CLASS` per class, exact below."""
    boot = None
    if smallest_class(y, groups) >= MIN_PER_CLASS:
        boot = bootstrap(metric.score, y, pred, n_boot, seed, groups)
    return _settle(metric, y, pred, boot, groups)


def _verdict(delta: dict[str, Any], higher_is_better: bool) -> str:
    if delta["ci_low"] is None:
        return "no detectable difference"
    low, high = delta["ci_low"], delta["ci_high"]
    good, bad = (low > 0, high < 0) if higher_is_better else (high < 0, low > 0)
    return "better" if good else "worse" if bad else "no detectable difference"


def compare(
    metric: Metric,
    y: np.ndarray,
    model: np.ndarray,
    baseline: np.ndarray,
    n_boot: int,
    seed: int,
    groups: np.ndarray | None = None,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The model's and the baseline's intervals and their paired difference with a
    ``verdict``: better or worse only when the paired interval excludes 0 on that side."""
    enough = smallest_class(y, groups) >= MIN_PER_CLASS
    boot: tuple[dict[str, Any] | None, ...] = (None, None, None)
    if enough:
        boot = paired_bootstrap(metric.score, y, model, baseline, n_boot, seed, groups)
    ours = _settle(metric, y, model, boot[0], groups)
    theirs = _settle(metric, y, baseline, boot[1], groups)
    delta: dict[str, Any] = {"value": ours["value"] - theirs["value"]}
    if np.array_equal(model, baseline):
        delta |= {"ci_low": None, "ci_high": None, "reason": "identical predictions"}
    elif boot[2] is None:
        delta |= {"ci_low": None, "ci_high": None, "reason": _too_few(y, groups)}
    elif _zero_width(boot[2]):
        reason = "no interval: every bootstrap resample gives the same difference"
        delta |= {"ci_low": None, "ci_high": None, "reason": reason}
    else:
        delta |= {"ci_low": boot[2]["ci_low"], "ci_high": boot[2]["ci_high"]}
    delta["method"] = "paired percentile bootstrap" if delta["ci_low"] is not None else "none"
    delta["direction"] = metric.direction
    delta["verdict"] = _verdict(delta, metric.higher_is_better)
    return ours, theirs, delta
