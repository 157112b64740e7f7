"""Snapshots of a tissue: cells as Parquet (one row per cell), fields as .npz, plots.

Each file is written to a temporary name and renamed, so an interrupted run leaves only
complete snapshots. Layout of ``DIR/ARM/``:

- ``cells_dayD.parquet``: ``id, x, y, z`` (µm), ``radius`` (µm), ``volume`` (µm³), ``cell``,
  ``state``, ``population``, ``phase`` (live/apoptotic/necrotic) and ``internal: KEY`` (cargo
  internalised per cell, exosomes) per exosome field, ``lifecycle: endosome`` and
  ``lifecycle: mvb`` (the cell's endosome and MVB content over their level without an
  intervention, :mod:`.lifecycle`);
- ``fields_dayD.npz``: one (nz, ny, nx) array per field (amount/µm³; oxygen in mmHg; drugs in
  µM), plus ``lower`` (µm), ``dx`` (µm) and ``minute``;
- ``snapshot_dayD.png`` and ``.svg``: cells over the all-exosomes field (2D; a mid-z slice in 3D).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ...io import atomic_write
from .cells import PHASES
from .engine import TissueModel


def label(day: float) -> str:
    return f"day{day:g}".replace(".", "p")


def cell_table(tm: TissueModel) -> pa.Table:
    cells = tm.cells
    pops = tm.model.populations
    pop = cells.population
    columns: dict[str, object] = {
        "id": cells.ident,
        "x": cells.position[:, 0],
        "y": cells.position[:, 1],
        "z": cells.position[:, 2],
        "radius": cells.radius,
        "volume": cells.volume,
        "cell": pa.array([pops[i].cell for i in pop]),
        "state": pa.array([pops[i].state for i in pop], type=pa.string()),
        "population": pa.array([pops[i].label for i in pop]),
        "phase": pa.array([PHASES[i] for i in cells.phase]),
    }
    for f, key in enumerate(tm.exosome_keys):
        columns[f"internal: {key}"] = cells.internal[:, f]
    columns["lifecycle: endosome"] = cells.lifecycle[:, 0]
    columns["lifecycle: mvb"] = cells.lifecycle[:, 1]
    return pa.table(columns)


def write_snapshot(tm: TissueModel, folder: Path, plots: bool = True) -> list[Path]:
    """Write the cells, fields (and plots) of the tissue's current time into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    name = label(round(tm.day, 6))
    cells_path = folder / f"cells_{name}.parquet"
    fields_path = folder / f"fields_{name}.npz"
    atomic_write(cells_path, lambda p: pq.write_table(cell_table(tm), p))
    arrays = {n: tm.fields.concentration[i] for i, n in enumerate(tm.fields.names)}

    def save(path: Path) -> None:
        with path.open("wb") as handle:
            np.savez_compressed(
                handle,
                lower=np.array(tm.grid.lower),
                dx=np.array(tm.grid.dx),
                minute=np.array(tm.time),
                **arrays,
            )

    atomic_write(fields_path, save)
    written = [cells_path, fields_path]
    if plots:
        from .plots import plot_snapshot

        for suffix in ("png", "svg"):
            path = folder / f"snapshot_{name}.{suffix}"
            atomic_write(path, lambda p, s=suffix: plot_snapshot(tm, p, s))  # type: ignore[misc]
            written.append(path)
    return written
