"""Figures of a tissue: the cells at their size, one fixed colour per cell type and state,
beside one panel per cargo field that drives the scenario's rules."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any, Literal

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from ..display import (
    cell_colour,
    cell_marker,
    cells_label,
    human,
    molecule_label,
    readout_title,
    readout_unit,
    selector_label,
)
from ..rules.rows import selects
from ..scenario.schema import CellSelector
from .cells import LIVE
from .engine import UM3_PER_ML, TissueModel
from .readouts import measure

Float = NDArray[np.float64]
SLAB = 20.0  # µm either side of z = 0 shown of a 3D tissue
BAND_STYLES: tuple[Literal["dashed", "dotted", "dashdot"], ...] = ("dashed", "dotted", "dashdot")
RARE = 0.05  # populations below this share of the cells shown are outlined and drawn on top


def driving_fields(tm: TissueModel) -> list[int]:
    """The cargo-specific exosome fields that some receiver senses (else all exosomes)."""
    sensed = {int(f) for f in tm.signal_field if f > 0}
    cargo = [f for f in range(1, tm.n_exo) if f in sensed] or list(range(1, tm.n_exo))
    return cargo or [0]


def _shown(tm: TissueModel) -> NDArray[np.bool_]:
    if tm.grid.dimensions == 3:
        return np.abs(tm.cells.position[:, 2]) < SLAB
    return np.ones(len(tm.cells), dtype=bool)


def _points_per_um(fig: Any, ax: Any, extent: float) -> float:
    return float(ax.get_position().width * fig.get_figwidth() * 72.0 / extent)


def _legend_entry(colour: str, marker: str, label: str, edge: str | None = None) -> Line2D:
    return Line2D(
        [], [], color=colour, marker=marker, linestyle="none", label=label,
        markeredgecolor=edge or colour, markersize=7,
    )  # fmt: skip


def _cells(tm: TissueModel, fig: Any, ax: Any) -> list[Line2D]:
    """Live cells at their size by population (largest first, rare ones outlined on top),
    dead cells as grey crosses; returns the legend entries with counts."""
    cells, pops, kb = tm.cells, tm.model.populations, tm.kb
    keep = _shown(tm)
    live = keep & (cells.phase == LIVE)
    scale = _points_per_um(fig, ax, tm.grid.upper[0] - tm.grid.lower[0])
    found, numbers = np.unique(cells.population[live], return_counts=True)
    counts = {int(p): int(n) for p, n in zip(found, numbers, strict=True)}
    handles = []
    for p in sorted(counts, key=lambda p: -counts[p]):
        pop, sel = pops[p], live & (cells.population == p)
        rare = counts[p] < RARE * sum(counts.values())
        size = (2.0 * cells.radius[sel] * scale * (1.5 if rare else 1.0)) ** 2
        colour, marker = cell_colour(kb, pop.cell, pop.state), cell_marker(pop.state)
        edge = {"edgecolors": "black", "linewidths": 0.7} if rare else {"linewidths": 0}
        xy = cells.position[sel, :2].T
        ax.scatter(*xy, s=size, c=colour, marker=marker, zorder=3 + rare, **edge)
        label = f"{cells_label(kb, pop.cell, pop.state)} ({counts[p]})"
        handles.append(_legend_entry(colour, marker, label, "black" if rare else None))
    dead = keep & (cells.phase != LIVE)
    if dead.any():
        xy = cells.position[dead, :2].T
        ax.scatter(*xy, s=12, c="#777777", marker="x", linewidths=0.6, zorder=2)
        label = f"dead (apoptotic or necrotic) ({int(dead.sum())})"
        handles.append(_legend_entry("#777777", "x", label))
    return handles


def _distance(tm: TissueModel, of: CellSelector | None, points: Float) -> Float | None:
    """Distance of each point to the nearest live shown cell matching ``of`` (or the centre)."""
    if of is None:
        return np.linalg.norm(points, axis=1)
    chosen = np.array([selects(tm.kb, of, p) for p in tm.model.populations])
    mask = chosen[tm.cells.population] & tm.cells.alive & _shown(tm)
    return cKDTree(tm.cells.position[mask, :2]).query(points)[0] if mask.any() else None


def _bands(tm: TissueModel, ax: Any) -> list[Line2D]:
    """Contours of the distance bands the scenario's readouts count cells in (legend: the
    band's distance and what it is measured from)."""
    x = np.linspace(tm.grid.lower[0], tm.grid.upper[0], 200)
    y = np.linspace(tm.grid.lower[1], tm.grid.upper[1], 200)
    points = np.stack(np.meshgrid(x, y), axis=-1).reshape(-1, 2)
    handles: list[Line2D] = []
    drawn: set[tuple[str, float]] = set()
    for band in [r.band for r in tm.scenario.readouts if r.band is not None]:
        distance = _distance(tm, band.of, points)
        of = selector_label(tm.kb, band.of, plural=False)
        to = f"nearest {of}" if band.of else "the centre"
        for level in (band.min, band.max):
            if distance is None or not level or (to, level) in drawn:
                continue
            drawn.add((to, level))
            style = BAND_STYLES[(len(drawn) - 1) % len(BAND_STYLES)]
            grid = distance.reshape(len(y), len(x))
            ax.contour(x, y, grid, levels=[level], colors="#333333", linestyles=[style], zorder=5)
            label = f"{level:g} µm from {to}"
            handles.append(Line2D([], [], color="#333333", linestyle=style, label=label))
    return handles


def _readouts(tm: TissueModel) -> str:
    """The scenario's readouts now, in words (what the checks compare)."""
    values = measure(tm, tm.scenario.readouts)
    lines = [
        textwrap.fill(
            f"{readout_title(tm.kb, r)}: {human(values[r.name], readout_unit(r))}",
            70,
            subsequent_indent="   ",
        )
        for r in tm.scenario.readouts
    ]
    return "Readouts on this day\n" + "\n".join(lines)


def _field(tm: TissueModel, fig: Any, ax: Any, f: int) -> None:
    grid = tm.grid
    field = tm.fields.concentration[f]
    layer = field[field.shape[0] // 2] * UM3_PER_ML
    shown = np.log10(np.maximum(layer, 1.0))
    extent = (grid.lower[0], grid.upper[0], grid.lower[1], grid.upper[1])
    image = ax.imshow(shown, origin="lower", extent=extent, cmap="magma", aspect="equal")
    key = tm.exosome_keys[f]
    name = "all exosomes" if f == 0 else f"{molecule_label(tm.kb, key)} exosomes"
    ax.set_title(name, fontsize=9)
    ax.set_xlabel("x (µm)", fontsize=7, labelpad=1)
    ax.tick_params(labelsize=6)
    fig.colorbar(image, ax=ax, shrink=0.85).set_label("log10 exosomes per mL", fontsize=7)


def plot_snapshot(tm: TissueModel, path: Path, fmt: str) -> None:
    """Write :func:`snapshot_figure` (``fmt``: png, svg)."""
    fig = snapshot_figure(tm)
    fig.savefig(path, format=fmt, dpi=110)
    plt.close(fig)


def snapshot_figure(tm: TissueModel) -> Figure:
    """The cells (2D, or a 40 µm mid-z slab in 3D), readout bands dashed, the readouts' values,
    and a panel per cargo field that drives the rules (log10 exosomes per mL)."""
    fields = driving_fields(tm)
    rows = max(2, len(fields))
    fig = plt.figure(figsize=(11.0, 7.4))
    grid = fig.add_gridspec(
        rows,
        2,
        width_ratios=[2.1, 1.0],
        left=0.07,
        right=0.97,
        top=0.88,
        bottom=0.2,
        hspace=0.35,
        wspace=0.12,
    )
    ax = fig.add_subplot(grid[:, 0])
    x0, y0, _ = tm.grid.lower
    x1, y1, _ = tm.grid.upper
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_facecolor("#fbfbf8")
    handles = _cells(tm, fig, ax) + _bands(tm, ax)
    ax.set_xlabel("x (µm)")
    ax.set_ylabel("y (µm)")
    slab = f", cells within {SLAB:g} µm of z = 0" if tm.grid.dimensions == 3 else ""
    ax.set_title(f"Cells on day {tm.day:g}{slab}", fontsize=10)
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.09),
        ncol=2,
        fontsize=8,
        frameon=False,
    )
    for row, f in enumerate(fields[:rows]):
        _field(tm, fig, fig.add_subplot(grid[row, 1]), f)
    fig.text(0.655, 0.125, _readouts(tm), fontsize=7, va="top", linespacing=1.4)
    arm = tm.arm.name + (f": {tm.arm.description}" if tm.arm.description else "")
    fig.suptitle(textwrap.fill(tm.scenario.title, 110) + f"\narm {arm}", fontsize=10)
    return fig
