"""Integrate compiled arms: one patient or a batch, from day 0 through every event.

Units: time in days, cells as counts, exosomes as particles, drugs in effective micromolar.
Doses, surgery and intervention starts split the time axis into segments; within a segment
the equations are smooth. Small models integrate with CVODE's BDF (one patient, dense
Jacobian: :func:`exotwin.model.ode.cvode.solve_small`), scipy's BDF (a batch, block-sparse
Jacobian) or, for many patients, the batched Rodas4 integrator
(:mod:`exotwin.model.ode.rosenbrock`); large ones with BDF and a probed sparse Jacobian, one
patient at a time (in cohorts SUNDIALS CVODE per patient, the patients' right-hand sides and
Jacobians evaluated together in compiled lanes: :mod:`exotwin.model.ode.lanes`,
:mod:`exotwin.model.ode.cvode`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from scipy.integrate import solve_ivp
from scipy.sparse import block_diag, csc_matrix

from ...errors import SimulationError as SimulationError
from ..rules.rows import CompiledModel
from ..rules.table import DRUG_VARS, Event, Layout
from .equations import NUMERIC, Derivative, background_state, change_amount, derive, fluxes
from .lanes import width
from .sparsity import colouring

if TYPE_CHECKING:
    from .compiled import Patient

Array = NDArray[np.float64]
FD_STEP = float(np.sqrt(np.finfo(float).eps))
SPARSE_ABOVE = 120  # state variables; below this, a dense Jacobian is cheaper (its columns by
# coloured differences: ~1.6x less CPU on the dosed shipped scenarios at rtol 1e-10, on LSODA)
ROSENBROCK_FROM = 500  # patients: fewer do not repay compiling the batched integrator (about
# 9 CPU-s per model structure the first time, ~1 s once JAX's disk cache holds it)
COMPILED_FROM = 4  # patients of a large model: fewer do not repay compiling its right-hand
# side (~8 CPU-s the first time on the default model; ~1-5 CPU-s saved per patient)
LANE_BUDGET = 20_000  # right-hand sides of one patient in lanes (a default-model patient-year
# takes ~500): past it, the patient is rerun alone (one of 1,000 patients of
# tnbc-default-10k.yaml crawled at steps of ~1e-5 days near day 352 in lanes, >6 CPU-minutes,
# and took ~2 CPU-s alone on the compiled programs)
CHUNK = 1_000  # patients of a large model per task of a worker process (on the default
# model ~2.3 GB of states a year; a task keeps its lanes full, :mod:`.lanes`, but for its end)


@dataclass(frozen=True)
class Tolerances:
    """Relative tolerance, and a scale applied to the absolute tolerance of every block."""

    rtol: float = 1e-6
    atol_scale: float = 1.0


DEFAULT = Tolerances()  # large models in lanes: 32 patients of the default model (benchmark
# draws) came within 1.1e-5 of CVODE at rtol 1e-10 on every readout; rtol 1e-5, 3e-5 and 1e-4
# saved 23-35 % of the CPU but reached 3.3e-4, 1.4e-4 and 6.5e-4 (resistant_fraction), over 1e-4
ROSENBROCK = Tolerances(rtol=2e-5)  # the batched Rodas4's default: readouts within 2.2e-5
# (dosed test scenario) and 1.0e-5 (40 patients of the small benchmark model) of LSODA at rtol
# 1e-10, the contract being 1e-4, in 87 % of the steps of rtol 1e-5 (9.1e-6, 4.8e-6); rtol
# 3e-5 came to 3.8e-5 on the dosed scenario, too little margin


@dataclass
class Trajectory:
    model: CompiledModel
    layout: Layout
    times: Array
    states: Array  # (times, variables)


class RightHandSide:
    """dy/dt of a batch of parameter sets of one compiled arm (numbers); ``compiled``: of one
    patient, on a compiled program (:mod:`exotwin.model.ode.compiled`)."""

    def __init__(
        self,
        model: CompiledModel,
        theta: Array,
        compiled: bool = False,
        patient: Patient | None = None,
    ) -> None:
        self.model = model
        self.derived = derive(model, NUMERIC, theta)
        self.batch, self.size = theta.shape[0], model.layout.size
        self.derivative = Derivative(self.size)
        self.compiled: Patient | None = patient
        if compiled and self.batch == 1 and patient is None:
            from .compiled import Patient

            self.compiled = Patient(model, theta[0])
        self.budget: list[int] | None = None  # right-hand sides left: none raises

    def __call__(self, t: float, flat: Array) -> Array:
        if self.budget is not None:
            self.budget[0] -= 1
            if self.budget[0] < 0:
                raise SimulationError("the budget of right-hand sides is spent")
        if self.compiled is not None:
            return self.compiled(t, flat)
        y = flat.reshape(self.batch, self.size)
        return self.derivative(fluxes(self.model, NUMERIC, self.derived, t, y)).reshape(-1)


class ColouredJacobian:
    """A small model's dense Jacobian by forward differences, perturbing every column of one
    colour of the sparsity pattern at once: one right-hand side per colour (plus one at the
    point, unless ``base``, f(t, y), is given) instead of one per variable. Each column steps
    by sqrt(machine epsilon) times its magnitude, at least its absolute tolerance."""

    def __init__(self, rhs: RightHandSide, pattern: Any, atol: Array) -> None:
        dense = pattern.toarray() if hasattr(pattern, "toarray") else np.asarray(pattern)
        colour = colouring(dense)
        self.rhs, self.floor = rhs, atol
        self.groups = [np.flatnonzero(colour == c) for c in range(int(colour.max()) + 1)]
        self.entries = [np.nonzero(dense[:, group]) for group in self.groups]
        self.size = dense.shape[0]

    def __call__(self, t: float, y: Array, base: Array | None = None) -> Array:
        base = self.rhs(t, y) if base is None else base
        step = FD_STEP * np.maximum(np.abs(y), self.floor)
        jac = np.zeros((self.size, self.size))
        for group, (rows, cols) in zip(self.groups, self.entries, strict=True):
            probe = y.copy()
            probe[group] += step[group]
            change = self.rhs(t, probe) - base
            columns = group[cols]
            jac[rows, columns] = change[rows] / step[columns]
        return jac


def nominal(model: CompiledModel, patients: int = 1) -> Array:
    """The arm's parameter vector at its nominal values, once per patient."""
    return np.tile(model.parameters.values, (patients, 1))


def starting_state(model: CompiledModel, theta: Array, y0: Array | None = None) -> Array:
    """Day 0 before any dose, per parameter set: the initial cells (``y0``, default the
    compiled counts) and plasma at its healthy baseline."""
    theta = np.atleast_2d(theta)
    y = (
        np.tile(model.initial, (len(theta), 1))
        if y0 is None
        else np.array(y0, dtype=float, ndmin=2)
    )
    return y + background_state(model, NUMERIC, theta)


def apply_event(model: CompiledModel, event: Event, theta: Array, y: Array) -> None:
    """Apply an event's state changes (in order) to a batch of states, in place."""
    for change in event.changes:
        amount = change_amount(change, theta, NUMERIC)
        if change.operation == "add":
            y[:, change.variable] += amount
        elif change.operation == "set":
            y[:, change.variable] = amount
        else:
            y[:, change.variable] *= amount


def bounds(model: CompiledModel) -> list[float]:
    """The days that split the integration into segments."""
    return sorted({0.0, model.scenario.duration, *(e.day for e in model.rows.events)})


def tolerances(layout: Layout, y0: Array, scale: float = 1.0) -> Array:
    """Absolute tolerance per variable: a cell, a hundredth of an exosome, tiny signals."""
    atol = np.full(layout.size, 1e-9)
    atol[: layout.pools] = 1e-3
    atol[layout.pools : layout.signals] = 1e-2
    atol[layout.signals : layout.activities] = 1e-6
    atol[layout.activities : layout.drugs] = 1e-8
    return np.maximum(atol, 1e-9 * np.abs(y0)) * scale


def simulate(
    model: CompiledModel,
    theta: Array | None = None,
    y0: Array | None = None,
    tol: Tolerances = DEFAULT,
    pattern: Any = None,
    compiled: bool = False,
    patient: Patient | None = None,
    budget: list[int] | None = None,
) -> list[Trajectory]:
    """Integrate a batch of parameter sets (``theta``: patients x parameters; default the
    nominal values) from initial states ``y0`` (default the compiled counts); ``compiled``:
    one patient's right-hand side and Jacobian as compiled programs
    (:mod:`exotwin.model.ode.compiled`; or ``patient``'s, one of them), integrated by CVODE
    (:mod:`exotwin.model.ode.cvode`); ``budget``: ``[right-hand sides left]``, counted down,
    :class:`SimulationError` when spent."""
    theta = nominal(model) if theta is None else np.atleast_2d(theta)
    batch, lay = theta.shape[0], model.layout
    y = starting_state(model, theta, y0)
    rhs = RightHandSide(model, theta, compiled, patient)
    rhs.budget = budget
    cuts = bounds(model)
    atol = np.concatenate([tolerances(lay, row, tol.atol_scale) for row in y])
    solver: dict[str, Any] = {}
    dense: ColouredJacobian | None = None  # one patient of a small model: CVODE, dense
    if batch == 1 and lay.size <= SPARSE_ABOVE and rhs.compiled is None:
        found = pattern if pattern is not None else jacobian_pattern(rhs, y[0], cuts)
        dense = ColouredJacobian(rhs, found, atol)
    if batch > 1 or lay.size > SPARSE_ABOVE or rhs.compiled is not None:
        if pattern is None:
            pattern = jacobian_pattern(RightHandSide(model, theta[:1]), y[0], cuts)
        solver = {"method": "BDF", "jac_sparsity": block_diag([pattern] * batch, format="csc")}
        if rhs.compiled is not None:
            rhs.compiled.use_pattern(pattern, atol)
    grid = np.round(np.arange(0.0, model.scenario.duration + 1e-9, model.scenario.output_every), 9)
    events = {e.day: e for e in model.rows.events}
    times: list[float] = []
    states: list[Array] = []
    for k, start in enumerate(cuts[:-1]):
        end = cuts[k + 1]
        if start in events:
            apply_event(model, events[start], theta, y)
        last = k == len(cuts) - 2
        wanted = grid[(grid >= start) & ((grid < end) | (last & (grid <= end)))]
        times_out = np.union1d(wanted, [end])
        if rhs.compiled is not None:  # CVODE on the compiled programs (:mod:`.cvode`)
            from .cvode import solve_segment

            times_out = np.union1d([start], times_out)
            solution: Any = solve_segment(
                rhs.compiled, pattern, times_out, y.reshape(-1), tol.rtol, atol
            )
        elif dense is not None:  # CVODE's BDF, dense (:func:`.cvode.solve_small`)
            from .cvode import solve_small

            times_out = np.union1d([start], times_out)
            solution = solve_small(rhs, dense, times_out, y.reshape(-1), tol.rtol, atol)
        else:
            solution = solve_ivp(
                rhs,
                (start, end),
                y.reshape(-1),
                t_eval=times_out,
                rtol=tol.rtol,
                atol=atol,
                **solver,
            )
        if not solution.success or not np.all(np.isfinite(solution.y)):
            raise _diverged(model, solution, start, end, batch)
        keep = np.isin(solution.t, wanted)
        times += list(solution.t[keep])
        states += list(solution.y.T[keep])
        y = solution.y[:, -1].reshape(batch, lay.size).copy()
        y[:, : lay.activities] = np.maximum(y[:, : lay.activities], 0.0)
    stacked = np.array(states).reshape(len(times), batch, lay.size)
    return [Trajectory(model, lay, np.array(times), stacked[:, i, :]) for i in range(batch)]


def simulate_arm(
    model: CompiledModel, tol: Tolerances = DEFAULT, pattern: Any = None
) -> Trajectory:
    """Integrate one arm at its nominal parameters; raises :class:`SimulationError`."""
    return simulate(model, tol=tol, pattern=pattern)[0]


def cohort_method(size: int, patients: int) -> str:
    """How :func:`simulate_cohort` integrates ``patients`` of a model of ``size`` variables:
    ``rosenbrock`` (batched, compiled), ``compiled`` (one by one, compiled right-hand side
    and Jacobian) or ``numpy``."""
    if size <= SPARSE_ABOVE:
        return "rosenbrock" if patients >= ROSENBROCK_FROM else "numpy"
    return "compiled" if patients >= COMPILED_FROM else "numpy"


def simulate_cohort(
    model: CompiledModel,
    theta: Array,
    y0: Array | None = None,
    tol: Tolerances = DEFAULT,
    batch_size: int = 50,
    progress: Callable[[int], None] | None = None,
    workers: int = 1,
) -> list[Trajectory]:
    """Patients of one compiled arm (rows of ``theta`` and ``y0``), the fastest way: many
    patients of a small model with the batched Rosenbrock integrator
    (:mod:`exotwin.model.ode.rosenbrock`, compiled once per model), a few in scipy batches,
    large models (whose sparse solve grows with every patient added) each on CVODE with one
    probed sparsity pattern, their right-hand sides and Jacobians evaluated together in
    compiled lanes (:mod:`exotwin.model.ode.lanes`), spread over ``workers`` processes when
    more than one. ``progress(done)`` after each batch (each patient, in lanes)."""
    y0 = np.tile(model.initial, (len(theta), 1)) if y0 is None else y0
    method = cohort_method(model.layout.size, len(theta))
    if method == "rosenbrock":
        together = simulate_rosenbrock(model, theta, y0, ROSENBROCK if tol == DEFAULT else tol)
        if progress:
            progress(len(together))
        return together
    pattern, size, compiled = None, batch_size, method == "compiled"
    if model.layout.size > SPARSE_ABOVE:
        size = 1
        pattern = jacobian_pattern(RightHandSide(model, theta[:1], compiled), y0[0], bounds(model))
    if compiled and workers > 1 and len(theta) > 1:
        return _in_processes(model, theta, y0, tol, pattern, workers, progress)
    if compiled:
        return _in_lanes(model, theta, y0, tol, pattern, width(len(theta)), progress)
    return _one_by_one(model, theta, y0, tol, pattern, size, progress)


def _one_by_one(
    model: CompiledModel,
    theta: Array,
    y0: Array,
    tol: Tolerances,
    pattern: Any,
    size: int,
    progress: Callable[[int], None] | None = None,
) -> list[Trajectory]:
    """Patients in batches of ``size`` on numpy."""
    found: list[Trajectory] = []
    for at in range(0, len(theta), size):
        found += simulate(model, theta[at : at + size], y0[at : at + size], tol, pattern)
        if progress:
            progress(len(found))
    return found


def _in_lanes(
    model: CompiledModel,
    theta: Array,
    y0: Array,
    tol: Tolerances,
    pattern: Any,
    lanes: int,
    progress: Callable[[int], None] | None = None,
) -> list[Trajectory]:
    """Patients of a large model each on CVODE, their right-hand sides and Jacobians
    evaluated together in ``lanes`` (:mod:`exotwin.model.ode.lanes`); a patient that fails
    or spends :data:`LANE_BUDGET` right-hand sides reruns alone (:func:`_alone`)."""
    from .lanes import WAITING, Hub, Lane

    hub = Hub(model, lanes)

    def task(i: int) -> Callable[[], Trajectory | None]:
        def run() -> Trajectory | None:
            part = theta[i : i + 1], y0[i : i + 1]
            lane = Lane(model, theta[i], hub, LANE_BUDGET)
            try:
                return simulate(model, *part, tol, pattern, patient=lane)[0]
            except SimulationError:
                return None

        return run

    found = hub.run([task(i) for i in range(len(theta))], lanes + WAITING, progress)
    return [
        run if run is not None else _alone(model, theta[i : i + 1], y0[i : i + 1], tol, pattern)
        for i, run in enumerate(found)
    ]


def _alone(
    model: CompiledModel, theta: Array, y0: Array, tol: Tolerances, pattern: Any
) -> Trajectory:
    """One patient on CVODE with its own compiled programs, or, if that fails, on numpy."""
    try:
        return simulate(model, theta, y0, tol, pattern, compiled=True)[0]
    except SimulationError:
        return simulate(model, theta, y0, tol, pattern)[0]


def _share(
    model: CompiledModel,
    theta: Array,
    y0: Array,
    tol: Tolerances,
    pattern: Any,
    lanes: int,
    exported: dict[int, bytes],
) -> list[tuple[Array, Array]]:
    """One worker process's patients of a large model: their (times, states)."""
    from . import lanes as lanes_module

    for w, program in exported.items():
        lanes_module.install(model, w, program)
    runs = _in_lanes(model, theta, y0, tol, pattern, lanes)
    return [(run.times, run.states) for run in runs]


def _rows(theta: Array, y0: Array, at: int, count: int) -> tuple[Array, Array]:
    return theta[at : at + count], y0[at : at + count]


def _in_processes(
    model: CompiledModel,
    theta: Array,
    y0: Array,
    tol: Tolerances,
    pattern: Any,
    workers: int,
    progress: Callable[[int], None] | None,
) -> list[Trajectory]:
    """A large model's patients in chunks on ``workers`` fresh processes (spawned: JAX's
    threads do not survive a fork), each loading the compiled program of
    :func:`exotwin.model.ode.lanes.export` (from JAX's disk cache); the trajectories in the
    patients' order."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from . import lanes as lanes_module

    chunk = max(1, min(CHUNK, -(-len(theta) // workers)))
    lanes = width(len(theta))  # as in one process: the same lanes, the same rounding
    lanes_module.prepare(model, lanes, theta[0], y0[0])  # compiled once: workers load it
    exported = {w: lanes_module.export(model, w) for w in lanes_module.widths(lanes)}
    context = multiprocessing.get_context("spawn")
    found: list[Trajectory] = []
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        parts = [
            pool.submit(_share, model, *_rows(theta, y0, a, chunk), tol, pattern, lanes, exported)
            for a in range(0, len(theta), chunk)
        ]
        for part in parts:
            found += [Trajectory(model, model.layout, t, y) for t, y in part.result()]
            if progress:
                progress(len(found))
    return found


def output_grid(model: CompiledModel) -> tuple[Array, list[tuple[float, float, NDArray[Any]]]]:
    """The output days, and per segment (start, end, the output days it owns): days before
    its end (the last segment's end too); a day on an event belongs to the later segment."""
    grid = np.round(np.arange(0.0, model.scenario.duration + 1e-9, model.scenario.output_every), 9)
    cuts = bounds(model)
    found = []
    for k, start in enumerate(cuts[:-1]):
        end, last = cuts[k + 1], k == len(cuts) - 2
        found.append(
            (start, end, np.flatnonzero((grid >= start) & ((grid < end) | (last & (grid <= end)))))
        )
    return grid, found


def _pattern(model: CompiledModel, theta: Array, y: Array) -> NDArray[np.bool_]:
    """The Jacobian's sparsity, probed on the first patient."""
    found: NDArray[np.bool_] = jacobian_pattern(
        RightHandSide(model, theta[:1]), y[0], bounds(model)
    ).toarray()
    return found


def prepare_cohort(
    model: CompiledModel, theta: Array, y0: Array | None = None, tol: Tolerances = DEFAULT
) -> None:
    """Do ahead what :func:`simulate_cohort` would do first for these patients: compile
    (or load from the disk cache) the batched integrator's program, or a large model's
    right-hand side and Jacobian programs (with the sparsity probe and its colouring).
    Calling it is optional; a benchmark uses it to time set-up and solving apart."""
    y0 = np.tile(model.initial, (len(theta), 1)) if y0 is None else y0
    method = cohort_method(model.layout.size, len(theta))
    if method == "compiled":  # compile the programs, probe the pattern, colour it
        from .lanes import prepare

        rhs = RightHandSide(model, theta[:1], compiled=True)
        pattern = jacobian_pattern(rhs, y0[0], bounds(model))
        y = starting_state(model, theta[:1], y0[:1])[0]
        if rhs.compiled is not None:
            rhs.compiled.use_pattern(pattern, tolerances(model.layout, y, tol.atol_scale))
        prepare(model, width(len(theta)), theta[0], y)
    if method != "rosenbrock":
        return
    from . import rosenbrock

    rtol = (ROSENBROCK if tol == DEFAULT else tol).rtol
    pattern = _pattern(model, theta, starting_state(model, theta, y0))
    rosenbrock.prepare(model, rtol, pattern, len(theta), len(output_grid(model)[0]))


def simulate_rosenbrock(
    model: CompiledModel, theta: Array, y0: Array, tol: Tolerances = ROSENBROCK
) -> list[Trajectory]:
    """Patients of a small model with the batched Rodas4 integrator; any patient it cannot
    finish is integrated alone with LSODA (raising :class:`SimulationError` if that fails)."""
    from . import rosenbrock

    lay = model.layout
    y = starting_state(model, theta, y0)
    atol = np.stack([tolerances(lay, row, tol.atol_scale) for row in y])
    pattern = _pattern(model, theta, y)
    grid, parts = output_grid(model)
    segments = [
        rosenbrock.Segment(a, b, lo := int(np.searchsorted(grid, a)), lo + len(rows))
        for a, b, rows in parts
    ]
    events = {e.day: e for e in model.rows.events}

    def between(k: int, state: Array) -> None:
        if segments[k].start in events:
            apply_event(model, events[segments[k].start], theta, state)

    states, ok = rosenbrock.integrate(
        model, theta, y, atol, grid, segments, tol.rtol, pattern, between
    )
    found = [Trajectory(model, lay, grid, states[i]) for i in range(len(theta))]
    for i in np.flatnonzero(~ok):
        found[i] = simulate(model, theta[i : i + 1], y0[i : i + 1], tol)[0]
    return found


def simulate_patients(models: list[CompiledModel], tol: Tolerances = DEFAULT) -> list[Trajectory]:
    """Patients compiled one by one (same structure, their own values): see
    :func:`simulate_cohort`."""
    if not models:
        return []
    first = models[0]
    for other in models[1:]:
        if other.layout != first.layout or other.parameters.names != first.parameters.names:
            raise ValueError("patients of a batch must share the compiled structure")
    theta = np.stack([m.parameters.values for m in models])
    runs = simulate_cohort(first, theta, np.stack([m.initial for m in models]), tol)
    return [
        Trajectory(model, run.layout, run.times, run.states)
        for model, run in zip(models, runs, strict=True)
    ]


def jacobian_pattern(rhs: RightHandSide, y0: Array, times: list[float]) -> Any:
    """Which variables each derivative depends on, probed at random positive states of one
    patient.

    Each variable is perturbed in turn at two states, at the first and the last time (an
    intervention switched on later is off at the first and on at the last); any change of a
    derivative marks an entry.
    """
    lay = rhs.model.layout
    typical = np.ones(lay.size)
    typical[: lay.pools] = 1e8
    typical[lay.pools : lay.signals] = 1e9
    typical[lay.signals : lay.activities] = 100.0
    rng = np.random.default_rng(0)
    pattern = np.eye(lay.size, dtype=bool)
    for t in sorted({min(times), max(times)}):
        for _ in range(2):
            y = np.maximum(np.abs(y0), typical) * (0.5 + rng.random(lay.size))
            if rhs.compiled is not None:  # every column in one compiled call
                pattern |= rhs.compiled.changed(t, y, 1e-4)
                continue
            base = rhs(t, y)
            for j in range(lay.size):
                probe = y.copy()
                probe[j] *= 1.0 + 1e-4
                pattern[:, j] |= rhs(t, probe) != base
    return csc_matrix(pattern)


def variable_names(model: CompiledModel) -> list[str]:
    """A readable name for every state variable (for error messages and exports)."""
    names = [f"cells {p.label}" for p in model.populations]
    names += [f"exosomes {k}@{c}" for (k, c) in sorted(model.pools, key=model.pools.__getitem__)]
    names += [
        f"internal {k} in {model.populations[p].label}"
        for (k, p) in sorted(model.signals, key=model.signals.__getitem__)
    ]
    names += [
        f"activity {ph} in {model.populations[p].label}"
        for (ph, p) in sorted(model.activities, key=model.activities.__getitem__)
    ]
    names += [f"{d} {v}" for d in model.drugs for v in DRUG_VARS]
    return names


def _diverged(
    model: CompiledModel, solution: object, start: float, end: float, batch: int
) -> SimulationError:
    size = model.layout.size
    t = getattr(solution, "t", np.array([start]))
    found = getattr(solution, "y", None)
    ys = np.zeros((size * batch, 0)) if found is None or not len(found) else np.asarray(found)
    when = float(t[-1]) if len(t) else start
    names = variable_names(model) * batch
    # scipy leaves ``y`` an empty list when it fails before the first output time
    state = ys[:, -1] if ys.ndim == 2 and ys.shape[1] else np.zeros(size * batch)
    worst = sorted(
        range(len(state)), key=lambda i: -abs(state[i]) if np.isfinite(state[i]) else -math.inf
    )[:3]
    bad = [names[i] for i in range(len(state)) if not np.isfinite(state[i])][:3]
    shown = ", ".join(f"{names[i]}={state[i]:.3g}" for i in worst)
    message = getattr(solution, "message", "non-finite state")
    who = f"arm {model.arm.name!r}" + (f" ({batch} patients)" if batch > 1 else "")
    return SimulationError(
        f"scenario {model.scenario.id!r}, {who}: the solve failed between day "
        f"{start:g} and {end:g} at day {when:.4g} ({message}); "
        + (f"non-finite: {', '.join(bad)}; " if bad else "")
        + f"largest: {shown}"
    )
