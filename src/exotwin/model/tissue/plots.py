"""Figures of a tissue: cells coloured by population over the all-exosomes field."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from .cells import LIVE
from .engine import UM3_PER_ML, TissueModel


def plot_snapshot(tm: TissueModel, path: Path, fmt: str) -> None:
    """Cells (2D, or a 40 µm mid-z slab in 3D) over an exosome field (per mL, log scale):
    the first cargo field when there is one (tumour-specific), else all exosomes."""
    grid = tm.grid
    shown_field = 1 if tm.n_exo > 1 else 0
    field = tm.fields.concentration[shown_field]
    layer = field[field.shape[0] // 2] * UM3_PER_ML
    x0, y0, _ = grid.lower
    x1, y1, _ = grid.upper
    fig, ax = plt.subplots(figsize=(6.4, 5.4))
    shown = np.log10(np.maximum(layer, 1.0))
    image = ax.imshow(
        shown, origin="lower", extent=(x0, x1, y0, y1), cmap="Greys", alpha=0.6, aspect="equal"
    )
    fig.colorbar(image, ax=ax, label=f"log10 exosomes per mL ({tm.exosome_keys[shown_field]})")
    cells = tm.cells
    keep = np.ones(len(cells), dtype=bool)
    if grid.dimensions == 3:
        keep = np.abs(cells.position[:, 2]) < 20.0
    pops = tm.model.populations
    colours = plt.get_cmap("tab10")
    for k, p in enumerate(sorted(set(cells.population[keep].tolist()))):
        sel = keep & (cells.population == p)
        live = sel & (cells.phase == LIVE)
        dead = sel & (cells.phase != LIVE)
        size = 0.6 * (cells.radius[sel].mean() if sel.any() else 8.0)
        ax.scatter(
            cells.position[live, 0],
            cells.position[live, 1],
            s=size,
            color=colours(k % 10),
            label=pops[p].label,
            linewidths=0,
        )
        if dead.any():
            ax.scatter(
                cells.position[dead, 0],
                cells.position[dead, 1],
                s=size,
                color="black",
                marker="x",
                linewidths=0.5,
            )
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("x (µm)")
    ax.set_ylabel("y (µm)")
    ax.set_title(f"{tm.scenario.id} · {tm.arm.name} · day {tm.day:g}")
    ax.legend(loc="upper right", fontsize=6, markerscale=2, framealpha=0.8)
    fig.tight_layout()
    fig.savefig(path, format=fmt, dpi=110)
    plt.close(fig)
