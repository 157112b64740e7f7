"""One patient of a large model on SUNDIALS CVODE (through scikit-sundae): variable-order BDF
whose step control, Newton iteration and sparse LU (SuperLU_MT) run in C, on the compiled
right-hand side and sparse Jacobian of :mod:`exotwin.model.ode.compiled`.

Why (default TNBC model, 787 variables, one patient-year, measured 2026-12-02 on this 2-core
machine): scipy's BDF on the same compiled programs took ~790 right-hand sides, ~68 SuperLU
factorisations and ~0.7 CPU-s, a third of it Python step logic and ``splu``; CVODE takes
~430-550 right-hand sides and ~0.35 CPU-s, readouts within 5.2e-6 of BDF at rtol 1e-10.
OpenMP threads that spin between factorisations cost as much again: SuperLU_MT runs on one
passive thread (set before the library loads). Chosen over writing a batched integrator: a
maintained BDF, one patient at a time, with the project's single equation set compiled once.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from .compiled import Patient

Array = NDArray[np.float64]
MAX_STEPS = 100_000  # per output interval (CVODE's default, 500, is short for a long gap)


@dataclass
class Segment:
    """What :func:`solve_segment` reached: times, states (variables x times), whether it
    finished and CVODE's message."""

    t: Array
    y: Array
    success: bool
    message: str


def _solver(patient: Patient, pattern: object, rtol: float, atol: Array) -> object:
    """A CVODE solver of one patient: BDF, sparse LU on ``pattern``, the compiled Jacobian."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # an idle thread spins otherwise
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from sksundae.cvode import CVODE

    def rhs(t: float, y: Array, dy: Array) -> None:
        found = patient(t, y)
        if not np.isfinite(found).all():  # CVODE would retry ever smaller steps
            raise FloatingPointError(f"a non-finite derivative at day {t:.4g}")
        dy[:] = found

    def jacobian(t: float, y: Array, dy: Array, values: Array) -> None:
        values[:] = patient.jacobian_values(t, np.asarray(y))

    with warnings.catch_warnings():  # "sparsity ignored in favour of jacfn": it is not
        warnings.filterwarnings("ignore", message="Custom sparse Jacobian")
        return CVODE(
            rhs,
            method="BDF",
            rtol=rtol,
            atol=atol,
            linsolver="sparse",
            sparsity=pattern,
            jacfn=jacobian,
            max_num_steps=MAX_STEPS,
        )


def solve_segment(
    patient: Patient, pattern: object, times: Array, y: Array, rtol: float, atol: Array
) -> Segment:
    """Integrate from ``times[0]`` (state ``y``) through the later ``times``; with only two
    times, the states at CVODE's own steps."""
    solver = _solver(patient, pattern, rtol, atol)
    try:
        found = solver.solve(times, y)  # type: ignore[attr-defined]
    except (ValueError, RuntimeError, FloatingPointError) as exc:
        return Segment(times[:1], y[:, None], False, str(exc))
    states = np.asarray(found.y, dtype=float).T
    return Segment(np.asarray(found.t, dtype=float), states, bool(found.success), found.message)
