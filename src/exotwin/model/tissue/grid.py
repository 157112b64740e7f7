"""The voxel grid shared by fields and cells: cubic voxels over a box, 2D as one z-layer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class Grid:
    """``shape`` is (nz, ny, nx) voxels of edge ``dx`` µm from ``lower`` (x, y, z) µm.

    A 2D grid has ``nz == 1``; its voxels are still ``dx`` thick, as in BioFVM.
    """

    lower: tuple[float, float, float]
    shape: tuple[int, int, int]
    dx: float

    @property
    def dimensions(self) -> int:
        return 2 if self.shape[0] == 1 else 3

    @property
    def upper(self) -> tuple[float, float, float]:
        nz, ny, nx = self.shape
        x0, y0, z0 = self.lower
        return (x0 + nx * self.dx, y0 + ny * self.dx, z0 + nz * self.dx)

    @property
    def voxel_volume(self) -> float:
        return self.dx**3

    @property
    def voxels(self) -> int:
        nz, ny, nx = self.shape
        return nz * ny * nx

    def voxel_of(self, positions: NDArray[np.float64]) -> NDArray[np.int64]:
        """Flat voxel index (z-major, then y, then x) of each position (n, 3); clipped."""
        nz, ny, nx = self.shape
        idx = np.floor((positions - np.asarray(self.lower)) / self.dx).astype(np.int64)
        ix = np.clip(idx[:, 0], 0, nx - 1)
        iy = np.clip(idx[:, 1], 0, ny - 1)
        iz = np.clip(idx[:, 2], 0, nz - 1) if nz > 1 else np.zeros_like(ix)
        return (iz * ny + iy) * nx + ix

    def centres(self) -> NDArray[np.float64]:
        """Voxel centres, shape (nz, ny, nx, 3)."""
        nz, ny, nx = self.shape
        x0, y0, z0 = self.lower
        z, y, x = np.meshgrid(
            z0 + (np.arange(nz) + 0.5) * self.dx,
            y0 + (np.arange(ny) + 0.5) * self.dx,
            x0 + (np.arange(nx) + 0.5) * self.dx,
            indexing="ij",
        )
        return np.stack([x, y, z], axis=-1)
