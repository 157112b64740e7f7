"""Differential abundance per analyte: effect size, test, Benjamini–Hochberg FDR."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from .normalise import default_normaliser
from .readers import Dataset

__all__ = ["bh_fdr", "differential"]


def bh_fdr(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values), same order as ``p``."""
    p = np.asarray(p, dtype=float)
    if p.size == 0:
        return p
    return np.asarray(stats.false_discovery_control(np.nan_to_num(p, nan=1.0), method="bh"))


def differential(
    data: Dataset,
    *,
    positive: str | None = None,
    test: Literal["welch", "mannwhitney"] = "welch",
    method: str | None = None,
) -> pd.DataFrame:
    """One row per analyte, sorted by p. Two classes: ``log2_fc`` (case − control on the
    normalised log scale), Hedges' ``g``, Welch t or Mann–Whitney p, BH ``q_value``. More
    classes: one-way ANOVA (or Kruskal–Wallis), η² as effect, the class with the highest mean."""
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
        case = data.positive_class(positive)
        a, b = x[labels == case], x[labels != case]
        fc = a.mean(axis=0) - b.mean(axis=0)
        na, nb = len(a), len(b)
        pooled = np.sqrt(
            ((na - 1) * a.var(axis=0, ddof=1) + (nb - 1) * b.var(axis=0, ddof=1))
            / max(na + nb - 2, 1)
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            g = fc / pooled * (1 - 3 / (4 * (na + nb) - 9))
        if test == "welch":
            p = stats.ttest_ind(a, b, equal_var=False, axis=0).pvalue
        else:
            p = stats.mannwhitneyu(a, b, axis=0).pvalue
        table = pd.DataFrame(
            {
                "log2_fc": fc,
                "hedges_g": g,
                "mean_case": a.mean(axis=0),
                "mean_control": b.mean(axis=0),
                "p_value": p,
            },
            index=values.columns,
        )
        table.attrs["case"] = case
    else:
        groups = [x[labels == c] for c in classes]
        if test == "welch":
            p = stats.f_oneway(*groups, axis=0).pvalue
        else:
            p = stats.kruskal(*groups, axis=0).pvalue
        means = np.vstack([g.mean(axis=0) for g in groups])
        grand = x.mean(axis=0)
        between = sum(len(g) * (m - grand) ** 2 for g, m in zip(groups, means, strict=True))
        total = ((x - grand) ** 2).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            eta = between / total
        table = pd.DataFrame(
            {
                "log2_fc": means.max(axis=0) - means.min(axis=0),
                "eta_squared": eta,
                "highest_in": [classes[i] for i in means.argmax(axis=0)],
                "p_value": p,
            },
            index=values.columns,
        )
    table["p_value"] = table["p_value"].astype(float).fillna(1.0)
    table["q_value"] = bh_fdr(table["p_value"].to_numpy())
    table.index.name = "analyte"
    return table.sort_values(["p_value", "analyte"])
