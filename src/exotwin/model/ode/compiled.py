"""One patient's right-hand side and sparse Jacobian as compiled XLA programs, for CVODE
(:mod:`exotwin.model.ode.cvode`) on large models (the cohort path above 120 variables).

Why: on the default TNBC model (~600 variables) a cohort took ~6.7 CPU-s per patient-year,
and a profile showed where: the numpy right-hand side (~1.4 ms a call, Python loops over the
term tables) called ~3,200 times per patient-year, two thirds of them by scipy's
finite-difference Jacobian (66 colours of the sparsity pattern x ~31 Jacobians). Here the one
equation set of :mod:`exotwin.model.ode.equations` is traced once per model structure on the
JAX backend (:mod:`exotwin.model.ode.traced`): the right-hand side is one compiled call
(~0.3 ms), and the Jacobian is a forward difference with every colour of columns perturbed in
one compiled call (vmap over the colours), as is the sparsity probe. They first served
scipy's BDF (~790 right-hand sides, ~7 Jacobians and ~68 LUs per patient-year); CVODE now
integrates on them with its step logic and sparse LU in C (see :mod:`.cvode`).

Weighed and not chosen (measured on the default model with scripts of the 2026-12-01
session): an exact Jacobian by forward-mode derivatives along one seed per colour (correct
to 1e-22, but BDF then needed 1.5-22x more right-hand sides and Jacobians, its Newton
iteration failing near kinks such as ``max(x, 0)``); the batched Rodas4 of
:mod:`exotwin.model.ode.rosenbrock` (its LU is unrolled over the fill pattern, ~11,000 fill
entries at 600 variables even with a minimum-degree ordering, and it reuses no Jacobian);
batching patients through the traced right-hand side (45-120 us per patient-evaluation at
batches of 100-1,000, against ~260 us one at a time: too little to repay batched linear
algebra); scikit-sundae or numbalsoda with a numba right-hand side (a second copy of the
equations, against the project's one equation set: CVODE calls these programs instead).
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..rules.rows import CompiledModel
from .sparsity import colouring

Array = NDArray[np.float64]
Ints = NDArray[np.int64]
Program = Callable[..., Any]
_PROGRAMS: dict[str, tuple[Program, Program]] = {}
STEP = float(np.sqrt(np.finfo(float).eps))  # relative finite-difference step (scipy's first)


def programs(model: CompiledModel) -> tuple[Program, Program]:
    """``f(theta, t, y)``: dy/dt of one patient, and ``g(theta, t, y, h, seeds)``: its
    forward differences along ``h * seed`` for each seed (one per colour), compiled once per
    model structure (a cohort compiles one model per patient, all with the same rows); XLA
    keeps them on disk too."""
    import jax
    import jax.numpy as jnp

    from . import traced
    from .rosenbrock import use_disk_cache

    _run_inline()
    use_disk_cache()
    key = _key(model)
    if key not in _PROGRAMS:

        def rhs(theta: Any, t: Any, y: Any) -> Any:
            return traced.right_hand_side(model, traced.parameters(model, theta), t, y)

        def differences(theta: Any, t: Any, y: Any, h: Any, seeds: Any) -> Any:
            derived = traced.parameters(model, theta)
            seeds = jnp.concatenate([jnp.zeros((1, seeds.shape[1])), seeds])
            states = y[None, :] + h[None, :] * seeds
            found = jax.vmap(lambda u: traced.right_hand_side(model, derived, t, u))(states)
            return found[1:] - found[:1]  # the base in the same batch: the same rounding

        _PROGRAMS[key] = jax.jit(rhs), jax.jit(differences)
    return _PROGRAMS[key]


def _run_inline() -> None:
    """Run XLA's CPU programs on the calling thread, unless the user chose (the environment
    variable): handing each ~0.2 ms right-hand side to a worker thread and waiting for it cost
    1.5-2x its CPU time (CPU 145-160 us a call inline against 225-340 us, default model).
    It takes effect only before JAX's CPU backend starts (in a cohort's worker processes,
    and in a process whose first JAX program is this)."""
    import jax

    if "JAX_CPU_ENABLE_ASYNC_DISPATCH" not in os.environ:
        jax.config.update("jax_cpu_enable_async_dispatch", False)


def _key(model: CompiledModel) -> str:
    return hashlib.sha256(pickle.dumps((model.layout, model.rows, model.cargo))).hexdigest()


def export(model: CompiledModel, pattern: Any) -> tuple[bytes, bytes]:
    """Both programs traced for one patient and the colours of ``pattern``, serialised
    (StableHLO), so that another process runs them without tracing the equations again
    (~10 CPU-s on the default model; loading them, XLA's disk cache warm, under a second)."""
    import jax
    from jax import export as jax_export
    from jax.stages import Wrapped

    size = model.layout.size
    vector = jax.ShapeDtypeStruct((size,), np.float64)
    theta = jax.ShapeDtypeStruct((len(model.parameters.values),), np.float64)
    scalar = jax.ShapeDtypeStruct((), np.float64)
    colours = len(_plan(_dense(pattern).tobytes(), size)[0])
    seeds = jax.ShapeDtypeStruct((colours, size), np.float64)
    rhs, differences = programs(model)  # jitted: jax_export takes them as they are
    assert isinstance(rhs, Wrapped) and isinstance(differences, Wrapped)
    with jax.enable_x64(True):
        found = jax_export.export(rhs)(theta, scalar, vector)
        more = jax_export.export(differences)(theta, scalar, vector, vector, seeds)
    return bytes(found.serialize()), bytes(more.serialize())


def install(model: CompiledModel, exported: tuple[bytes, bytes]) -> None:
    """Use the programs of :func:`export` for this model's structure in this process (its
    sparsity probe, of other shapes, is then not available)."""
    import jax
    from jax import export as jax_export

    from .rosenbrock import use_disk_cache

    key = _key(model)
    if key in _PROGRAMS:  # a worker's later tasks: compiled already
        return
    _run_inline()
    use_disk_cache()
    rhs, differences = (jax_export.deserialize(bytearray(b)) for b in exported)
    _PROGRAMS[key] = jax.jit(rhs.call), jax.jit(differences.call)


class Patient:
    """dy/dt of one patient (parameters ``theta``) and its sparse Jacobian, as CVODE calls
    them: the Jacobian by forward differences on the probed ``pattern``, every colour of
    columns perturbed in one compiled call."""

    static_lu = False  # CVODE's Newton systems by SuperLU_MT (:mod:`.cvode`)

    def __init__(self, model: CompiledModel, theta: Array) -> None:
        self.theta = theta
        self.rhs_program, self.differences = programs(model)
        self.atol = np.ones(model.layout.size)
        self.seeds = np.zeros((0, model.layout.size))

    def use_pattern(self, pattern: Any, atol: Array) -> None:
        """The sparsity pattern (and absolute tolerances, the smallest step scale)."""
        dense = _dense(pattern)
        self.seeds, self.colour, self.rows, self.cols = _plan(dense.tobytes(), len(dense))
        self.atol = atol

    def __call__(self, t: float, y: Array) -> Array:
        import jax

        with jax.enable_x64(True):
            return np.asarray(self.rhs_program(self.theta, t, y))

    def changed(self, t: float, y: Array, relative: float) -> NDArray[np.bool_]:
        """Which derivatives (rows) change when each variable (column) alone is scaled by
        ``1 + relative``: all columns in one compiled call."""
        import jax

        with jax.enable_x64(True):
            found = self.differences(self.theta, t, y, y * relative, np.eye(len(y)))
        return np.asarray(found).T != 0

    def jacobian_values(self, t: float, y: Array) -> Array:
        """The Jacobian's entries on the pattern, in CSC order (columns, rows ascending)."""
        import jax

        h = STEP * np.maximum(np.abs(y), self.atol)
        h = (y + h) - y  # a step that is exact in floating point
        with jax.enable_x64(True):
            found = np.asarray(self.differences(self.theta, t, y, h, self.seeds))
        values: Array = found[self.colour, self.rows] / h[self.cols]
        return values


def _dense(pattern: Any) -> NDArray[np.bool_]:
    return np.asarray(pattern.toarray() if hasattr(pattern, "toarray") else pattern, bool)


@lru_cache(maxsize=8)
def _plan(pattern: bytes, size: int) -> tuple[Array, Ints, Ints, Ints]:
    """The colour seeds of a (dense boolean) pattern, and per stored entry in CSC order its
    colour, row and column (once per pattern: a cohort's patients share it)."""
    dense = np.frombuffer(pattern, dtype=bool).reshape(size, size)
    colour = colouring(dense)
    seeds = (colour[None, :] == np.arange(colour.max() + 1)[:, None]).astype(float)
    cols, rows = np.nonzero(dense.T)
    return seeds, colour[cols], rows, cols
