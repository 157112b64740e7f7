"""One patient on SUNDIALS CVODE (through scikit-sundae): variable-order BDF whose step control
and Newton iteration run in C. A small model (:func:`solve_small`) on its numpy right-hand side
and a dense Jacobian by coloured differences; a large one on the compiled right-hand side and
sparse Jacobian of :mod:`exotwin.model.ode.compiled`, the Newton systems by SuperLU_MT (one patient
alone) or, for patients in lanes, by GMRES on the exact factors of a static-pivot LU
(:class:`Newton`, :mod:`.staticlu`).

Why (default TNBC model, 787 variables, one patient-year, measured 2026-12-02 on this 2-core
machine): scipy's BDF on the same compiled programs took ~790 right-hand sides, ~68 SuperLU
factorisations and ~0.7 CPU-s, a third of it Python step logic and ``splu``; CVODE takes
~430-550 right-hand sides and ~0.35 CPU-s, readouts within 5.2e-6 of BDF at rtol 1e-10.
OpenMP threads that spin between factorisations cost as much again: SuperLU_MT runs on one
passive thread (set before the library loads). Chosen over writing a batched integrator: a
maintained BDF, one patient at a time, with the project's single equation set compiled once.

Why the static LU (default model, 788 variables, 2026-12-02): SuperLU_MT redoes its ordering
and symbolic analysis at every factorisation, and its supernodal solves are slow on this
pattern; ``perf`` put a third of a cohort's CPU in it. The pattern never changes, so the
ordering (Markowitz), the fill (18,688 entries) and the 147,283 updates are worked out once per
model, and a factorisation is one numba loop (~150 us; a solve ~20 us, ``J v`` ~10 us).
256 patients in lanes, interleaved with SuperLU_MT runs (load 2.6-4.1): 0.178-0.196 CPU-s
per patient-year against 0.227-0.235, readouts closer to CVODE at rtol 1e-10 (3.5e-6 against
6.0e-5 on the patients where the two differ most; docs/cohorts.md). scikit-sundae
takes no user direct solver (and has no KLU), so it runs as GMRES preconditioned by the exact
factors of ``I - gamma J``, converging in its first Krylov step. Since 2026-12-03 that step
costs no second triangular solve and no ``J v`` (:class:`Newton`: one solve per Newton
iteration, the direct solvers' ``2 / (1 + gamrat)`` scaling; counted on 256 patients of
``tnbc-default-10k.yaml``, 1,430 solves and 706 products per patient-year became 729 and
none; the chunk's CPU fell by 17-22 % with the row-wise 32-bit solve of :mod:`.staticlu`;
docs/cohorts.md). A pivot that is zero or not finite ends the patient's run in lanes; it is
rerun alone on SuperLU_MT, which pivots.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
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


def solve_small(
    rhs: Callable[[float, Array], Array],
    jacobian: Callable[[float, Array, Array], Array],
    times: Array,
    y: Array,
    rtol: float,
    atol: Array,
) -> Segment:
    """One patient of a small model from ``times[0]`` (state ``y``) through the later
    ``times``: CVODE's BDF with a dense Newton solver, ``jacobian(t, y, f(t, y))`` giving
    the dense Jacobian (:class:`exotwin.model.ode.solve.ColouredJacobian`), and a stop at
    the last time (the next event's day: no step past it).

    Why CVODE and not LSODA (2026-12-03, this 2-core machine, load ~5): LSODA restarts every
    segment in its non-stiff Adams mode, and with daily doses each restart costs ~40 Adams
    steps of ~5e-4 days before it switches to BDF; CVODE is stiff from its first step.
    CVODE's error test is a weighted RMS norm, which lets one of N variables err by up to
    sqrt(N) times its tolerance, LSODA's a weighted max norm: the tolerances are divided by
    sqrt(N), the same bound on every variable. Every shipped scenario at the default
    tolerances: 124 against 227 CPU-s (``uca1-tamoxifen-resistance-in-vivo``, 84 daily doses,
    7.8 against 24.5), the same verdicts, every effect within 3e-6 or 1.7e-5 of itself,
    readouts within 7.8e-4 of the rtol 1e-10 references (LSODA 6.6e-4; the tolerances undivided reached 4.2e-3, a drug
    concentration a day after its dose)."""
    from sksundae.cvode import CVODE

    def f(t: float, state: Array, dy: Array) -> None:
        found = rhs(t, state)
        if not np.isfinite(found).all():  # CVODE would retry ever smaller steps
            raise FloatingPointError(f"a non-finite derivative at day {t:.4g}")
        dy[:] = found

    def dense(t: float, state: Array, dy: Array, values: Array) -> None:
        values[:, :] = jacobian(t, np.asarray(state), np.asarray(dy))

    norm = np.sqrt(len(y))  # an RMS norm's bound on each variable (above)
    solver = CVODE(
        f,
        method="BDF",
        rtol=rtol / norm,
        atol=atol / norm,
        linsolver="dense",
        jacfn=dense,
        max_num_steps=MAX_STEPS,
    )
    return _run(solver, times, y)


class Newton:
    """CVODE's Newton systems ``(I - gamma J) x = r`` of one patient by GMRES, preconditioned
    by the exact factors of ``I - gamma_f J`` (:mod:`.staticlu`, a static pivot order;
    ``gamma_f``: CVODE's gamma when it last asked for a set-up), one triangular solve per
    Newton iteration, as CVODE's own direct solvers do. The Jacobian is re-evaluated only when
    CVODE asks (``jok`` false).

    How: GMRES's one Krylov step sees the operator ``s (I - gamma_f J)`` with
    ``s = (1 + gamma / gamma_f) / 2`` (:meth:`times` keeps the vector, :meth:`solve` answers
    ``s v`` for it without solving), so it converges in that step to ``x = P^-1 r / s``: the
    solution CVODE's direct solvers use when gamma has moved since the factorisation
    (``2 / (1 + gamrat)``, its BDF scaling). Before (``one_solve`` false) GMRES took the exact
    ``J v`` and a second triangular solve per iteration (2 solves and 1 product per Newton
    iteration, ~40 % of a lane patient's CPU; 2026-12-03)."""

    one_solve = True

    def __init__(self, patient: Patient, pattern: object) -> None:
        from .staticlu import analyse

        self.patient, self.lu = patient, analyse(_dense(pattern))
        self.jacobian = np.zeros(len(self.lu.known))
        self.factors = np.zeros(self.lu.entries)
        self.gamma = 1.0  # gamma of the factors
        self.pending: Array | None = None  # the vector of GMRES's Krylov step
        self.solves = 0  # triangular solves (counted for tests and benchmarks)

    def setup(self, t: float, y: Array, yp: Array, jok: int, jnew: list[int], gamma: float) -> None:
        from .staticlu import factor

        jnew[0] = 0 if jok else 1
        if not jok:
            self.jacobian[:] = self.patient.jacobian_values(t, np.asarray(y))
        if not factor(self.lu, self.jacobian, gamma, self.factors):
            raise FloatingPointError(f"a zero or non-finite pivot at day {t:.4g}")
        self.gamma, self.pending = gamma, None

    def solve(
        self, t: float, y: Array, yp: Array, r: Array, z: Array, gamma: float, delta: float, lr: int
    ) -> None:
        from .staticlu import solve

        if self.pending is not None:  # GMRES's Krylov step: the operator is s P, so s v
            z[:] = 0.5 * (1.0 + gamma / self.gamma) * self.pending
            self.pending = None
            return
        self.solves += 1
        solve(self.lu, self.factors, np.asarray(r), z)

    def times(self, t: float, y: Array, yp: Array, v: Array, out: Array) -> None:
        from .staticlu import multiply

        if self.one_solve:  # only :meth:`solve` reads the product: it answers s v
            self.pending = np.array(v)
            out[:] = 0.0
            return
        multiply(self.jacobian, self.lu.rows, self.lu.cols, np.asarray(v), out)


def _dense(pattern: object) -> NDArray[np.bool_]:
    found = pattern.toarray() if hasattr(pattern, "toarray") else pattern
    return np.asarray(found, dtype=bool)


def _solver(patient: Patient, pattern: object, rtol: float, atol: Array) -> object:
    """A CVODE solver of one patient: BDF on the compiled right-hand side and Jacobian; the
    Newton systems by :class:`Newton` where the patient asks for it (``static_lu``), else
    by SuperLU_MT's sparse LU on ``pattern`` (pivoting: the fallback)."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # an idle thread spins otherwise
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from sksundae.cvode import CVODE, CVODEJacTimes, CVODEPrecond

    def rhs(t: float, y: Array, dy: Array) -> None:
        found = patient(t, y)
        if not np.isfinite(found).all():  # CVODE would retry ever smaller steps
            raise FloatingPointError(f"a non-finite derivative at day {t:.4g}")
        dy[:] = found

    def jacobian(t: float, y: Array, dy: Array, values: Array) -> None:
        values[:] = patient.jacobian_values(t, np.asarray(y))

    if patient.static_lu:
        newton = Newton(patient, pattern)
        return CVODE(
            rhs,
            method="BDF",
            rtol=rtol,
            atol=atol,
            linsolver="gmres",
            precond=CVODEPrecond(newton.setup, newton.solve, side="left"),
            jactimes=CVODEJacTimes(None, newton.times),
            max_num_steps=MAX_STEPS,
        )
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
    return _run(_solver(patient, pattern, rtol, atol), times, y)


def _run(solver: object, times: Array, y: Array) -> Segment:
    try:
        found = solver.solve(times, y)  # type: ignore[attr-defined]
    except (ValueError, RuntimeError, FloatingPointError) as exc:
        return Segment(times[:1], y[:, None], False, str(exc))
    states = np.asarray(found.y, dtype=float).T
    return Segment(np.asarray(found.t, dtype=float), states, bool(found.success), found.message)
