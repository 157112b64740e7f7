"""Differential abundance per analyte: effect size with its interval, test, Benjamini–Hochberg FDR.

p- and q-values are computed in log space (:mod:`.logp`): ``log10_p`` and ``log10_q`` are
exact however small; ``p_value`` and ``q_value`` are floored at :data:`P_FLOOR` (a value at the
floor means "< 1e-300", and is shown so).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from .logp import P_FLOOR, log_p_anova, log_p_kruskal, log_p_mannwhitney, log_p_welch
from .normalise import default_normaliser
from .readers import Dataset

__all__ = ["P_FLOOR", "bh_fdr", "bh_log", "differential", "format_p", "profile_shift"]

_LOG10_FLOOR = -300.0


def bh_fdr(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values), same order as ``p``."""
    p = np.asarray(p, dtype=float)
    if p.size == 0:
        return p
    return np.asarray(stats.false_discovery_control(np.nan_to_num(p, nan=1.0), method="bh"))


def bh_log(log_p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg on natural-log p-values, in log space (NaN counts as p = 1)."""
    log_p = np.nan_to_num(np.asarray(log_p, dtype=float), nan=0.0)
    m = log_p.size
    if m == 0:
        return log_p
    order = np.argsort(log_p, kind="stable")
    scaled = log_p[order] + np.log(m) - np.log(np.arange(1, m + 1))
    q = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 0.0)
    out = np.empty(m)
    out[order] = q
    return out


def format_p(log10_p: float) -> str:
    """``3.2e-12``, or the bound ``< 1e-300`` where the value is below the float floor."""
    if log10_p < _LOG10_FLOOR:
        return "< 1e-300"
    return f"{10.0**log10_p:.3g}"


def _two_class(
    x: np.ndarray, is_case: np.ndarray, test: Literal["welch", "mannwhitney"]
) -> dict[str, np.ndarray]:
    a, b = x[is_case], x[~is_case]
    na, nb = len(a), len(b)
    fc = a.mean(axis=0) - b.mean(axis=0)
    pooled = np.sqrt(
        ((na - 1) * a.var(axis=0, ddof=1) + (nb - 1) * b.var(axis=0, ddof=1)) / max(na + nb - 2, 1)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        g = fc / pooled * (1 - 3 / (4 * (na + nb) - 9))
    se = np.sqrt((na + nb) / (na * nb) + g**2 / (2 * (na + nb)))  # Hedges & Olkin (1985)
    z = stats.norm.ppf(0.975)
    ranks = stats.rankdata(x, axis=0)
    auc = (ranks[is_case].sum(axis=0) - na * (na + 1) / 2) / (na * nb)
    log_p = log_p_welch(a, b) if test == "welch" else log_p_mannwhitney(a, b)
    return {
        "log2_fc": fc,
        "hedges_g": g,
        "g_ci_low": g - z * se,
        "g_ci_high": g + z * se,
        "auc": auc,
        "mean_case": a.mean(axis=0),
        "mean_control": b.mean(axis=0),
        "log_p": log_p,
    }


def differential(
    data: Dataset,
    *,
    positive: str | None = None,
    test: Literal["welch", "mannwhitney"] = "welch",
    method: str | None = None,
) -> pd.DataFrame:
    """One row per analyte, sorted by p. Two classes: ``log2_fc`` (case − control on the
    normalised log scale), Hedges' ``g`` with its 95% interval, ``auc`` (probability that a
    case exceeds a control), Welch t or Mann–Whitney p, BH ``q_value``. More classes: one-way
    ANOVA (or Kruskal–Wallis), η² as effect, the class with the highest mean."""
    assert data.labels is not None, "differential abundance needs labels"
    normaliser = default_normaliser(data.kind, method)
    values = pd.DataFrame(
        normaliser.fit_transform(data.values),
        index=data.values.index,
        columns=normaliser.get_feature_names_out(),
    )
    labels = data.labels.to_numpy()
    classes = data.classes
    x = values.to_numpy()
    if len(classes) == 2:
        case, how = data.positive_choice(positive)
        columns = _two_class(x, labels == case, test)
    else:
        groups = [x[labels == c] for c in classes]
        means = np.vstack([g.mean(axis=0) for g in groups])
        grand = x.mean(axis=0)
        between = sum(len(g) * (m - grand) ** 2 for g, m in zip(groups, means, strict=True))
        with np.errstate(divide="ignore", invalid="ignore"):
            eta = between / ((x - grand) ** 2).sum(axis=0)
        columns = {
            "log2_fc": means.max(axis=0) - means.min(axis=0),
            "eta_squared": eta,
            "highest_in": np.array([classes[i] for i in means.argmax(axis=0)]),
            "log_p": log_p_anova(groups) if test == "welch" else log_p_kruskal(groups),
        }
    log_p = np.nan_to_num(columns.pop("log_p"), nan=0.0)
    log_q = bh_log(log_p)
    table = pd.DataFrame(columns, index=values.columns)
    table["p_value"] = np.maximum(np.exp(log_p), P_FLOOR)
    table["log10_p"] = log_p / np.log(10)
    table["q_value"] = np.maximum(np.exp(log_q), P_FLOOR)
    table["log10_q"] = log_q / np.log(10)
    table.index.name = "analyte"
    if len(classes) == 2:
        n_case = int((labels == case).sum())
        control = next(c for c in classes if c != case)
        table.attrs |= {
            "case": case,
            "control": control,
            "case_reason": how,
            "label": data.label_column,
            "counts": (n_case, len(labels) - n_case),
        }
    return table.sort_values(["log10_p", "analyte"])


def profile_shift(table: pd.DataFrame) -> str | None:
    """A warning when the whole profile moves: the median analyte differs by |g| ≥ 0.5 and
    at least 80% of analytes move the same way. Disease changes some analytes; a shift of the
    median one is what loading, extraction, scanner or normalisation differences do."""
    if "hedges_g" not in table.columns or len(table) < 10:
        return None
    g = table["hedges_g"].dropna()
    same_way = max(float((g > 0).mean()), float((g < 0).mean()))
    median = float(g.median())
    if abs(median) < 0.5 or same_way < 0.8:
        return None
    return (
        f"{same_way:.0%} of analytes move the same way (median Hedges' g {median:+.2f}): the "
        "whole profile is shifted, which loading, RNA extraction, platform or batch differences "
        "explain better than biology; try --normalise quantile (signal data) and read the "
        "effect sizes, not the p-values"
    )
