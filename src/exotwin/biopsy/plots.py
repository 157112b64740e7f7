"""Figures as inline SVG (matplotlib, Agg backend): ROC, calibration, panel, volcano."""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

__all__ = ["calibration_svg", "panel_svg", "roc_svg", "svg", "volcano_points", "volcano_svg"]


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


def volcano_points(table: pd.DataFrame, fdr: float = 0.05) -> dict[str, np.ndarray]:
    """What the volcano plots: ``x`` (log2 fold change), ``y`` (−log10 p from the log-space
    ``log10_p``: finite however small p is), ``hit`` (q < ``fdr``) and ``below`` (p under
    double precision, 1e-300, shown as a bound elsewhere and marked in the plot)."""
    y = -table["log10_p"].to_numpy(dtype=float)
    return {
        "x": table["log2_fc"].to_numpy(dtype=float),
        "y": y,
        "hit": table["q_value"].to_numpy(dtype=float) < fdr,
        "below": y > 300,
    }


def volcano_svg(table: pd.DataFrame, fdr: float = 0.05, label_top: int = 6) -> str:
    """Effect against −log10 p (:func:`volcano_points`): the axis stays finite and spread
    however small p gets; points with p < 1e-300 are open triangles, FDR hits red, the FDR
    cut a dashed line."""
    fig, ax = plt.subplots(figsize=(6.0, 4.8), layout="constrained")
    points = volcano_points(table, fdr)
    x, y, hit, tiny = points["x"], points["y"], points["hit"], points["below"]
    for mask, colour, marker, label in (
        (~hit & ~tiny, "grey", "o", None),
        (hit & ~tiny, "#c00", "o", f"FDR < {fdr:g}"),
        (tiny, "#c00", "^", "p < 1e-300 (exact value from log space)"),
    ):
        if mask.any():
            face = "none" if marker == "^" else colour
            ax.scatter(
                x[mask],
                y[mask],
                s=14,
                marker=marker,
                facecolors=face,
                edgecolors=colour,
                label=label,
            )
    if hit.any():
        cut = float(y[hit].min())
        ax.axhline(cut, ls="--", lw=0.8, color="#c00", label=f"FDR {fdr:g} cut")
    for rank, i in enumerate(np.argsort(-y, kind="stable")[:label_top]):
        offset = (3, 2) if rank % 2 == 0 else (3, -8)  # alternate so neighbours do not overlap
        ax.annotate(
            str(table.index[i]), (x[i], y[i]), fontsize=6, xytext=offset, textcoords="offset points"
        )
    case, control = table.attrs.get("case"), table.attrs.get("control")
    ax.set_ylabel("-log10 p (computed in log space)")
    if case is None:
        ax.set_xlabel("log2 fold change")
    else:
        ax.set_xlabel(f"log2 fold change ({case!r} - {control!r})")
        n_case, n_control = table.attrs["counts"]
        label = table.attrs.get("label", "label")
        ax.set_title(
            f"{label}: {case!r} (n = {n_case}) vs {control!r} (n = {n_control})", fontsize=9
        )
    ax.set_ylim(bottom=0)
    if hit.any():  # below the plot, where it hides no point
        ax.legend(
            fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3, frameon=False
        )
    return svg(fig)
