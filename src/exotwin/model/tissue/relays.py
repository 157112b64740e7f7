"""What cell types do to their neighbours (cells.yaml ``acts_on``), as a local share.

In the compartment model a relayed signal in a receiver is the acting populations' share of
the compartment's cells (for an act ``through`` an activity, their share weighted by their own
relayed signal over ``feedback_half_share``, at most their own signal: passed on once). In the tissue the same share is taken locally, as a
paracrine factor at steady state would sense it (PhysiCell's secreted substances): the acting
cells and all live cells are counted per voxel, both counts are smoothed by one Gaussian kernel
of standard deviation ``relay_reach`` µm, and a cell's signal is their ratio at its voxel. A
tissue of one voxel (well mixed) gives the compartment model's share exactly; cells far from
every acting cell sense nothing. Dead cells neither act nor count.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import gaussian_filter

from ..rules.rows import CompiledModel
from .cells import Cells
from .grid import Grid

Float = NDArray[np.float64]
Int = NDArray[np.int64]


class Relays:
    """The arm's relayed signals (``rows.signals.relay``), evaluated on the cells."""

    def __init__(self, model: CompiledModel, grid: Grid, reach: float) -> None:
        rows = model.rows.signals
        self.relay = {int(i): (sources, relayed) for i, sources, relayed in rows.relay}
        self.share = float(model.parameters.values[rows.relay_share]) if self.relay else 1.0
        self.grid = grid
        sigma = reach / grid.dx
        self.sigma = (0.0 if grid.shape[0] == 1 else sigma, sigma, sigma)

    def __bool__(self) -> bool:
        return bool(self.relay)

    def _smoothed(self, voxel: Int, weight: Float) -> Float:
        counts = np.bincount(voxel, weight, minlength=self.grid.voxels).reshape(self.grid.shape)
        return gaussian_filter(counts, self.sigma, mode="constant").reshape(-1)

    def shares(self, cells: Cells, signal_of: Callable[[int, Int], Float]) -> dict[int, Float]:
        """Per relayed signal, its value at every cell. ``signal_of(s, cells)``: the relayed
        signal ``s`` of those cells (their internalised cargo and contact, unblocked)."""
        if not self.relay:
            return {}
        alive = cells.alive
        voxel = self.grid.voxel_of(cells.position)
        total = self._smoothed(voxel, alive.astype(float))[voxel]
        out = {}
        for i, (sources, relayed) in self.relay.items():
            weight, present = np.zeros(len(cells)), np.zeros(len(cells))
            for source, s in zip(sources.tolist(), relayed.tolist(), strict=True):
                acting = np.flatnonzero(alive & (cells.population == source))
                weight[acting] += signal_of(s, acting) if s >= 0 else 1.0
                present[acting] += 1.0
            near = self._share(voxel, weight, total)
            if (relayed >= 0).any():  # passed on once: at most the acting cells' own signal
                near = near / np.maximum(self._share(voxel, present, total), self.share)
            out[i] = near
        return out

    def _share(self, voxel: Int, weight: Float, total: Float) -> Float:
        near = self._smoothed(voxel, weight)[voxel]
        return np.divide(near, total, out=np.zeros(len(near)), where=total > 1e-12)
