"""Diffusing fields on a voxel grid: cell exchange, decay and implicit LOD diffusion.

BioFVM's scheme: per time step, cells exchange with their voxel (implicit source/sink), then
decay (implicit) and locally one-dimensional diffusion, x then y then z, each an implicit 1D
solve ``(I - dt·D·δxx) c_new = c`` with no-flux ends by the Thomas algorithm, its coefficients
precomputed once. Unconditionally stable and first order in time; with no-flux boundaries the
total changes only by secretion, uptake and decay (to round-off), and a uniform field stays
exactly uniform. A Dirichlet field has its outer voxels held at a value, set (as in BioFVM)
before and after each axis sweep; the ledger counts what that adds.

Layout: ``concentration[f, z, y, x]`` (C order), amounts per µm³; µm and minutes throughout.
Kernels write disjoint parts of the field and reduce their sums serially in a fixed order, so
results are bit-identical run to run, threaded or not.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from exotwin.errors import FieldError as FieldError

from .grid import PARALLEL_CELLS, Grid

__all__ = ["FieldError", "FieldSolver", "Ledger"]

_ROWS = 32  # rows of a plane solved together along x
_CHUNK = 1024  # (y, x) columns per work item of the z sweep
_PARALLEL_VOXELS = 1 << 17  # field voxels (fields × voxels) from which diffusion runs threaded

Float = NDArray[np.float64]
Int = NDArray[np.int64]
Bool = NDArray[np.bool_]


@dataclass
class Ledger:
    """Cumulative amounts per field since the start; ``expected()`` is what the field should hold."""

    secreted: Float
    taken_up: Float
    decayed: Float
    boundary: Float  # net amount added by holding Dirichlet boundaries
    initial: Float
    dosed: Float  # net amount added or removed by add, set_uniform and scale (FieldSolver)

    def expected(self) -> Float:
        """initial + secreted - taken_up - decayed + boundary + dosed, per field."""
        return (
            self.initial + self.secreted - self.taken_up - self.decayed + self.boundary + self.dosed
        )


class Sources(NamedTuple):
    """Cells bound to the fields: their rates summed per occupied voxel (see :func:`_bind`)."""

    m: int  # occupied voxels
    where: Int  # (m,) occupied voxels, ascending
    planes: Int  # (nz + 1,): plane z's occupied voxels are where[planes[z]:planes[z + 1]]
    of_cell: Int  # (n,) each cell's occupied voxel
    rates: Float  # (m, 2F): summed secretion (amount/min), then summed uptake (µm³/min)
    seen: Float  # (m, T): Σ over steps of the first T fields' concentration after exchange
    totals: Float  # (F,) the cells' summed secretion


class Scheme(NamedTuple):
    """Constants and per-item work space of a diffusion step."""

    coefficients: Float  # (3, F): fraction kept and lost under implicit decay; r = D·dt/dx²
    thomas: Float  # (6, F, L): Thomas factors (inv, ri) along x, y, z
    fixed: Bool  # (F,) whether the field's outer voxels are held (edited in place)
    value: Float  # (F,) the value they are held at (edited in place)
    sums: Float  # (F·nz,) per-plane amount before decay
    taken: Float  # (F·nz,) per-plane Σ uptake × concentration
    added: Float  # (2, F·max(nz, z chunks)): boundary amounts of the xy and z items


# ---------------------------------------------------------------------------- kernels


@njit(cache=True)
def _count(
    voxel: Int, secretion: Float, uptake: Float, count: NDArray[np.int32], totals: Float
) -> int:
    """Count the cells of each voxel and sum their secretion, in cell order; returns -1.

    On bad input (a voxel outside ``count``, a rate not finite and >= 0) returns that cell,
    with ``count`` as it was (all zero).
    """
    n, nf = secretion.shape
    nv = count.shape[0]
    totals[:] = 0.0
    for i in range(n):
        v = voxel[i]
        ok = 0 <= v < nv
        for f in range(nf):
            s = secretion[i, f]
            a = uptake[i, f]
            ok &= s >= 0.0 and s < math.inf and a >= 0.0 and a < math.inf
            totals[f] += s
        if not ok:
            for j in range(i):
                count[voxel[j]] = 0
            return i
        count[v] += 1
    return -1


@njit(cache=True)
def _bind(
    voxel: Int, secretion: Float, uptake: Float, plane: int, count: NDArray[np.int32], src: Sources
) -> int:
    """Sum the cells' rates per occupied voxel (after :func:`_count`); returns how many voxels.

    Fills ``src``: ``where`` (occupied voxels, ascending, so that each z-plane's are
    contiguous), ``planes``, ``of_cell`` and ``rates`` (summed in cell order); clears ``seen``
    and leaves ``count`` all zero again.
    """
    n, nf = secretion.shape
    m = 0
    for v in range(count.shape[0]):
        if count[v]:
            src.where[m] = v
            m += 1
            count[v] = m  # the slot, plus one
    planes = src.planes
    planes[:] = 0
    for s in range(m):
        planes[src.where[s] // plane + 1] = s + 1
    for k in range(1, planes.shape[0]):
        planes[k] = max(planes[k], planes[k - 1])
    rates = src.rates
    rates[:m] = 0.0
    src.seen[:m] = 0.0
    for i in range(n):
        s = count[voxel[i]] - 1
        src.of_cell[i] = s
        for f in range(nf):
            rates[s, f] += secretion[i, f]
            rates[s, nf + f] += uptake[i, f]
    for s in range(m):
        count[src.where[s]] = 0
    return m


@njit(cache=True)
def _exchange_range(c: Float, f: int, src: Sources, s0: int, s1: int, k: float) -> float:
    """Implicit source/sink c ← (c + k·S) / (1 + k·A) of field ``f`` at occupied voxels s0:s1.

    ``c`` is the field, flat. Adds the new concentration to ``seen`` (what the voxel's cells
    see, for the fields it has); returns Σ A·c_new.
    """
    nf = src.rates.shape[1] // 2
    seen = f < src.seen.shape[1]
    taken = 0.0
    for s in range(s0, s1):
        v = src.where[s]
        a = src.rates[s, nf + f]
        new = (c[v] + k * src.rates[s, f]) / (1.0 + k * a)
        c[v] = new
        if seen:
            src.seen[s, f] += new
        taken += a * new
    return taken


@njit(cache=True)
def _exchange_all(flat: Float, src: Sources, k: float) -> Float:
    """:func:`_exchange_range` over every field and occupied voxel; returns Σ A·c_new per field."""
    nf = flat.shape[0]
    taken = np.zeros(nf)
    for f in range(nf):
        taken[f] = _exchange_range(flat[f], f, src, 0, src.m, k)
    return taken


@njit(cache=True)
def _cell_uptake(of_cell: Int, uptake: Float, seen: Float, dt: float, out: Float) -> None:
    """out[i, f] += uptake[i, f] · (Σ over steps of the concentration at i's voxel) · dt."""
    n, nf = out.shape
    for i in range(n):
        s = of_cell[i]
        for f in range(nf):
            out[i, f] += uptake[i, f] * seen[s, f] * dt


@njit(cache=True, parallel=True)
def _cell_uptake_parallel(of_cell: Int, uptake: Float, seen: Float, dt: float, out: Float) -> None:
    """:func:`_cell_uptake` on all threads."""
    n, nf = out.shape
    for i in prange(n):
        s = of_cell[i]
        for f in range(nf):
            out[i, f] += uptake[i, f] * seen[s, f] * dt


@njit(cache=True)
def _hold_range(row: Float, lo: int, hi: int, value: float) -> float:
    """Set row[lo:hi] to ``value``; returns what that added (per unit volume)."""
    added = 0.0
    for m in range(lo, hi):
        added += value - row[m]
        row[m] = value
    return added


@njit(cache=True)
def _hold_plane(p: Float, whole: bool, value: float) -> float:
    """Set the outer voxels of a (y, x) plane, or all if ``whole``; returns what that added.

    Setting a voxel twice adds nothing the second time, so overlaps need no care.
    """
    ny, nx = p.shape
    added = 0.0
    for j in range(ny):
        if whole or j == 0 or j == ny - 1:
            added += _hold_range(p[j], 0, nx, value)
        else:
            added += _hold_range(p[j], 0, 1, value) + _hold_range(p[j], nx - 1, nx, value)
    return added


@njit(cache=True, fastmath={"reassoc"})
def _sum(a: Float) -> float:
    """Σ a, in whatever order vectorises best (the same every run): for the decay ledger."""
    total = 0.0
    for v in a:
        total += v
    return total


@njit(cache=True)
def _x_rows(p: Float, keep: float, r: float, inv: Float, ri: Float) -> float:
    """Decay, then solve every row of the (y, x) plane ``p`` along x; returns the sum before decay.

    As :func:`_solve_rows`, on blocks of rows copied transposed into a scratch array so that the
    independent recurrences of the rows run side by side in vector registers.
    """
    ny, nx = p.shape
    total = 0.0
    d = np.empty((nx, _ROWS))
    ref = np.empty(_ROWS)
    for j0 in range(0, ny, _ROWS):
        m = min(ny - j0, _ROWS)
        for jj in range(m):
            row = p[j0 + jj]
            total += _sum(row)
            for i in range(nx):
                d[i, jj] = row[i] * keep
        first = d[0]
        for jj in range(m):
            ref[jj] = first[jj]
            first[jj] = 0.0
        for i in range(1, nx):
            g = inv[i]
            here, prev = d[i], d[i - 1]
            for jj in range(m):
                here[jj] = ((here[jj] - ref[jj]) + r * prev[jj]) * g
        for i in range(nx - 2, -1, -1):
            g = ri[i]
            here, nxt = d[i], d[i + 1]
            for jj in range(m):
                here[jj] += g * nxt[jj]
        for jj in range(m):
            row = p[j0 + jj]
            for i in range(nx):
                row[i] = d[i, jj] + ref[jj]
    return total


@njit(cache=True)
def _row(a: Float, k: int, m0: int, m1: int) -> Float:
    """Row k of ``a``, columns m0:m1 (a plain row view when that is all of it: cheaper)."""
    return a[k] if m0 == 0 and m1 == a.shape[1] else a[k, m0:m1]


@njit(cache=True)
def _solve_rows(a: Float, m0: int, m1: int, r: float, inv: Float, ri: Float) -> None:
    """Implicit diffusion along axis 0 of the C-ordered 2D ``a``, for its columns m0:m1.

    Vectorised along the rows. Solves for each line's offset from its first value (the matrix
    maps constants to themselves), so a uniform line stays exactly uniform.
    """
    n, w = a.shape[0], m1 - m0
    if n == 1:
        return
    first = _row(a, 0, m0, m1)
    ref = first.copy()
    first[:] = 0.0
    for k in range(1, n):
        g = inv[k]
        here, prev = _row(a, k, m0, m1), _row(a, k - 1, m0, m1)
        for i in range(w):
            here[i] = ((here[i] - ref[i]) + r * prev[i]) * g
    for k in range(n - 2, -1, -1):  # back substitution; row k+1 is then done: add its ref
        g = ri[k]
        here, nxt = _row(a, k, m0, m1), _row(a, k + 1, m0, m1)
        for i in range(w):
            here[i] += g * nxt[i]
            nxt[i] += ref[i]
    for i in range(w):
        first[i] += ref[i]


@njit(cache=True, inline="always")
def _fields_of(item: int, nf: int, nz: int) -> tuple[int, int, int]:
    """Fields f0:f1 and plane z of an xy work item: a 3D plane with every field (each
    plane's cells are visited once), or in 2D one field."""
    return (0, nf, item) if nz > 1 else (item, item + 1, 0)


@njit(cache=True)
def _xy_item(c: Float, flat: Float, item: int, sch: Scheme, src: Sources, k: float) -> None:
    """Plane z of fields f0:f1: exchange with its cells, hold, decay + x, hold, y, hold."""
    nf, nz = c.shape[:2]
    f0, f1, z = _fields_of(item, nf, nz)
    whole = nz > 1 and (z == 0 or z == nz - 1)
    for f in range(f0, f1):
        at = f * nz + z
        sch.taken[at] = _exchange_range(flat[f], f, src, src.planes[z], src.planes[z + 1], k)
        p = c[f, z]
        fixed, value = sch.fixed[f], sch.value[f]
        added = _hold_plane(p, whole, value) if fixed else 0.0
        r = sch.coefficients[2, f]
        sch.sums[at] = _x_rows(p, sch.coefficients[0, f], r, sch.thomas[0, f], sch.thomas[1, f])
        if fixed:
            added += _hold_plane(p, whole, value)
        if p.shape[0] > 1:
            _solve_rows(p, 0, p.shape[1], r, sch.thomas[2, f], sch.thomas[3, f])
            if fixed:
                added += _hold_plane(p, whole, value)
        sch.added[0, at] = added


@njit(cache=True)
def _z_item(c: Float, item: int, nb: int, sch: Scheme) -> None:
    """z-solve the columns of chunk ``item % nb`` of field ``item // nb``; then hold."""
    nz, ny, nx = c.shape[1:]
    f, b = item // nb, item % nb
    a = c[f].reshape(nz, ny * nx)
    m0, m1 = b * _CHUNK, min(ny * nx, (b + 1) * _CHUNK)
    _solve_rows(a, m0, m1, sch.coefficients[2, f], sch.thomas[4, f], sch.thomas[5, f])
    if not sch.fixed[f]:
        sch.added[1, item] = 0.0
        return
    # The held x and y faces are uniform along z, so the solve leaves them exactly as they are:
    # only the z faces need holding again.
    v = sch.value[f]
    sch.added[1, item] = _hold_range(a[0], m0, m1, v) + _hold_range(a[nz - 1], m0, m1, v)


@njit(cache=True)
def _tally(
    nf: int, sch: Scheme, per: tuple[int, int], src: Sources, dt: float, vol: float, led: Float
) -> None:
    """Add the per-item sums to the ledger's rows (secreted, taken up, decayed, boundary: the
    :class:`Ledger` order), field by field, in a fixed order."""
    for f in range(nf):
        s = 0.0
        b = 0.0
        t = 0.0
        for i in range(f * per[0], (f + 1) * per[0]):
            s += sch.sums[i]
            b += sch.added[0, i]
            t += sch.taken[i]
        for i in range(f * per[1], (f + 1) * per[1]):
            b += sch.added[1, i]
        led[0, f] += src.totals[f] * dt
        led[1, f] += t * dt
        led[2, f] += s * vol * sch.coefficients[1, f]
        led[3, f] += b * vol


@njit(cache=True, parallel=True)
def _steps_parallel(
    steps: int, c: Float, sch: Scheme, src: Sources, dt: float, vol: float, led: Float
) -> None:
    """``steps`` × (exchange, decay, x and y sweeps per (field, z) plane; z sweeps per chunk)."""
    nf, nz, ny, nx = c.shape
    nb = (ny * nx + _CHUNK - 1) // _CHUNK if nz > 1 else 0  # z-sweep chunks per field
    flat = c.reshape(nf, nz * ny * nx)
    for _ in range(steps):
        for item in prange(nz if nz > 1 else nf):
            _xy_item(c, flat, item, sch, src, dt / vol)
        for item in prange(nf * nb):
            _z_item(c, item, nb, sch)
        _tally(nf, sch, (nz, nb), src, dt, vol, led)


@njit(cache=True)
def _steps_serial(
    steps: int, c: Float, sch: Scheme, src: Sources, dt: float, vol: float, led: Float
) -> None:
    """:func:`_steps_parallel` on one thread, for grids too small to repay starting threads."""
    nf, nz, ny, nx = c.shape
    nb = (ny * nx + _CHUNK - 1) // _CHUNK if nz > 1 else 0  # z-sweep chunks per field
    flat = c.reshape(nf, nz * ny * nx)
    for _ in range(steps):
        for item in range(nz if nz > 1 else nf):
            _xy_item(c, flat, item, sch, src, dt / vol)
        for item in range(nf * nb):
            _z_item(c, item, nb, sch)
        _tally(nf, sch, (nz, nb), src, dt, vol, led)


@njit(cache=True)
def _gradient(c: Float, voxel: Int, dx: float, out: Float) -> None:
    """Central differences at each voxel (one-sided at the domain edge, 0 along a 1-voxel axis)."""
    nz, ny, nx = c.shape
    for n in range(voxel.shape[0]):
        v = voxel[n]
        i = v % nx
        j = (v // nx) % ny
        k = v // (nx * ny)
        lo, hi = max(i - 1, 0), min(i + 1, nx - 1)
        out[n, 0] = (c[k, j, hi] - c[k, j, lo]) / ((hi - lo) * dx) if hi > lo else 0.0
        lo, hi = max(j - 1, 0), min(j + 1, ny - 1)
        out[n, 1] = (c[k, hi, i] - c[k, lo, i]) / ((hi - lo) * dx) if hi > lo else 0.0
        lo, hi = max(k - 1, 0), min(k + 1, nz - 1)
        out[n, 2] = (c[hi, j, i] - c[lo, j, i]) / ((hi - lo) * dx) if hi > lo else 0.0


# ---------------------------------------------------------------------------- solver


def _thomas(n: int, r: float) -> tuple[Float, Float]:
    """Thomas factors of BioFVM's no-flux matrix for an axis of ``n`` voxels.

    Diagonal 1+2r inside and 1+r at the ends, off-diagonals -r: every column sums to 1, so the
    solve conserves the line's total, and every row too, so constants map to themselves.
    Returns ``inv`` (reciprocal eliminated diagonal) and ``ri = r·inv``: forward
    y_k = (b_k + r·y_{k-1})·inv_k, back y_k += ri_k·y_{k+1}. A 1-voxel axis is the identity.
    """
    diag = np.full(n, 1.0 + 2.0 * r)
    diag[[0, -1]] = 1.0 + r
    if n == 1:
        diag[0] = 1.0
    inv = np.empty(n)
    prev = 0.0
    for k in range(n):  # n is an axis length: setup only
        inv[k] = 1.0 / (diag[k] - r * prev)
        prev = r * inv[k]
    return inv, r * inv


def _label(names: Sequence[str]) -> str:
    """How errors name the fields: "field 'a'" or "fields 'a', 'b'"."""
    return ("field " if len(names) == 1 else "fields ") + ", ".join(repr(n) for n in names)


def _checked(
    names: list[str], what: str, values: Sequence[float], ok: Callable[[float], bool], rule: str
) -> Float:
    if len(values) != len(names):
        raise FieldError(f"{_label(names)}: expected {len(names)} {what}s, got {len(values)}")
    out = np.empty(len(names))
    for f, (name, value) in enumerate(zip(names, values, strict=True)):
        try:
            x = float(value)
        except (TypeError, ValueError):
            raise FieldError(f"field {name!r}: {what} must be a number (got {value!r})") from None
        if not (math.isfinite(x) and ok(x)):
            raise FieldError(f"field {name!r}: {what} must be {rule} (got {value!r})")
        out[f] = x
    return out


def _step_of(names: list[str], dt: object) -> float:
    try:
        step = float(dt)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        step = math.nan
    if not (math.isfinite(step) and step > 0):
        raise FieldError(f"{_label(names)}: time step dt must be > 0 (got {dt!r})")
    return step


def _scheme(
    grid: Grid, diffusion: Float, decay: Float, dt: float, held: Bool, value: Float
) -> Scheme:
    """The diffusion constants and work space of ``grid`` (see :class:`Scheme`)."""
    nf = len(diffusion)
    nz, ny, nx = grid.shape
    r = diffusion * dt / grid.dx**2
    thomas = np.zeros((6, nf, max(nx, ny, nz)))  # (inv, ri) for x, y, z
    for f in range(nf):
        for axis, n in enumerate((nx, ny, nz)):
            thomas[2 * axis, f, :n], thomas[2 * axis + 1, f, :n] = _thomas(n, float(r[f]))
    chunks = -(-ny * nx // _CHUNK) if nz > 1 else 0
    return Scheme(
        coefficients=np.stack([1.0 / (1.0 + decay * dt), decay * dt / (1.0 + decay * dt), r]),
        thomas=thomas,
        fixed=held,
        value=value,
        sums=np.zeros(nf * nz),
        taken=np.zeros(nf * nz),
        added=np.zeros((2, nf * max(nz, chunks))),
    )


def _no_sources(nf: int, nz: int) -> Sources:
    return Sources(
        0, np.zeros(0, np.int64), np.zeros(nz + 1, np.int64), np.zeros(0, np.int64),
        np.zeros((0, 2 * nf)), np.zeros((0, nf)), np.zeros(nf),
    )  # fmt: skip


class FieldSolver:
    """Fields ``names`` on ``grid``: diffusion (µm²/min), decay (1/min), time step ``dt`` (min).

    ``dirichlet[f]`` None keeps field f's boundary no-flux; a value holds its outer voxels at that
    concentration. ``initial[f]`` is a uniform starting concentration (default 0). ``parallel``
    None runs threaded kernels only on grids large enough to gain from them.

    Cells take part through :meth:`bind` (where they are, what they secrete and clear), then
    :meth:`run` (steps of exchange and diffusion) and :meth:`add_uptake` (what each took up).
    """

    def __init__(
        self,
        grid: Grid,
        names: list[str],
        diffusion: Sequence[float],
        decay: Sequence[float],
        dt: float,
        dirichlet: Sequence[float | None] | None = None,
        initial: Sequence[float] | None = None,
        *,
        parallel: bool | None = None,
    ) -> None:
        names = [str(n) for n in names]
        if not names:
            raise FieldError("a field solver needs at least one field")
        if len(set(names)) != len(names):
            raise FieldError(f"{_label(names)}: names must be unique")
        if not (grid.dx > 0 and math.isfinite(grid.dx) and min(grid.shape) >= 1):
            raise FieldError(f"{_label(names)}: bad grid {grid.shape} with voxel size {grid.dx}")
        nf = len(names)
        self.grid, self.names = grid, names
        self.diffusion = _checked(names, "diffusion coefficient", diffusion, lambda x: x > 0, "> 0")
        self.decay = _checked(names, "decay rate", decay, lambda x: x >= 0, ">= 0")
        self.dt = _step_of(names, dt)
        held: list[float | None] = [None] * nf if dirichlet is None else list(dirichlet)
        given = [0.0 if h is None else h for h in held]
        value = _checked(names, "dirichlet value", given, lambda x: x >= 0, ">= 0")
        start = _checked(
            names, "initial concentration", [0.0] * nf if initial is None else initial,
            lambda x: x >= 0, ">= 0",
        )  # fmt: skip
        self.dirichlet = [None if h is None else float(v) for h, v in zip(held, value, strict=True)]
        self.voxel_volume = float(grid.voxel_volume)
        self._c = np.empty((nf, *grid.shape))
        self._c[...] = start[:, None, None, None]
        self._flat = self._c.reshape(nf, -1)  # a view: exchange and sampling by flat voxel
        fixed = np.array([h is not None for h in held])
        self._scheme = _scheme(grid, self.diffusion, self.decay, self.dt, fixed, value)
        self._totals = np.zeros((6, nf))  # the ledger's rows, which the kernels add to
        self._ledger = Ledger(*self._totals)
        self._ledger.initial[:] = self.amount()
        if parallel is None:  # below ~0.3 ms of work, starting threads costs more than it saves
            parallel = nf * grid.voxels >= _PARALLEL_VOXELS and nf * grid.shape[0] > 1
        self._steps = _steps_parallel if parallel else _steps_serial
        self._count = np.zeros(grid.voxels, dtype=np.int32)  # all zero between binds
        self._none = _no_sources(nf, grid.shape[0])
        self._sources = self._none
        self._uptake = np.zeros((0, nf))

    @property
    def concentration(self) -> Float:
        """Concentration (amount/µm³), shape (F, nz, ny, nx), C-contiguous; edit it in place."""
        return self._c

    @concentration.setter
    def concentration(self, values: Float) -> None:
        self._c[...] = values

    @property
    def ledger(self) -> Ledger:
        return self._ledger

    def index(self, name: str) -> int:
        """Position of field ``name``."""
        try:
            return self.names.index(name)
        except ValueError:
            raise FieldError(f"field {name!r}: not among {_label(self.names)}") from None

    def amount(self) -> Float:
        """Total amount in each field, shape (F,)."""
        return self._flat.sum(axis=1) * self.voxel_volume

    def reset_ledger(self) -> None:
        """Start the ledger afresh from the fields as they are (e.g. after setting them)."""
        led = self._ledger
        for totals in (led.secreted, led.taken_up, led.decayed, led.boundary, led.dosed):
            totals[:] = 0.0  # in place: the kernels hold these arrays
        led.initial[:] = self.amount()

    def add(self, index: int, concentration: float) -> None:
        """Add ``concentration`` evenly to field ``index`` (a dose), recorded in the ledger."""
        before = float(self._flat[index].sum())
        self._flat[index] += concentration
        self._ledger.dosed[index] += (float(self._flat[index].sum()) - before) * self.voxel_volume

    def set_uniform(self, index: int, concentration: float) -> None:
        """Set field ``index`` to ``concentration`` everywhere (a medium change), recorded."""
        before = float(self._flat[index].sum())
        self._flat[index] = concentration
        self._ledger.dosed[index] += (float(self._flat[index].sum()) - before) * self.voxel_volume

    def scale(self, index: int, factor: float) -> None:
        """Multiply field ``index`` by ``factor`` (0: a medium change empties it), recorded."""
        before = float(self._flat[index].sum())
        self._flat[index] *= factor
        self._ledger.dosed[index] += (float(self._flat[index].sum()) - before) * self.voxel_volume

    def set_dirichlet(self, index: int, value: float | None) -> None:
        """From the next step hold field ``index``'s outer voxels at ``value`` (None: no-flux)."""
        name = self.names[index]
        if value is not None:
            ok = _checked([name], "dirichlet value", [value], lambda x: x >= 0, ">= 0")
            self._scheme.value[index] = ok[0]  # in place: the kernels read these arrays
        self._scheme.fixed[index] = value is not None
        self.dirichlet[index] = None if value is None else float(self._scheme.value[index])

    def bind(self, voxel: Int, secretion: Float, uptake: Float, tracked: int | None = None) -> None:
        """Cells at flat ``voxel`` secrete (amount/min) and clear (µm³/min) until the next bind.

        ``secretion`` and ``uptake`` have shape (n, F). What the cells take up of the first
        ``tracked`` fields (default all) counts from here (:meth:`add_uptake`). Bad input raises
        :class:`FieldError` and leaves the fields as they were.
        """
        voxel = np.ascontiguousarray(voxel, dtype=np.int64)
        secretion = np.ascontiguousarray(secretion, dtype=np.float64)
        uptake = np.ascontiguousarray(uptake, dtype=np.float64)
        n, nf = len(voxel), len(self.names)
        if not (voxel.ndim == 1 and secretion.shape == uptake.shape == (n, nf)):
            raise FieldError(
                f"{_label(self.names)}: cells need voxel (n,), secretion and uptake (n, {nf});"
                f" got {voxel.shape}, {secretion.shape}, {uptake.shape}"
            )
        if tracked is not None and not 0 <= tracked <= nf:
            raise FieldError(f"{_label(self.names)}: tracked must be 0..{nf}, not {tracked}")
        totals = np.empty(nf)
        bad = _count(voxel, secretion, uptake, self._count, totals)
        if bad >= 0:
            self._raise_bad_cell(bad, voxel, secretion, uptake)
        src = self._work(n, nf if tracked is None else tracked)._replace(totals=totals)
        plane = self.grid.shape[1] * self.grid.shape[2]
        self._sources = src._replace(m=_bind(voxel, secretion, uptake, plane, self._count, src))
        self._uptake = uptake

    def _work(self, n: int, tracked: int) -> Sources:
        """Work space for ``n`` cells, kept between binds and grown as needed."""
        src, nf = self._sources, len(self.names)
        if n <= len(src.of_cell) and src.seen.shape[1] == tracked and src is not self._none:
            return src
        size = min(n + n // 4, self.grid.voxels)
        return Sources(
            0, np.empty(size, np.int64), np.empty(self.grid.shape[0] + 1, np.int64),
            np.empty(n + n // 4, np.int64), np.empty((size, 2 * nf)), np.empty((size, tracked)),
            np.zeros(nf),
        )  # fmt: skip

    def run(self, steps: int = 1) -> None:
        """``steps`` time steps of exchange with the bound cells, decay and diffusion."""
        src = self._sources
        self._steps(steps, self._c, self._scheme, src, self.dt, self.voxel_volume, self._totals)

    def add_uptake(self, out: Float) -> None:
        """Add to ``out`` (n, k) what each bound cell took up of the first k fields since binding."""
        src, n = self._sources, len(self._uptake)
        if not (out.ndim == 2 and out.shape[0] == n and out.shape[1] <= src.seen.shape[1]):
            raise FieldError(f"{_label(self.names)}: uptake goes into ({n}, k), not {out.shape}")
        kernel = _cell_uptake_parallel if n >= PARALLEL_CELLS else _cell_uptake
        kernel(src.of_cell[:n], self._uptake, src.seen, self.dt, out)

    def exchange(
        self,
        voxel: Int,
        secretion: Float,
        uptake: Float,
        dt: float | None = None,
        *,
        out: Float | None = None,
    ) -> Float:
        """Cells at flat ``voxel`` secrete (amount/min) and clear (µm³/min) for one step.

        Per voxel c ← (c + dt·S/V) / (1 + dt·A/V) with S, A the summed rates of its cells;
        returns the amount each cell took up, shape (n, F) (written into ``out`` if given).
        """
        step = self.dt if dt is None else float(dt)
        if not (step > 0 and math.isfinite(step)):
            raise FieldError(f"{_label(self.names)}: exchange time step must be > 0 (got {dt!r})")
        self.bind(voxel, secretion, uptake)
        src = self._sources
        taken = _exchange_all(self._flat, src, step / self.voxel_volume)
        self._ledger.secreted += src.totals * step
        self._ledger.taken_up += taken * step
        return self._taken(out, step)

    def _taken(self, out: Float | None, dt: float) -> Float:
        n, nf = self._uptake.shape
        taken = np.zeros((n, nf)) if out is None else out
        if taken.shape != (n, nf) or taken.dtype != np.float64 or not taken.flags.c_contiguous:
            raise FieldError(f"{_label(self.names)}: out must be float64 ({n}, {nf})")
        taken[...] = 0.0
        src = self._sources
        _cell_uptake(src.of_cell[:n], self._uptake, src.seen, dt, taken)
        return taken

    def _raise_bad_cell(
        self,
        i: int,
        voxel: Int,
        secretion: Float,
        uptake: Float,
    ) -> None:
        if not 0 <= voxel[i] < self.grid.voxels:
            raise FieldError(
                f"{_label(self.names)}: cell {i} is in voxel {voxel[i]}, outside the grid"
                f" of {self.grid.voxels} voxels"
            )
        for f, name in enumerate(self.names):
            s, a = secretion[i, f], uptake[i, f]
            if not (math.isfinite(s) and s >= 0 and math.isfinite(a) and a >= 0):
                raise FieldError(
                    f"field {name!r}: cell {i} secretion {s} and uptake {a} must be finite and >= 0"
                )

    def diffuse(self) -> None:
        """One time step of decay and diffusion (and Dirichlet boundaries), without cells."""
        self._steps(1, self._c, self._scheme, self._none, self.dt, self.voxel_volume, self._totals)

    def step(
        self,
        voxel: Int,
        secretion: Float,
        uptake: Float,
        *,
        out: Float | None = None,
    ) -> Float:
        """Exchange with the cells, then diffuse; returns the amounts taken up, shape (n, F)."""
        self.bind(voxel, secretion, uptake)
        self.run(1)
        return self._taken(out, self.dt)

    def gradient(self, index: int, positions: Float) -> Float:
        """Gradient (x, y, z) of field ``index`` at each position's voxel, shape (n, 3)."""
        return self.gradient_at(index, self.grid.voxel_of(np.asarray(positions, dtype=float)))

    def gradient_at(self, index: int, voxel: Int) -> Float:
        """As :meth:`gradient`, from flat voxel indices."""
        voxel = self._voxels(voxel)
        if not 0 <= index < len(self.names):
            raise FieldError(f"{_label(self.names)}: no field number {index}")
        out = np.empty((voxel.shape[0], 3))
        _gradient(self._c[index], voxel, self.grid.dx, out)
        return out

    def sample(self, positions: Float) -> Float:
        """Concentration of every field at each position's voxel, shape (n, F)."""
        return self.sample_at(self.grid.voxel_of(np.asarray(positions, dtype=float)))

    def sample_at(self, voxel: Int) -> Float:
        """As :meth:`sample`, from flat voxel indices."""
        return self._flat.T[self._voxels(voxel)]

    def _voxels(self, voxel: Int) -> Int:
        voxel = np.ascontiguousarray(voxel, dtype=np.int64)
        if voxel.ndim != 1 or (
            len(voxel) and not 0 <= voxel.min() <= voxel.max() < self.grid.voxels
        ):
            raise FieldError(f"{_label(self.names)}: voxels must be flat indices into the grid")
        return voxel
