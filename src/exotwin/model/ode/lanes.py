"""Many patients of a large model at once: each patient on its own CVODE (step control,
Newton iteration and sparse LU per patient, :mod:`exotwin.model.ode.cvode`), their
right-hand sides and Jacobians evaluated together, across patients, in one compiled program
over lanes.

How: every patient's integration (:func:`exotwin.model.ode.solve.simulate`) runs in a
greenlet; where CVODE asks for dy/dt or for the Jacobian, the patient's greenlet hands the
request to a hub and waits. The hub packs waiting requests into lanes (one lane a state: a
right-hand side takes one, a Jacobian by forward differences one per colour of the sparsity
pattern plus the base point), evaluates them in one call of the equations traced by column
(:func:`exotwin.model.ode.traced.column_right_hand_side`: every quantity a vector over the
lanes) and resumes those patients. A lane's result depends on its own inputs alone, so a
patient's trajectory does not depend on which patients share its calls.

Why (default TNBC model, 787 variables, 119 colours; 2026-12-02, this 2-core machine under
load 4-7 from other work): one patient's right-hand side compiled alone costs ~115 CPU-us a
call, the one traced by column ~18 us a patient at 256 lanes (25 us at 64), with ~500
right-hand sides and ~8 Jacobians per patient-year. A cohort of 400 patient-years on 2
worker processes (``benchmarks/cohort.py --patients 400 --roadrunner-patients 0 --only large
--dask-patients 0 --workers 2``) took 114.9 CPU-s, against 162.8 one patient at a time;
SuperLU_MT's factorisations and solves inside CVODE are now about half the CPU (``perf``).
Weighed: a batched Rosenbrock over lanes as for small models (:mod:`.rosenbrock`) needs its
Jacobian (119 right-hand sides) and LU (18,745 entries, 147,185 updates in Markowitz order)
at every step, where CVODE evaluates ~8 Jacobians and ~65 factorisations per patient-year
(counted). An earlier try of CVODE's GMRES preconditioned by a static-pivot LU in place of
SuperLU_MT cost as much CPU one patient at a time (how it formed ``J v`` is not recorded);
with ``J v`` from the stored Jacobian (no right-hand side per Krylov iteration,
:class:`exotwin.model.ode.cvode.Newton`) lanes now use it: on 256 patients of the benchmark
draws the solve took 0.178-0.196 CPU-s per patient-year against 0.227-0.235 on SuperLU_MT,
interleaved (``perf``: SuperLU_MT's 32 % gone, partly paid back in GMRES's Python callbacks).
What is left is mostly the compiled right-hand side, ~1,650 lane-states per patient-year, two
thirds of them for ~9 Jacobians of 118 colours and a base point (a colouring cannot do better:
a row holds 118 entries), and Python around CVODE's callbacks.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from itertools import pairwise
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from ...errors import SimulationError
from ..rules.rows import CompiledModel
from .compiled import STEP, Patient, _key, _run_inline

Array = NDArray[np.float64]
T = TypeVar("T")
LANES = 256  # states per compiled call (per patient-evaluation 256 cost ~30 % less than 64)
NARROW = (8, 32)  # narrower programs for calls with fewer states: as a cohort's last patients
# finish, a call holds one or a few of them, and one state cost ~0.9 ms at 8 lanes, ~1.4 ms at
# 32, ~6.0 ms at 256 (default model, load ~9); a lane's result is the same at every width
WAITING = 128  # patients in flight beyond the lanes: calls stay full while some wait on one
_PROGRAMS: dict[tuple[str, int], Any] = {}
_EXPORTED: dict[tuple[str, int], bytes] = {}


def width(patients: int) -> int:
    """Lanes of the compiled program for a cohort of ``patients``: a power of two, 8 to
    :data:`LANES` (a small cohort does not pay for lanes it cannot fill)."""
    return int(min(LANES, max(8, 1 << max(0, patients - 1).bit_length())))


def widths(lanes: int) -> list[int]:
    """The programs a hub of ``lanes`` uses, narrowest first: :data:`NARROW` below it, and it."""
    return [w for w in NARROW if w < lanes] + [lanes]


def program(model: CompiledModel, lanes: int) -> Any:
    """``f(theta, t, y)``: dy/dt of ``lanes`` states (``theta``: lanes x parameters, ``t``:
    lanes, ``y``: lanes x variables), once per model structure and width: the program of
    :func:`export`, so that this process compiles what worker processes load from XLA's
    disk cache."""
    key = (_key(model), lanes)
    if key not in _PROGRAMS:
        install(model, lanes, export(model, lanes))
    return _PROGRAMS[key]


def export(model: CompiledModel, lanes: int) -> bytes:
    """The equations traced by column for ``lanes`` states, serialised (StableHLO) for
    :func:`install` here or in another process."""
    import jax
    from jax import export as jax_export

    from . import traced

    def rhs(theta: Any, t: Any, y: Any) -> Any:
        derived = traced.column_parameters(model, theta)
        return traced.column_right_hand_side(model, derived, t, y)

    key = (_key(model), lanes)
    if key not in _EXPORTED:
        shapes = [(lanes, len(model.parameters.values)), (lanes,), (lanes, model.layout.size)]
        with jax.enable_x64(True):
            found = jax_export.export(jax.jit(rhs))(
                *(jax.ShapeDtypeStruct(s, np.float64) for s in shapes)
            )
        _EXPORTED[key] = bytes(found.serialize())
    return _EXPORTED[key]


def install(model: CompiledModel, lanes: int, exported: bytes) -> None:
    """Use the program of :func:`export` in this process (compiled on its first call, or
    loaded from XLA's disk cache)."""
    import jax
    from jax import export as jax_export

    from .rosenbrock import use_disk_cache

    key = (_key(model), lanes)
    if key not in _PROGRAMS:
        _run_inline()
        use_disk_cache()
        _PROGRAMS[key] = jax.jit(jax_export.deserialize(bytearray(exported)).call)


class Lane(Patient):
    """One patient's dy/dt and Jacobian as CVODE calls them, answered by a :class:`Hub`
    (the calling greenlet waits for its turn); CVODE's Newton systems by the static-pivot
    LU (:class:`exotwin.model.ode.cvode.Newton`)."""

    static_lu = True

    def __init__(
        self, model: CompiledModel, theta: Array, hub: Hub, budget: int | None = None
    ) -> None:
        self.theta, self.hub, self.left = theta, hub, budget
        self.atol = np.ones(model.layout.size)
        self.seeds = np.zeros((0, model.layout.size))

    def __call__(self, t: float, y: Array) -> Array:
        """dy/dt; :class:`SimulationError` once ``budget`` right-hand sides are spent."""
        if self.left is not None:
            self.left -= 1
            if self.left < 0:
                raise SimulationError(f"the budget of right-hand sides is spent at day {t:.6g}")
        found: Array = self.hub.ask(self.theta, t, np.array(y, dtype=float)[None])[0]
        return found

    def changed(self, t: float, y: Array, relative: float) -> NDArray[np.bool_]:
        raise NotImplementedError("the sparsity probe runs on a compiled Patient")

    def jacobian_values(self, t: float, y: Array) -> Array:
        """The Jacobian's entries on the pattern, in CSC order (as :class:`Patient`)."""
        y = np.asarray(y, dtype=float)
        h = STEP * np.maximum(np.abs(y), self.atol)
        h = (y + h) - y  # a step that is exact in floating point
        states = np.concatenate([y[None], y[None] + h[None] * self.seeds])
        found = self.hub.ask(self.theta, t, states)
        values: Array = (found[1:] - found[:1])[self.colour, self.rows] / h[self.cols]
        return values


class Hub:
    """Runs tasks in greenlets and answers their requests in full calls of the program."""

    def __init__(self, model: CompiledModel, lanes: int) -> None:
        self.programs = {w: program(model, w) for w in widths(lanes)}
        self.lanes = lanes
        self.size, self.count = model.layout.size, len(model.parameters.values)
        self.waiting: deque[tuple[Any, tuple[Array, float, Array]]] = deque()

    def ask(self, theta: Array, t: float, states: Array) -> Array:
        """dy/dt at ``states`` (rows) of one patient: from a task's greenlet, through the hub."""
        import greenlet

        found: Array = greenlet.getcurrent().parent.switch((theta, t, states))
        return found

    def run(
        self,
        tasks: list[Callable[[], T]],
        in_flight: int,
        done: Callable[[int], None] | None = None,
    ) -> list[T]:
        """Every task's result, in order (at most ``in_flight`` tasks started and not
        finished); ``done(count)`` as tasks finish."""
        import greenlet

        results: list[Any] = [None] * len(tasks)
        started, finished = 0, 0

        def resume(g: Any, value: Any, index: int) -> None:
            nonlocal finished
            request = g.switch() if value is None else g.switch(value)
            if g.dead:
                results[index], finished = request, finished + 1
                if done:
                    done(finished)
            else:
                self.waiting.append(((g, index), request))

        while started < len(tasks) or self.waiting:
            while started < len(tasks) and len(self.waiting) < in_flight:
                started += 1
                resume(greenlet.greenlet(tasks[started - 1]), None, started - 1)
            batch: list[tuple[Any, tuple[Array, float, Array]]] = []
            rows = 0
            while self.waiting and (not batch or rows + len(self.waiting[0][1][2]) <= self.lanes):
                batch.append(self.waiting.popleft())
                rows += len(batch[-1][1][2])
            for ((g, index), _), value in zip(
                batch, self._evaluate([r for _, r in batch]), strict=True
            ):
                resume(g, value, index)
        return results

    def _evaluate(self, requests: list[tuple[Array, float, Array]]) -> list[Array]:
        """Each request's dy/dt, in one call of the narrowest program that holds them all, or
        in calls of ``lanes`` states (unused lanes repeat the first)."""
        import jax

        sizes = [len(states) for _, _, states in requests]
        lanes = next((w for w in self.programs if w >= sum(sizes)), self.lanes)
        run = self.programs[lanes]
        total = -(-sum(sizes) // lanes) * lanes
        theta = np.empty((total, self.count))
        t, y = np.empty(total), np.empty((total, self.size))
        at = 0
        for (th, when, states), n in zip(requests, sizes, strict=True):
            theta[at : at + n], t[at : at + n], y[at : at + n] = th, when, states
            at += n
        theta[at:], t[at:], y[at:] = theta[0], t[0], y[0]
        with jax.enable_x64(True):
            found = np.concatenate(
                [
                    np.asarray(run(theta[a : a + lanes], t[a : a + lanes], y[a : a + lanes]))
                    for a in range(0, total, lanes)
                ]
            )
        bounds = np.cumsum([0, *sizes])
        return [found[a:b] for a, b in pairwise(bounds)]


def prepare(model: CompiledModel, lanes: int, theta: Array, y: Array) -> None:
    """Compile (or load from the disk cache) the programs of a hub of ``lanes`` ahead of a
    run, on one state."""
    import jax

    with jax.enable_x64(True):
        for w in widths(lanes):
            program(model, w)(np.tile(theta, (w, 1)), np.zeros(w), np.tile(y, (w, 1)))
