"""Off-lattice cell mechanics as in PhysiCell: cell list, potentials, motility, Adams–Bashforth 2.

Cells are rows of structure-of-arrays: ``positions`` (n, 3) µm (z = 0 in 2D), ``radius`` (n,) µm,
``repulsion`` and ``adhesion`` (n,) µm/min, ``alive`` (n,) bool. Velocities are µm/min, times
minutes. The kernels are numba-compiled; the pair kernel runs parallel over cells for large
populations. Each cell's row is written by one thread and every sum runs in a fixed order, so
results are bit-identical whatever the thread count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from .grid import PARALLEL_CELLS

DEFAULT_REPULSION = 10.0
"""PhysiCell ``cell_cell_repulsion_strength`` (µm/min)."""
DEFAULT_ADHESION = 0.4
"""PhysiCell ``cell_cell_adhesion_strength`` (µm/min)."""
DEFAULT_ADHESION_REACH = 1.25
"""PhysiCell ``relative_maximum_adhesion_distance`` (multiple of the radius)."""
SIMPLE_PRESSURE_SCALE = 0.027288820670331
"""PhysiCell's normalisation: simple pressure 1 is about confluent hexagonal packing."""
DIVISION_OFFSET = 0.20710678118654752
"""Parent and daughter sit at ± this × parent radius along a random direction (PhysiCell)."""

_MIN_D2 = 1e-18  # pairs closer than 1e-9 µm are skipped (no direction)
_BIN_MARGIN = 1.0 + 1e-9  # bins a hair larger than asked, so rounding never loses a pair
_MAX_BINS = 1 << 22  # beyond this (and 8 bins a cell) bins grow: the bin table stays lean

Float = NDArray[np.float64]
Bounds = tuple[float, float, float]


# --------------------------------------------------------------------------- cell list


@njit(cache=True, inline="always")
def _bin_of(v: float, lo: float, inv: float, nb: int) -> int:
    f = (v - lo) * inv
    if not f >= 1.0:  # below the box, or NaN
        return 0
    if f >= nb:
        return nb - 1
    return int(f)  # truncation is floor here, f >= 1


@njit(cache=True)
def _counting_sort(
    positions: Float, lower: Float, inv_edge: Float, nx: int, ny: int, nz: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    n = positions.shape[0]
    n_bins = nx * ny * nz
    bins = np.empty(n, np.int64)
    start = np.zeros(n_bins + 1, np.int64)
    for i in range(n):
        bx = _bin_of(positions[i, 0], lower[0], inv_edge[0], nx)
        by = _bin_of(positions[i, 1], lower[1], inv_edge[1], ny)
        bz = _bin_of(positions[i, 2], lower[2], inv_edge[2], nz)
        b = (bz * ny + by) * nx + bx
        bins[i] = b
        start[b] += 1
    for b in range(1, n_bins):  # start[b] = end of bin b
        start[b] += start[b - 1]
    start[n_bins] = n
    order = np.empty(n, np.int64)
    for i in range(n - 1, -1, -1):  # backwards, so each bin lists its cells by index
        b = bins[i]
        start[b] -= 1
        order[start[b]] = i
    return order, start


@dataclass(frozen=True)
class CellList:
    """Cells binned on a uniform grid whose bin edge is at least the interaction distance.

    ``order`` lists cell indices bin by bin (stable: by index within a bin); the cells of flat
    bin ``b = (bz*ny + by)*nx + bx`` are ``order[start[b]:start[b+1]]``. Positions outside the box
    go to the nearest edge bin, which keeps the neighbour search exact.
    """

    order: NDArray[np.int64]
    start: NDArray[np.int64]
    shape: tuple[int, int, int]
    lower: Bounds
    edge: Bounds  # actual bin edge per axis (x, y, z), >= the requested bin size
    dimensions: int

    @classmethod
    def build(
        cls,
        positions: Float,
        lower: Bounds,
        upper: Bounds,
        bin_size: float,
        dimensions: int,
    ) -> CellList:
        """Bin ``positions`` (n, 3) in O(n) by a compiled counting sort."""
        if dimensions not in (2, 3):
            raise ValueError(f"dimensions must be 2 or 3, not {dimensions}")
        if not bin_size > 0:
            raise ValueError(f"bin_size must be positive, not {bin_size}")
        if positions.ndim != 2 or positions.shape[1] != 3:
            raise ValueError(f"positions must have shape (n, 3), not {positions.shape}")
        lengths = [upper[axis] - lower[axis] for axis in range(dimensions)]
        if not all(length > 0 for length in lengths):
            raise ValueError(f"upper {upper} must exceed lower {lower} on every axis")
        limit = max(_MAX_BINS, 8 * positions.shape[0])
        size = bin_size * _BIN_MARGIN
        while True:
            counts = [max(1, int(length / size)) for length in lengths]
            if math.prod(counts) <= limit:
                break
            size *= 1.25
        edges = [length / nb for length, nb in zip(lengths, counts, strict=True)]
        if dimensions == 2:
            counts.append(1)
            edges.append(math.inf)
        nx, ny, nz = counts
        inv = np.array([1.0 / e for e in edges])
        order, start = _counting_sort(
            np.ascontiguousarray(positions, dtype=np.float64),
            np.asarray(lower, dtype=np.float64),
            inv,
            nx,
            ny,
            nz,
        )
        return cls(
            order=order,
            start=start,
            shape=(nz, ny, nx),
            lower=(float(lower[0]), float(lower[1]), float(lower[2])),
            edge=(edges[0], edges[1], edges[2]),
            dimensions=dimensions,
        )

    @property
    def reach(self) -> float:
        """The largest pair distance the neighbour search is guaranteed to find."""
        return min(self.edge[: self.dimensions])


def bin_size_for(max_radius: float, adhesion_reach: float = DEFAULT_ADHESION_REACH) -> float:
    """The smallest bin edge that holds every interaction: 2 × max(1, reach) × max radius."""
    return 2.0 * max(1.0, adhesion_reach) * max_radius


@njit(cache=True, inline="always")
def _span(b: int, nb: int) -> tuple[int, int]:
    return max(b - 1, 0), min(b + 1, nb - 1)


def _geometry(cells: CellList) -> tuple[Float, Float, int, int, int]:
    nz, ny, nx = cells.shape
    lower = np.asarray(cells.lower, dtype=np.float64)
    inv = np.array([1.0 / e for e in cells.edge])
    return lower, inv, nx, ny, nz


# --------------------------------------------------------------------------- potentials


@njit(cache=True)
def _pack(
    order: NDArray[np.int64],
    positions: Float,
    radius: Float,
    repulsion: Float,
    adhesion: Float,
    alive: NDArray[np.bool_],
    three_d: bool,
) -> Float:
    """Per-cell data in bin order, a cache line a cell: x (NaN if dead), y, z, r, √rep, √adh, alive."""
    n = order.shape[0]
    packed = np.empty((n, 8), np.float64)
    for k in range(n):
        i = order[k]
        packed[k, 0] = positions[i, 0] if alive[i] else math.nan  # no distance to the dead
        packed[k, 1] = positions[i, 1]
        packed[k, 2] = positions[i, 2] if three_d else 0.0
        packed[k, 3] = radius[i]
        packed[k, 4] = math.sqrt(repulsion[i])
        packed[k, 5] = math.sqrt(adhesion[i])
        packed[k, 6] = 1.0 if alive[i] else 0.0
        packed[k, 7] = 0.0
    return packed


_PARALLEL_CELLS = 1 << 13  # cells from which the pair kernels run on all threads
_CHUNK = 512  # cells per parallel task


@njit(cache=True, inline="always")
def _list_bin(
    b: int,
    packed: Float,
    start: NDArray[np.int64],
    shape: tuple[int, int, int],
    far: float,
    skin: float,
    lists: NDArray[np.int32],
    counts: NDArray[np.int64],
    work: tuple[Float, NDArray[np.int64], NDArray[np.bool_]],
) -> None:
    """List, for each cell of bin ``b``, the cells within ``far`` × (r_k + r_j) + ``skin``.

    The candidates of the 27 (2D: 9) bins around ``b`` are copied once, in bin order, into
    ``work`` (rows for x, y, z, r; index; kept), then each of the bin's cells tests them all in
    vector lanes and keeps the hits in that order: ``counts[k]`` of them, only the first
    ``lists.shape[1] - 1`` written. Dead cells (x is NaN) have none.
    """
    nz, ny, nx = shape
    if start[b] == start[b + 1]:
        return
    cand, index, kept = work
    x0, x1 = _span(b % nx, nx)
    y0, y1 = _span(b // nx % ny, ny)
    z0, z1 = _span(b // (nx * ny), nz)
    c = 0
    for bz in range(z0, z1 + 1):
        for by in range(y0, y1 + 1):
            row = (bz * ny + by) * nx
            for kk in range(start[row + x0], start[row + x1 + 1]):  # bins x0..x1: contiguous
                for axis in range(4):
                    cand[axis, c] = packed[kk, axis]
                index[c] = kk
                c += 1
    cap = lists.shape[1] - 1
    for k in range(start[b], start[b + 1]):
        xi, yi, zi, ri = packed[k, 0], packed[k, 1], packed[k, 2], packed[k, 3]
        for q in range(c):
            dx = xi - cand[0, q]
            dy = yi - cand[1, q]
            dz = zi - cand[2, q]
            cut = far * (ri + cand[3, q]) + skin
            kept[q] = (dx * dx + dy * dy + dz * dz < cut * cut) & (index[q] != k)
        row_k = lists[k]
        m = 0
        for q in range(c):  # branch-free: each candidate is written, and kept by counting it
            row_k[min(m, cap)] = index[q]
            m += kept[q]
        counts[k] = m


@njit(cache=True, inline="always")
def _work(width: int) -> tuple[Float, NDArray[np.int64], NDArray[np.bool_]]:
    return np.empty((4, width)), np.empty(width, np.int64), np.empty(width, np.bool_)


_BINS = 64  # bins per parallel task of the list build


@njit(cache=True, parallel=True)
def _lists_parallel(
    packed: Float,
    start: NDArray[np.int64],
    shape: tuple[int, int, int],
    far: float,
    skin: float,
    width: int,
    lists: NDArray[np.int32],
    counts: NDArray[np.int64],
) -> None:
    """:func:`_list_bin` for every bin, in chunks on all threads (``width``: most candidates)."""
    n_bins = start.shape[0] - 1
    for c in prange((n_bins + _BINS - 1) // _BINS):
        work = _work(width)
        for b in range(c * _BINS, min(n_bins, (c + 1) * _BINS)):
            if start[b] != start[b + 1]:  # an empty bin costs no call (reference counts)
                _list_bin(b, packed, start, shape, far, skin, lists, counts, work)


@njit(cache=True)
def _lists_serial(
    packed: Float,
    start: NDArray[np.int64],
    shape: tuple[int, int, int],
    far: float,
    skin: float,
    width: int,
    lists: NDArray[np.int32],
    counts: NDArray[np.int64],
) -> None:
    """:func:`_lists_parallel` on one thread, for too few cells to repay starting threads."""
    work = _work(width)
    for b in range(start.shape[0] - 1):
        if start[b] != start[b + 1]:  # an empty bin costs no call (reference counts)
            _list_bin(b, packed, start, shape, far, skin, lists, counts, work)


_LANES = 8  # a cell's pair terms are computed this many at a time (vector registers)


@njit(cache=True, inline="always", error_model="numpy")
def _force_cell(
    k: int, packed: Float, row: NDArray[np.int32], m: int, far: float, inv_reach: float, buf: Float
) -> tuple[float, float, float, float]:
    """Velocity and unscaled pressure of sorted cell ``k`` from the ``m`` cells of its list.

    The neighbours' offsets, summed radii and strengths are gathered into ``buf`` (6, >= m +
    _LANES) and padded to whole vectors, so that the pair terms run in vector lanes; then they
    are summed in list order. Pairs closer than the cutoff far × R (and not coincident) count;
    the others add exact zeros, so the sums are those of the listed pairs alone.
    """
    xi = packed[k, 0]
    yi = packed[k, 1]
    zi = packed[k, 2]
    ri = packed[k, 3]
    rep_i = packed[k, 4]
    adh_i = packed[k, 5]
    for q in range(m):
        kk = row[q]
        buf[0, q] = xi - packed[kk, 0]
        buf[1, q] = yi - packed[kk, 1]
        buf[2, q] = zi - packed[kk, 2]
        buf[3, q] = ri + packed[kk, 3]
        buf[4, q] = rep_i * packed[kk, 4]
        buf[5, q] = adh_i * packed[kk, 5]
    padded = (m + _LANES - 1) // _LANES * _LANES
    for q in range(m, padded):  # coincident dummies: excluded, never summed
        buf[0, q] = buf[1, q] = buf[2, q] = buf[4, q] = buf[5, q] = 0.0
        buf[3, q] = 1.0
    for q in range(padded):  # no dependence between lanes: vectorised
        dx = buf[0, q]
        dy = buf[1, q]
        dz = buf[2, q]
        big_r = buf[3, q]
        d2 = dx * dx + dy * dy + dz * dz
        cut = far * big_r
        d = math.sqrt(d2)
        u = d / big_r  # d / R
        push = max(0.0, 1.0 - u)
        push *= push
        pull = max(0.0, 1.0 - u * inv_reach)  # 1 - d / S
        f = (buf[4, q] * push - buf[5, q] * pull * pull) / d
        ok = (d2 >= _MIN_D2) & (d2 < cut * cut)
        buf[0, q] = f * dx if ok else 0.0
        buf[1, q] = f * dy if ok else 0.0
        buf[2, q] = f * dz if ok else 0.0
        buf[3, q] = push if ok else 0.0
    vx = 0.0
    vy = 0.0
    vz = 0.0
    p = 0.0
    for q in range(m):
        vx += buf[0, q]
        vy += buf[1, q]
        vz += buf[2, q]
        p += buf[3, q]
    return vx, vy, vz, p


@njit(cache=True, inline="always")
def _store(
    i: int,
    v: tuple[float, float, float, float],
    velocity: Float,
    pressure: Float,
    want_velocity: bool,
    want_pressure: bool,
) -> None:
    if want_velocity:
        velocity[i, 0] = v[0]
        velocity[i, 1] = v[1]
        velocity[i, 2] = v[2]
    if want_pressure:
        pressure[i] = v[3] / SIMPLE_PRESSURE_SCALE


@njit(cache=True, parallel=True, error_model="numpy")
def _forces_parallel(
    packed: Float,
    order: NDArray[np.int64],
    lists: NDArray[np.int32],
    counts: NDArray[np.int64],
    reach: float,
    velocity: Float,
    pressure: Float,
    want_velocity: bool,
    want_pressure: bool,
) -> None:
    """PhysiCell potentials for every cell, in chunks on all threads; writes row ``order[k]``."""
    n = packed.shape[0]
    far, inv_reach = max(1.0, reach), 1.0 / reach
    for c in prange((n + _CHUNK - 1) // _CHUNK):
        buf = np.empty((6, lists.shape[1] + _LANES))
        for k in range(c * _CHUNK, min(n, (c + 1) * _CHUNK)):
            v = _force_cell(k, packed, lists[k], counts[k], far, inv_reach, buf)
            _store(order[k], v, velocity, pressure, want_velocity, want_pressure)


@njit(cache=True, error_model="numpy")
def _forces_serial(
    packed: Float,
    order: NDArray[np.int64],
    lists: NDArray[np.int32],
    counts: NDArray[np.int64],
    reach: float,
    velocity: Float,
    pressure: Float,
    want_velocity: bool,
    want_pressure: bool,
) -> None:
    """:func:`_forces_parallel` on one thread, for too few cells to repay starting threads."""
    far, inv_reach = max(1.0, reach), 1.0 / reach
    buf = np.empty((6, lists.shape[1] + _LANES))
    for k in range(packed.shape[0]):
        v = _force_cell(k, packed, lists[k], counts[k], far, inv_reach, buf)
        _store(order[k], v, velocity, pressure, want_velocity, want_pressure)


@njit(cache=True, inline="always")
def _refresh_chunk(
    c: int, packed: Float, order: NDArray[np.int64], positions: Float, home: Float, three_d: bool
) -> float:
    """Copy the live cells of chunk ``c`` into ``packed``; returns their largest squared move."""
    most = 0.0
    for k in range(c * _CHUNK, min(packed.shape[0], (c + 1) * _CHUNK)):
        if packed[k, 6] == 0.0:  # dead: no distance to anyone, whatever its position
            continue
        i = order[k]
        x, y = positions[i, 0], positions[i, 1]
        z = positions[i, 2] if three_d else 0.0
        packed[k, 0], packed[k, 1], packed[k, 2] = x, y, z
        most = max(most, (x - home[k, 0]) ** 2 + (y - home[k, 1]) ** 2 + (z - home[k, 2]) ** 2)
    return most


@njit(cache=True, parallel=True)
def _refresh_parallel(
    packed: Float, order: NDArray[np.int64], positions: Float, home: Float, three_d: bool
) -> float:
    """Copy the live cells' positions into ``packed``; returns the largest squared move from
    ``home`` (their positions when the lists were built)."""
    chunks = (packed.shape[0] + _CHUNK - 1) // _CHUNK
    moved = np.zeros(chunks)
    for c in prange(chunks):
        moved[c] = _refresh_chunk(c, packed, order, positions, home, three_d)
    return moved.max() if chunks else 0.0


@njit(cache=True)
def _refresh_serial(
    packed: Float, order: NDArray[np.int64], positions: Float, home: Float, three_d: bool
) -> float:
    """:func:`_refresh_parallel` on one thread, for too few cells to repay starting threads."""
    most = 0.0
    for c in range((packed.shape[0] + _CHUNK - 1) // _CHUNK):
        most = max(most, _refresh_chunk(c, packed, order, positions, home, three_d))
    return most


def _lists(
    packed: Float,
    cells: CellList,
    reach: float,
    skin: float,
    cap: int,
    parallel: bool,
    table: NDArray[np.int32] | None = None,
) -> tuple[NDArray[np.int32], NDArray[np.int64]]:
    """Each sorted cell's neighbours within max(1, reach) × R + skin, rows of a (n, cap + 1) table.

    The rows are written into ``table`` (its first n rows) when it has cap + 1 columns and
    room for n rows: a table kept between builds is not allocated and paged in again.
    """
    n = packed.shape[0]
    width = int(np.diff(cells.start).max()) * (27 if cells.shape[0] > 1 else 9)  # candidates
    kernel = _lists_parallel if parallel else _lists_serial
    while True:
        if table is not None and table.shape[0] >= n and table.shape[1] == cap + 1:
            lists = table[:n]
        else:
            lists = np.empty((n, cap + 1), np.int32)
        counts = np.empty(n, np.int64)
        kernel(packed, cells.start, cells.shape, max(1.0, reach), skin, width, lists, counts)
        most = int(counts.max()) if n else 0
        if most <= cap:
            return lists, counts
        cap = most + 8


def _check_reach(cells: CellList, radius: Float, reach: float) -> None:
    if not reach > 0:
        raise ValueError(f"adhesion_reach must be positive, not {reach}")
    if radius.shape[0] == 0:
        return
    need = 2.0 * max(1.0, reach) * float(radius.max())
    if need > cells.reach:
        raise ValueError(
            f"cell-list bins ({cells.reach:.4g} µm) are smaller than the interaction distance "
            f"({need:.4g} µm); build with bin_size >= bin_size_for(max radius, adhesion_reach)"
        )


def _run_interactions(
    positions: Float,
    radius: Float,
    repulsion: Float,
    adhesion: Float,
    adhesion_reach: float,
    alive: NDArray[np.bool_],
    cells: CellList,
    dimensions: int,
    velocity: Float | None,
    pressure: Float | None,
    parallel: bool | None,
) -> None:
    n = positions.shape[0]
    if cells.order.shape[0] != n:
        raise ValueError(f"cell list holds {cells.order.shape[0]} cells, arrays hold {n}")
    if dimensions != cells.dimensions:
        raise ValueError(f"cell list is {cells.dimensions}D, asked for {dimensions}D")
    for name, arr, shape in (
        ("velocity out", velocity, (n, 3)),
        ("pressure out", pressure, (n,)),
    ):
        if arr is not None and (arr.shape != shape or arr.dtype != np.float64):
            raise ValueError(f"{name} must be float64 of shape {shape}")
    _check_reach(cells, radius, adhesion_reach)
    packed = _pack(
        cells.order,
        np.ascontiguousarray(positions, dtype=np.float64),
        np.ascontiguousarray(radius, dtype=np.float64),
        np.ascontiguousarray(repulsion, dtype=np.float64),
        np.ascontiguousarray(adhesion, dtype=np.float64),
        np.ascontiguousarray(alive, dtype=np.bool_),
        dimensions == 3,
    )
    if parallel is None:
        parallel = n >= _PARALLEL_CELLS
    lists, counts = _lists(packed, cells, adhesion_reach, 0.0, 16, parallel)
    kernel = _forces_parallel if parallel else _forces_serial
    kernel(
        packed,
        cells.order,
        lists,
        counts,
        float(adhesion_reach),
        velocity if velocity is not None else np.empty((0, 3)),
        pressure if pressure is not None else np.empty(0),
        velocity is not None,
        pressure is not None,
    )


def mechanics_velocity(
    positions: Float,
    radius: Float,
    repulsion: Float,
    adhesion: Float,
    adhesion_reach: float,
    alive: NDArray[np.bool_],
    cells: CellList,
    dimensions: int,
    out: Float,
    pressure_out: Float | None = None,
    *,
    parallel: bool | None = None,
) -> None:
    """Overwrite ``out`` (n, 3) with the cell-cell velocity of each cell (PhysiCell potentials).

    For a pair at distance d with R = r_i + r_j and S = ``adhesion_reach`` × R:
    v_i += [√(rep_i rep_j)(1 - d/R)² [d < R] - √(adh_i adh_j)(1 - d/S)² [d < S]] (x_i - x_j)/d.
    Pairs with a dead cell or d < 1e-9 are skipped; dead cells get zero velocity. In 2D z is
    ignored. ``pressure_out`` (n,), if given, receives :func:`pressure` from the same pass.
    ``parallel`` (default: from 8192 cells) uses all numba threads; results are identical.
    """
    _run_interactions(
        positions,
        radius,
        repulsion,
        adhesion,
        adhesion_reach,
        alive,
        cells,
        dimensions,
        out,
        pressure_out,
        parallel,
    )


def pressure(
    positions: Float,
    radius: Float,
    alive: NDArray[np.bool_],
    cells: CellList,
    dimensions: int,
    *,
    parallel: bool | None = None,
) -> Float:
    """PhysiCell simple pressure: Σ (1 - d/R)² over overlapping live neighbours / scale.

    Divided by :data:`SIMPLE_PRESSURE_SCALE` as PhysiCell does, so 1 is about confluence.
    Cheaper as ``pressure_out`` of :func:`mechanics_velocity` when velocities are needed too.
    """
    out = np.zeros(positions.shape[0])
    ones = np.ones_like(radius, dtype=np.float64)
    _run_interactions(
        positions, radius, ones, ones, 1.0, alive, cells, dimensions, None, out, parallel
    )
    return out


class Neighbours:
    """Cell-cell velocities of one population, step after step: the engine's mechanics.

    Each live cell's neighbours within the interaction distance plus ``skin`` µm are listed
    from a cell list, and the lists are kept while no live cell has moved more than skin/2
    since: no pair can then have come within reach unlisted. ``skin`` 0 rebuilds them at every
    call. Sums run in list order (bin order when built), so right after a build the result is
    exactly that of :func:`mechanics_velocity`. Call :meth:`reset` whenever cells are added,
    removed, die or change size.
    """

    def __init__(
        self, lower: Bounds, upper: Bounds, dimensions: int, adhesion_reach: float, skin: float
    ) -> None:
        if not (adhesion_reach > 0 and skin >= 0):
            raise ValueError(f"adhesion_reach {adhesion_reach} must be > 0 and skin {skin} >= 0")
        self.lower, self.upper, self.dimensions = lower, upper, dimensions
        self.reach, self.skin = float(adhesion_reach), float(skin)
        self.builds = 0  # how many times the lists were built
        self._cap = 8 * dimensions  # list length per cell; grows to the fullest neighbourhood
        self._table = np.empty((0, self._cap + 1), np.int32)  # the lists' rows, kept and reused
        self._cells: tuple[Float, Float, Float, NDArray[np.bool_]] | None = None
        self._built: tuple[Float, NDArray[np.int64], Float, NDArray[np.int32], NDArray[np.int64]]
        self._stale = True

    def reset(
        self, radius: Float, repulsion: Float, adhesion: Float, alive: NDArray[np.bool_]
    ) -> None:
        """The cells' radius (µm), repulsion and adhesion (µm/min) and which are alive."""
        self._cells = (
            np.ascontiguousarray(radius, dtype=np.float64),
            np.ascontiguousarray(repulsion, dtype=np.float64),
            np.ascontiguousarray(adhesion, dtype=np.float64),
            np.ascontiguousarray(alive, dtype=np.bool_),
        )
        self._stale = True

    @property
    def radius(self) -> Float:
        """The cells' radius (µm), as last given to :meth:`reset`."""
        assert self._cells is not None
        return self._cells[0]

    def velocity(self, positions: Float, out: Float, pressure_out: Float | None = None) -> None:
        """Overwrite ``out`` (n, 3) as :func:`mechanics_velocity` does (and ``pressure_out``)."""
        if self._cells is None or len(self._cells[0]) != len(positions):
            raise ValueError("Neighbours.reset must describe the cells before velocity")
        n = len(positions)
        if not n:
            return
        positions = np.ascontiguousarray(positions, dtype=np.float64)
        parallel = n >= _PARALLEL_CELLS
        if self._stale or self.skin == 0 or self._moved(positions) > (self.skin / 2) ** 2:
            self._build(positions, parallel)
        packed, order, _, lists, counts = self._built
        kernel = _forces_parallel if parallel else _forces_serial
        kernel(
            packed, order, lists, counts, self.reach, out,
            pressure_out if pressure_out is not None else np.empty(0),
            True, pressure_out is not None,
        )  # fmt: skip

    def _moved(self, positions: Float) -> float:
        packed, order, home, _, _ = self._built
        kernel = _refresh_parallel if len(order) >= _PARALLEL_CELLS else _refresh_serial
        return float(kernel(packed, order, positions, home, self.dimensions == 3))

    def _build(self, positions: Float, parallel: bool) -> None:
        assert self._cells is not None
        radius, repulsion, adhesion, alive = self._cells
        size = bin_size_for(float(radius.max()), self.reach) + self.skin
        cells = CellList.build(positions, self.lower, self.upper, size, self.dimensions)
        packed = _pack(
            cells.order, positions, radius, repulsion, adhesion, alive, self.dimensions == 3
        )
        n = len(positions)
        if self._table.shape[0] < n or self._table.shape[1] != self._cap + 1:
            self._table = np.empty((n + n // 8, self._cap + 1), np.int32)
        lists, counts = _lists(
            packed, cells, self.reach, self.skin, self._cap, parallel, self._table
        )
        if lists.base is not self._table:  # a fuller neighbourhood: a wider table from now
            self._cap, self._table = lists.shape[1] - 1, lists
        self._built = (packed, cells.order, packed[:, :3].copy(), lists, counts)
        self._stale = False
        self.builds += 1


@njit(cache=True)
def _pairs(
    sorted_pos: Float,
    start: NDArray[np.int64],
    lower: Float,
    inv_edge: Float,
    nx: int,
    ny: int,
    nz: int,
    cutoff: float,
    counts: NDArray[np.int64],
    out: NDArray[np.int64],
    order: NDArray[np.int64],
    fill: bool,
) -> None:
    """Count each sorted cell's pairs (i < j) into ``counts``, or with ``fill`` write them
    to ``out`` from the offsets now in ``counts``."""
    n = sorted_pos.shape[0]
    c2 = cutoff * cutoff
    for k in range(n):
        i = order[k]
        m = counts[k] if fill else 0
        x0, x1 = _span(_bin_of(sorted_pos[k, 0], lower[0], inv_edge[0], nx), nx)
        y0, y1 = _span(_bin_of(sorted_pos[k, 1], lower[1], inv_edge[1], ny), ny)
        z0, z1 = _span(_bin_of(sorted_pos[k, 2], lower[2], inv_edge[2], nz), nz)
        for bz in range(z0, z1 + 1):
            for by in range(y0, y1 + 1):
                row = (bz * ny + by) * nx
                for kk in range(start[row + x0], start[row + x1 + 1]):
                    j = order[kk]
                    if j <= i:
                        continue
                    dx = sorted_pos[k, 0] - sorted_pos[kk, 0]
                    dy = sorted_pos[k, 1] - sorted_pos[kk, 1]
                    dz = sorted_pos[k, 2] - sorted_pos[kk, 2]
                    if dx * dx + dy * dy + dz * dz < c2:
                        if fill:
                            out[m, 0] = i
                            out[m, 1] = j
                        m += 1
        if not fill:
            counts[k] = m


def neighbour_pairs(
    positions: Float, cells: CellList, cutoff: float, dimensions: int
) -> NDArray[np.int64]:
    """All pairs (i < j) closer than ``cutoff`` µm via the cell list, (m, 2) sorted by (i, j)."""
    if cutoff > cells.reach:
        raise ValueError(f"cutoff {cutoff} exceeds the cell-list reach {cells.reach:.4g}")
    sorted_pos = np.ascontiguousarray(positions[cells.order], dtype=np.float64)
    if dimensions == 2:
        sorted_pos[:, 2] = 0.0
    lower, inv, nx, ny, nz = _geometry(cells)
    n = positions.shape[0]
    counts = np.zeros(n, np.int64)
    args = (sorted_pos, cells.start, lower, inv, nx, ny, nz, float(cutoff))
    _pairs(*args, counts, np.empty((0, 2), np.int64), cells.order, False)
    offsets = np.zeros(n, np.int64)
    np.cumsum(counts[:-1], out=offsets[1:])
    out = np.empty((int(counts.sum()), 2), np.int64)
    _pairs(*args, offsets, out, cells.order, True)
    return out[np.lexsort((out[:, 1], out[:, 0]))]


# --------------------------------------------------------------------------- motility


@njit(cache=True)
def _motility(
    draws: Float,
    speed: Float,
    bias: Float,
    gradient: Float,
    three_d: bool,
    rows: NDArray[np.int64],
    out: Float,
) -> None:
    """Add motility i to row ``rows[i]`` of ``out``."""
    n = speed.shape[0]
    for i in range(n):
        s = speed[i]
        if s == 0.0:
            continue
        rx = draws[i, 0]
        ry = draws[i, 1]
        rz = draws[i, 2] if three_d else 0.0
        rn = math.sqrt(rx * rx + ry * ry + rz * rz)
        if rn > 0.0:
            rx /= rn
            ry /= rn
            rz /= rn
        gx = gradient[i, 0]
        gy = gradient[i, 1]
        gz = gradient[i, 2] if three_d else 0.0
        gn = math.sqrt(gx * gx + gy * gy + gz * gz)
        if gn > 0.0:
            gx /= gn
            gy /= gn
            gz /= gn
        b = bias[i]
        dx = (1.0 - b) * rx + b * gx
        dy = (1.0 - b) * ry + b * gy
        dz = (1.0 - b) * rz + b * gz
        dn = math.sqrt(dx * dx + dy * dy + dz * dz)
        if dn == 0.0:
            continue
        f = s / dn
        j = rows[i]
        out[j, 0] += f * dx
        out[j, 1] += f * dy
        out[j, 2] += f * dz


def motility_velocity(
    rng_draws: Float,
    speed: Float,
    bias: Float,
    gradient: Float,
    dimensions: int,
    out: Float,
    rows: NDArray[np.int64] | None = None,
) -> None:
    """Add PhysiCell motility to ``out``: speed × unit((1-b)·random + b·∇/|∇|).

    ``rng_draws`` (n, 3) are standard normals (or any vectors; they are normalised, so normals
    give uniform directions) drawn by the caller, which owns the generator and the persistence
    time. A zero gradient contributes no bias direction; zero speed adds nothing. Cell i's
    motility goes to row ``rows[i]`` of ``out`` (default row i).
    """
    n = speed.shape[0]
    rows = np.arange(n) if rows is None else np.ascontiguousarray(rows, dtype=np.int64)
    if rng_draws.shape != (n, 3) or gradient.shape != (n, 3) or rows.shape != (n,):
        raise ValueError("rng_draws and gradient must have shape (n, 3), rows (n,)")
    if out.ndim != 2 or out.shape[1] != 3 or (n and not 0 <= rows.min() <= rows.max() < len(out)):
        raise ValueError("out must have shape (m, 3) with a row for every cell")
    _motility(
        np.ascontiguousarray(rng_draws, dtype=np.float64),
        np.ascontiguousarray(speed, dtype=np.float64),
        np.ascontiguousarray(bias, dtype=np.float64),
        np.ascontiguousarray(gradient, dtype=np.float64),
        dimensions == 3,
        rows,
        out,
    )


# --------------------------------------------------------------------------- time step


@njit(cache=True, inline="always")
def _advance_cell(
    i: int,
    positions: Float,
    velocity: Float,
    previous: Float,
    dt: float,
    lower: Float,
    upper: Float,
    r: float,
    axes: int,
) -> None:
    for a in range(axes):
        x = positions[i, a] + dt * (1.5 * velocity[i, a] - 0.5 * previous[i, a])
        lo = lower[a] + r
        hi = upper[a] - r
        if lo > hi:
            lo = 0.5 * (lower[a] + upper[a])
            hi = lo
        positions[i, a] = min(max(x, lo), hi)
    for a in range(3):
        previous[i, a] = velocity[i, a]


@njit(cache=True)
def _advance(
    positions: Float,
    velocity: Float,
    previous: Float,
    dt: float,
    lower: Float,
    upper: Float,
    radius: Float,
    axes: int,
) -> None:
    for i in range(positions.shape[0]):
        _advance_cell(i, positions, velocity, previous, dt, lower, upper, radius[i], axes)


@njit(cache=True, parallel=True)
def _advance_parallel(
    positions: Float,
    velocity: Float,
    previous: Float,
    dt: float,
    lower: Float,
    upper: Float,
    radius: Float,
    axes: int,
) -> None:
    """:func:`_advance` on all threads."""
    for i in prange(positions.shape[0]):
        _advance_cell(i, positions, velocity, previous, dt, lower, upper, radius[i], axes)


def advance(
    positions: Float,
    velocity: Float,
    previous_velocity: Float,
    dt: float,
    lower: Bounds,
    upper: Bounds,
    radius: Float,
    dimensions: int,
) -> None:
    """Adams–Bashforth 2 in place: x += dt (1.5 v - 0.5 v_prev), then v_prev = v.

    Each centre is clamped to [lower + r, upper - r] per axis (the box centre if the box is
    thinner than the cell); z is untouched in 2D. PhysiCell starts with v_prev = 0.
    """
    n = positions.shape[0]
    for name, arr in (("positions", positions), ("velocity", velocity)):
        if arr.shape != (n, 3):
            raise ValueError(f"{name} must have shape (n, 3)")
    if previous_velocity.shape != (n, 3) or previous_velocity.dtype != np.float64:
        raise ValueError("previous_velocity must be float64 of shape (n, 3)")
    if positions.dtype != np.float64:
        raise ValueError("positions must be float64")
    kernel = _advance_parallel if n >= PARALLEL_CELLS else _advance
    kernel(
        positions,
        np.ascontiguousarray(velocity, dtype=np.float64),
        previous_velocity,
        float(dt),
        np.asarray(lower, dtype=np.float64),
        np.asarray(upper, dtype=np.float64),
        np.ascontiguousarray(radius, dtype=np.float64),
        dimensions,
    )


# --------------------------------------------------------------------------- division


def division_offsets(rng: np.random.Generator, n: int, radius: Float, dimensions: int) -> Float:
    """Offsets (n, 3) for division: parent at x - o, daughter at x + o (PhysiCell).

    |o| = :data:`DIVISION_OFFSET` × the parent's radius before division, in a uniformly random
    direction (in the xy-plane in 2D).
    """
    v = rng.standard_normal((n, 3))
    if dimensions == 2:
        v[:, 2] = 0.0
    norm = np.linalg.norm(v, axis=1)
    degenerate = norm == 0.0
    v[degenerate] = (1.0, 0.0, 0.0)
    norm[degenerate] = 1.0
    scale = DIVISION_OFFSET * np.asarray(radius, dtype=np.float64) / norm
    return v * scale[:, None]
