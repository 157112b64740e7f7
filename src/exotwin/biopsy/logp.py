"""Test p-values in log space, so that tiny p-values (large cohorts) stay finite.

scipy's p-values underflow to 0 below ~1e-308 (and ``t.logsf`` returns −inf there). Where
scipy's p is representable with full precision it is used as is; below ``1e-250`` the natural
log of the tail is computed from the statistic by identities that stay in log space:

- Student t and F tails are regularised incomplete beta functions, and
  I_x(a, b) = x^a (1 − x)^b / (a B(a, b)) · 2F1(a + b, 1; a + 1; x)  (DLMF 8.17.8);
- the χ² tail is Q(s, z) = Γ(s, z)/Γ(s) = e^(−z) U(1 − s, 1 − s, z) / Γ(s)  (DLMF 8.5.3);
- the Mann–Whitney normal approximation (with scipy's tie and continuity corrections) uses
  ``norm.logsf``, which is accurate far into the tail.
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

__all__ = ["P_FLOOR", "log_p_anova", "log_p_kruskal", "log_p_mannwhitney", "log_p_welch"]

P_FLOOR = 1e-300  # reported p-values are floored here; below it they are "< 1e-300"
_PRECISE = 1e-250  # scipy p-values above this are used directly


def _log_beta_lower(a: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    """log I_x(a, b) by DLMF 8.17.8 (accurate where x is well below (a + 1)/(a + b + 2))."""
    series = special.hyp2f1(a + b, 1.0, a + 1.0, x)
    return np.asarray(
        a * np.log(x) + b * np.log1p(-x) - np.log(a) - special.betaln(a, b) + np.log(series)
    )


def _log_t_two_sided(t: np.ndarray, df: np.ndarray) -> np.ndarray:
    t, df = np.abs(np.asarray(t, float)), np.asarray(df, float)
    return np.asarray(_log_beta_lower(df / 2, np.full_like(df, 0.5), df / (df + t * t)))


def _log_f_sf(f: np.ndarray, d1: float, d2: float) -> np.ndarray:
    f = np.asarray(f, float)
    return _log_beta_lower(np.full_like(f, d2 / 2), np.full_like(f, d1 / 2), d2 / (d2 + d1 * f))


def _log_chi2_sf(x: np.ndarray, k: float) -> np.ndarray:
    s, z = k / 2, np.asarray(x, float) / 2
    return np.asarray(-z + np.log(special.hyperu(1 - s, 1 - s, z)) - special.gammaln(s))


def _merge(p: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """log p from scipy where it is precise, else the log-space value; NaN p stays NaN."""
    p = np.asarray(p, float)
    with np.errstate(divide="ignore"):
        direct = np.log(p)
    return np.where(p > _PRECISE, direct, np.where(np.isnan(p), np.nan, fallback))


def log_p_welch(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Natural-log two-sided Welch t-test p-value per column of ``a`` (cases) and ``b``."""
    result = stats.ttest_ind(a, b, equal_var=False, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        fallback = _log_t_two_sided(result.statistic, result.df)
    return _merge(result.pvalue, fallback)


def log_p_mannwhitney(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Natural-log two-sided Mann–Whitney p-value per column (scipy's method choice; the
    tie- and continuity-corrected normal approximation where scipy's p underflows)."""
    result = stats.mannwhitneyu(a, b, axis=0)
    n1, n2 = len(a), len(b)
    n = n1 + n2
    ranks = stats.rankdata(np.vstack([a, b]), axis=0)
    u1 = ranks[:n1].sum(axis=0) - n1 * (n1 + 1) / 2
    ties = np.array([(c**3 - c).sum() for c in _tie_counts(ranks)])
    sigma = np.sqrt(n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1))))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (np.abs(u1 - n1 * n2 / 2) - 0.5) / sigma
    return _merge(result.pvalue, np.log(2) + stats.norm.logsf(z))


def _tie_counts(ranks: np.ndarray) -> list[np.ndarray]:
    return [np.unique(column, return_counts=True)[1].astype(float) for column in ranks.T]


def log_p_anova(groups: list[np.ndarray]) -> np.ndarray:
    """Natural-log one-way ANOVA p-value per column."""
    result = stats.f_oneway(*groups, axis=0)
    k, n = len(groups), sum(len(g) for g in groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        fallback = _log_f_sf(result.statistic, k - 1, n - k)
    return _merge(result.pvalue, fallback)


def log_p_kruskal(groups: list[np.ndarray]) -> np.ndarray:
    """Natural-log Kruskal–Wallis p-value per column (χ² with k − 1 degrees of freedom)."""
    result = stats.kruskal(*groups, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        fallback = _log_chi2_sf(result.statistic, len(groups) - 1)
    return _merge(result.pvalue, fallback)
