"""Figures as inline SVG (matplotlib, Agg backend): ROC, calibration, panel, volcano."""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

__all__ = ["calibration_svg", "panel_svg", "roc_svg", "svg", "volcano_svg"]


def svg(fig: object) -> str:
    """The figure as an ``<svg>`` element, closed afterwards."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def roc_svg(curves: dict[str, tuple[np.ndarray, np.ndarray, float]]) -> str:
    """ROC curves: name → (false-positive rates, true-positive rates, AUC)."""
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    for name, (fpr, tpr, auc) in curves.items():
        ax.plot(fpr, tpr, label=f"{name} (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], ls=":", color="grey")
    ax.set_xlabel("1 - specificity")
    ax.set_ylabel("sensitivity")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return svg(fig)


def calibration_svg(bins: Sequence[dict[str, float]]) -> str:
    """Observed fraction of cases against mean predicted probability per bin."""
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    ax.plot([0, 1], [0, 1], ls=":", color="grey")
    ax.plot([b["predicted"] for b in bins], [b["observed"] for b in bins], marker="o")
    ax.set_xlabel("predicted probability (out of fold)")
    ax.set_ylabel("observed fraction of cases")
    fig.tight_layout()
    return svg(fig)


def panel_svg(steps: Sequence[dict[str, object]]) -> str:
    """Inner-CV AUC as the greedy panel grows, one analyte at a time."""
    fig, ax = plt.subplots(figsize=(5.6, 3.4))
    labels = [str(s["added"]) for s in steps]
    ax.plot(range(1, len(steps) + 1), [float(s["auc"]) for s in steps], marker="o")  # type: ignore[arg-type]
    ax.set_xticks(range(1, len(steps) + 1), labels, rotation=30, ha="right", fontsize=7)
    ax.set_ylabel("inner-CV AUC")
    ax.set_xlabel("analyte added")
    fig.tight_layout()
    return svg(fig)


def volcano_svg(table: pd.DataFrame, fdr: float = 0.05, label_top: int = 8) -> str:
    """Effect (``log2_fc``) against −log10 p; analytes under the FDR cut-off in red."""
    fig, ax = plt.subplots(figsize=(5.6, 4.2))
    p = np.clip(table["p_value"].to_numpy(dtype=float), 1e-300, 1.0)
    x = table["log2_fc"].to_numpy(dtype=float)
    hit = table["q_value"].to_numpy(dtype=float) < fdr
    ax.scatter(x[~hit], -np.log10(p[~hit]), s=8, color="grey")
    ax.scatter(x[hit], -np.log10(p[hit]), s=10, color="#c00", label=f"FDR < {fdr:g}")
    for i in np.argsort(p)[:label_top]:
        ax.annotate(str(table.index[i]), (x[i], -np.log10(p[i])), fontsize=6)
    ax.set_xlabel("log2 fold change (case - control)")
    ax.set_ylabel("-log10 p")
    if hit.any():
        ax.legend(fontsize=7)
    fig.tight_layout()
    return svg(fig)
