"""The voxel grid shared by fields and cells: cubic voxels over a box, 2D as one z-layer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray


@njit(cache=True, inline="always")
def _index(v: float, lo: float, dx: float, n: int) -> int:
    f = np.floor((v - lo) / dx)
    if not f >= 0.0:  # below the grid, or NaN
        return 0
    return n - 1 if f >= n - 1 else int(f)


PARALLEL_CELLS = 1 << 16  # positions from which the per-cell kernels run on all threads


@njit(cache=True, inline="always")
def _voxel(
    p: NDArray[np.float64], lower: NDArray[np.float64], dx: float, shape: tuple[int, int, int]
) -> int:
    nz, ny, nx = shape
    ix = _index(p[0], lower[0], dx, nx)
    iy = _index(p[1], lower[1], dx, ny)
    iz = _index(p[2], lower[2], dx, nz) if nz > 1 else 0
    return (iz * ny + iy) * nx + ix


@njit(cache=True)
def _voxel_of(
    positions: NDArray[np.float64],
    lower: NDArray[np.float64],
    dx: float,
    shape: tuple[int, int, int],
    out: NDArray[np.int64],
) -> None:
    for i in range(positions.shape[0]):
        out[i] = _voxel(positions[i], lower, dx, shape)


@njit(cache=True, parallel=True)
def _voxel_of_parallel(
    positions: NDArray[np.float64],
    lower: NDArray[np.float64],
    dx: float,
    shape: tuple[int, int, int],
    out: NDArray[np.int64],
) -> None:
    """:func:`_voxel_of` on all threads."""
    for i in prange(positions.shape[0]):
        out[i] = _voxel(positions[i], lower, dx, shape)


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
        positions = np.ascontiguousarray(positions, dtype=np.float64)
        if positions.ndim != 2 or positions.shape[1] != 3:
            raise ValueError(f"positions must have shape (n, 3), not {positions.shape}")
        out = np.empty(len(positions), dtype=np.int64)
        kernel = _voxel_of_parallel if len(positions) >= PARALLEL_CELLS else _voxel_of
        kernel(positions, np.asarray(self.lower, dtype=np.float64), self.dx, self.shape, out)
        return out

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
