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

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from exotwin.errors import FieldError as FieldError

from .grid import Grid

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
    dosed: Float  # net amount added or removed by :meth:`FieldSolver.add` and ``set_uniform``

    def expected(self) -> Float:
        """initial + secreted - taken_up - decayed + boundary + dosed, per field."""
        return (
            self.initial + self.secreted - self.taken_up - self.decayed + self.boundary + self.dosed
        )


# ---------------------------------------------------------------------------- kernels


@njit(cache=True)
def _exchange(
    c: Float,
    voxel: Int,
    secretion: Float,
    uptake: Float,
    dt: float,
    vol: float,
    slot: NDArray[np.int32],
    where: Int,
    of_cell: Int,
    rates: Float,
    taken: Float,
    secreted: Float,
    taken_up: Float,
) -> int:
    """Implicit per-voxel source/sink; fills ``taken``. Returns the first bad cell, or -1.

    ``slot`` (one per voxel, all -1 between calls) numbers the occupied voxels so that the
    summed rates live in ``rates`` (n, 2F) indexed by occupied voxel, not by grid voxel;
    ``where`` and ``of_cell`` (n,) map occupied voxels to grid voxels and cells to those.
    """
    n = voxel.shape[0]
    nf, nv = c.shape
    for i in range(n):  # validate everything before touching any state
        if voxel[i] < 0 or voxel[i] >= nv:
            return i
        for f in range(nf):
            s = secretion[i, f]
            a = uptake[i, f]
            if not (s >= 0.0 and s < math.inf and a >= 0.0 and a < math.inf):
                return i
    k = dt / vol
    m = 0
    for i in range(n):
        v = voxel[i]
        s = slot[v]
        if s < 0:
            s = m
            slot[v] = m
            where[m] = v
            m += 1
            for f in range(2 * nf):
                rates[s, f] = 0.0
        of_cell[i] = s
        for f in range(nf):
            rates[s, f] += secretion[i, f]
            rates[s, nf + f] += uptake[i, f]
    for s in range(m):
        v = where[s]
        slot[v] = -1
        for f in range(nf):
            new = (c[f, v] + k * rates[s, f]) / (1.0 + k * rates[s, nf + f])
            c[f, v] = new
            rates[s, f] = new  # now the concentration each cell in the voxel sees
    for f in range(nf):  # totals in registers, not through memory
        total_taken = 0.0
        total_secreted = 0.0
        for i in range(n):
            t = uptake[i, f] * rates[of_cell[i], f] * dt
            taken[i, f] = t
            total_taken += t
            total_secreted += secretion[i, f]
        taken_up[f] += total_taken
        secreted[f] += total_secreted * dt
    return -1


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
            for i in range(nx):
                v = row[i]
                total += v
                d[i, jj] = v * keep
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
    for k in range(n - 2, -1, -1):
        g = ri[k]
        here, nxt = _row(a, k, m0, m1), _row(a, k + 1, m0, m1)
        for i in range(w):
            here[i] += g * nxt[i]
    for k in range(n):
        here = _row(a, k, m0, m1)
        for i in range(w):
            here[i] += ref[i]


@njit(cache=True)
def _xy_item(
    c: Float, item: int, pf: Float, th: Float, fixed: Bool, value: Float
) -> tuple[float, float]:
    """Plane (f, z): hold, decay + x, hold, y, hold. Returns (sum before decay, boundary added)."""
    nz = c.shape[1]
    f, k = item // nz, item % nz
    p = c[f, k]
    whole = nz > 1 and (k == 0 or k == nz - 1)
    added = _hold_plane(p, whole, value[f]) if fixed[f] else 0.0
    total = _x_rows(p, pf[0, f], pf[2, f], th[0, f], th[1, f])
    if fixed[f]:
        added += _hold_plane(p, whole, value[f])
    if p.shape[0] > 1:
        _solve_rows(p, 0, p.shape[1], pf[2, f], th[2, f], th[3, f])
        if fixed[f]:
            added += _hold_plane(p, whole, value[f])
    return total, added


@njit(cache=True)
def _z_item(c: Float, item: int, nb: int, pf: Float, th: Float, fixed: Bool, value: Float) -> float:
    """z-solve the columns of chunk ``item % nb`` of field ``item // nb``; then hold."""
    nz, ny, nx = c.shape[1:]
    f, b = item // nb, item % nb
    a = c[f].reshape(nz, ny * nx)
    m0, m1 = b * _CHUNK, min(ny * nx, (b + 1) * _CHUNK)
    _solve_rows(a, m0, m1, pf[2, f], th[4, f], th[5, f])
    if not fixed[f]:
        return 0.0
    # The held x and y faces are uniform along z, so the solve leaves them exactly as they are:
    # only the z faces need holding again.
    v = value[f]
    return _hold_range(a[0], m0, m1, v) + _hold_range(a[nz - 1], m0, m1, v)


@njit(cache=True)
def _tally(
    nf: int,
    lost: Float,
    vol: float,
    sums: Float,
    added: Float,
    per: tuple[int, int],
    decayed: Float,
    boundary: Float,
) -> None:
    """Add the per-item sums to the ledger, field by field, in a fixed order."""
    for f in range(nf):
        s = 0.0
        b = 0.0
        for i in range(f * per[0], (f + 1) * per[0]):
            s += sums[i]
            b += added[0, i]
        for i in range(f * per[1], (f + 1) * per[1]):
            b += added[1, i]
        decayed[f] += s * vol * lost[f]
        boundary[f] += b * vol


@njit(cache=True, parallel=True)
def _diffuse_parallel(
    c: Float,
    pf: Float,
    th: Float,
    fixed: Bool,
    value: Float,
    sums: Float,
    added: Float,
    decayed: Float,
    boundary: Float,
    vol: float,
) -> None:
    """Decay with x and y sweeps per (field, z) plane, then z sweeps per column chunk."""
    nf, nz, ny, nx = c.shape
    nb = (ny * nx + _CHUNK - 1) // _CHUNK if nz > 1 else 0  # z-sweep chunks per field
    for item in prange(nf * nz):
        sums[item], added[0, item] = _xy_item(c, item, pf, th, fixed, value)
    for item in prange(nf * nb):
        added[1, item] = _z_item(c, item, nb, pf, th, fixed, value)
    _tally(nf, pf[1], vol, sums, added, (nz, nb), decayed, boundary)


@njit(cache=True)
def _diffuse_serial(
    c: Float,
    pf: Float,
    th: Float,
    fixed: Bool,
    value: Float,
    sums: Float,
    added: Float,
    decayed: Float,
    boundary: Float,
    vol: float,
) -> None:
    """:func:`_diffuse_parallel` on one thread, for grids too small to repay starting threads."""
    nf, nz, ny, nx = c.shape
    nb = (ny * nx + _CHUNK - 1) // _CHUNK if nz > 1 else 0  # z-sweep chunks per field
    for item in range(nf * nz):
        sums[item], added[0, item] = _xy_item(c, item, pf, th, fixed, value)
    for item in range(nf * nb):
        added[1, item] = _z_item(c, item, nb, pf, th, fixed, value)
    _tally(nf, pf[1], vol, sums, added, (nz, nb), decayed, boundary)


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


class FieldSolver:
    """Fields ``names`` on ``grid``: diffusion (µm²/min), decay (1/min), time step ``dt`` (min).

    ``dirichlet[f]`` None keeps field f's boundary no-flux; a value holds its outer voxels at that
    concentration. ``initial[f]`` is a uniform starting concentration (default 0). ``parallel``
    None runs threaded kernels only on grids large enough to gain from them.
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
        diff = _checked(names, "diffusion coefficient", diffusion, lambda x: x > 0, "> 0")
        lam = _checked(names, "decay rate", decay, lambda x: x >= 0, ">= 0")
        try:
            step = float(dt)
        except (TypeError, ValueError):
            step = math.nan
        if not (math.isfinite(step) and step > 0):
            raise FieldError(f"{_label(names)}: time step dt must be > 0 (got {dt!r})")
        held: list[float | None] = [None] * len(names) if dirichlet is None else list(dirichlet)
        fixed = np.array([h is not None for h in held])
        given = [0.0 if h is None else h for h in held]
        value = _checked(names, "dirichlet value", given, lambda x: x >= 0, ">= 0")
        start = _checked(
            names, "initial concentration", [0.0] * len(names) if initial is None else initial,
            lambda x: x >= 0, ">= 0",
        )  # fmt: skip

        self.grid = grid
        self.names = names
        self.dt = step
        self.diffusion = diff
        self.decay = lam
        self.dirichlet = [None if h is None else float(v) for h, v in zip(held, value, strict=True)]
        nf = len(names)
        nz, ny, nx = grid.shape
        self.voxel_volume = float(grid.voxel_volume)
        self._c = np.empty((nf, nz, ny, nx))
        self._c[...] = start[:, None, None, None]
        self._flat = self._c.reshape(nf, -1)  # a view: exchange and sampling by flat voxel

        r = diff * step / grid.dx**2
        # per field: fractions kept and lost under implicit decay, r = D dt / dx²
        per_field = np.stack([1.0 / (1.0 + lam * step), lam * step / (1.0 + lam * step), r])
        thomas = np.zeros((6, nf, max(nx, ny, nz)))  # (inv, ri) for x, y, z
        for f in range(nf):
            for axis, n in enumerate((nx, ny, nz)):
                thomas[2 * axis, f, :n], thomas[2 * axis + 1, f, :n] = _thomas(n, float(r[f]))
        chunks = -(-ny * nx // _CHUNK) if nz > 1 else 0
        self._sums = np.zeros(nf * nz)
        self._added = np.zeros((2, nf * max(nz, chunks)))
        self._slot = np.full(grid.voxels, -1, dtype=np.int32)
        self._index = np.empty((2, 0), dtype=np.int64)
        self._rates = np.empty((0, 2 * nf))

        self._ledger = Ledger(
            secreted=np.zeros(nf),
            taken_up=np.zeros(nf),
            decayed=np.zeros(nf),
            boundary=np.zeros(nf),
            initial=self.amount(),
            dosed=np.zeros(nf),
        )
        if parallel is None:  # below ~0.3 ms of work, starting threads costs more than it saves
            parallel = nf * grid.voxels >= _PARALLEL_VOXELS and nf * nz > 1
        self._diffuse = _diffuse_parallel if parallel else _diffuse_serial
        self._fixed, self._held = fixed, value
        self._diffuse_args = (
            self._c,
            per_field,
            thomas,
            fixed,
            value,
            self._sums,
            self._added,
            self._ledger.decayed,
            self._ledger.boundary,
            self.voxel_volume,
        )

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

    def set_dirichlet(self, index: int, value: float | None) -> None:
        """From the next step hold field ``index``'s outer voxels at ``value`` (None: no-flux)."""
        name = self.names[index]
        if value is not None:
            ok = _checked([name], "dirichlet value", [value], lambda x: x >= 0, ">= 0")
            self._held[index] = ok[0]  # in place: the kernels read these arrays
        self._fixed[index] = value is not None
        self.dirichlet[index] = None if value is None else float(self._held[index])

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
        voxel = np.ascontiguousarray(voxel, dtype=np.int64)
        secretion = np.ascontiguousarray(secretion, dtype=np.float64)
        uptake = np.ascontiguousarray(uptake, dtype=np.float64)
        n, nf = len(voxel), len(self.names)
        taken = np.empty((n, nf)) if out is None else out
        if not (
            voxel.ndim == 1
            and secretion.shape == uptake.shape == taken.shape == (n, nf)
            and taken.dtype == np.float64
            and taken.flags.c_contiguous
        ):
            raise FieldError(
                f"{_label(self.names)}: exchange needs voxel (n,), secretion, uptake and out"
                f" (n, {nf}) float64; got {voxel.shape}, {secretion.shape}, {uptake.shape},"
                f" {taken.shape} {taken.dtype}"
            )
        if n > len(self._rates):  # work space for the occupied voxels, grown as needed
            self._index = np.empty((2, 2 * n), dtype=np.int64)
            self._rates = np.empty((2 * n, 2 * nf))
        led = self._ledger
        bad = _exchange(
            self._flat, voxel, secretion, uptake, step, self.voxel_volume, self._slot,
            self._index[0], self._index[1], self._rates, taken, led.secreted, led.taken_up,
        )  # fmt: skip
        if bad >= 0:
            self._raise_bad_cell(bad, voxel, secretion, uptake)
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
        """One time step of decay and diffusion (and Dirichlet boundaries)."""
        self._diffuse(*self._diffuse_args)

    def step(
        self,
        voxel: Int,
        secretion: Float,
        uptake: Float,
        *,
        out: Float | None = None,
    ) -> Float:
        """Exchange with the cells, then diffuse; returns the amounts taken up, shape (n, F)."""
        taken = self.exchange(voxel, secretion, uptake, out=out)
        self._diffuse(*self._diffuse_args)
        return taken

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
            len(voxel) and not 0 <= voxel.min() <= voxel.max() < self._slot.size
        ):
            raise FieldError(f"{_label(self.names)}: voxels must be flat indices into the grid")
        return voxel
