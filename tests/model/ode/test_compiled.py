"""One patient's compiled right-hand side and Jacobian under scipy's BDF (the cohort path of
large models) against a tight LSODA reference, its determinism and its numpy fallback."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model.ode import compiled, lanes, solve
from exotwin.model.ode.solve import Tolerances, Trajectory, simulate
from exotwin.model.rules.compiler import compile_arm
from exotwin.model.rules.library import Library
from exotwin.model.rules.rows import CompiledModel
from exotwin.model.scenario.load import load_scenario
from exotwin.model.scenario.readouts import evaluate, relative_difference

TIGHT = Tolerances(rtol=1e-10, atol_scale=1e-3)
DOSED = ("tnbc-doxorubicin-exosomal-resistance", "doxorubicin-release-inhibitor")


@pytest.fixture(scope="module")
def dosed(kb: KnowledgeBase, lib: Library) -> tuple[CompiledModel, np.ndarray, np.ndarray]:
    """The dosed model (doses as events) and three patients who differ."""
    scenario = load_scenario(DOSED[0], kb, lib)
    model = compile_arm(kb, lib, scenario, next(a for a in scenario.arms if a.name == DOSED[1]))
    assert model.rows.events
    theta = np.tile(model.parameters.values, (3, 1))
    theta[:, model.parameters.names.index("uptake_max")] *= [0.5, 1.0, 4.0]
    y0 = np.tile(model.initial, (3, 1)) * np.array([0.3, 1.0, 3.0])[:, None]
    return model, theta, y0


def _worst(kb: KnowledgeBase, model: CompiledModel, a: Trajectory, b: Trajectory) -> float:
    assert np.array_equal(a.times, b.times)
    found, expected = (evaluate(kb, run, model.scenario.readouts) for run in (a, b))
    return max(
        relative_difference(r, found[r.name], expected[r.name]) for r in model.scenario.readouts
    )


def test_compiled_path_matches_a_tight_reference(
    kb: KnowledgeBase, dosed: tuple[CompiledModel, np.ndarray, np.ndarray]
) -> None:
    """Every readout within 1e-4 of LSODA at rtol 1e-10, through the doses; and the same
    result twice."""
    model, theta, y0 = dosed
    one = theta[2:], y0[2:]  # four times the uptake, three times the cells
    fast = simulate(model, *one, compiled=True)[0]
    assert _worst(kb, model, fast, simulate(model, *one, TIGHT)[0]) <= 1e-4
    assert np.array_equal(simulate(model, *one, compiled=True)[0].states, fast.states)


def test_cohort_falls_back_to_numpy_for_a_failing_patient(
    kb: KnowledgeBase,
    dosed: tuple[CompiledModel, np.ndarray, np.ndarray],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cohort path of large models (here forced onto the small one): a patient whose
    compiled solve fails is rerun on the numpy right-hand side."""
    model, theta, y0 = dosed[0], dosed[1].copy(), dosed[2]
    monkeypatch.setattr(solve, "SPARSE_ABOVE", 10)
    monkeypatch.setattr(solve, "COMPILED_FROM", 2)
    theta[1, 0] *= 1.01  # tells the broken patient apart
    for kind in (compiled.Patient, lanes.Lane):  # one at a time, and in lanes with others
        called = kind.__call__

        def broken(
            self: compiled.Patient, t: float, y: np.ndarray, called: Any = called
        ) -> np.ndarray:
            found = called(self, t, y)
            return found * np.nan if self.theta[0] == theta[1, 0] and t > 5 else found

        monkeypatch.setattr(kind, "__call__", broken)
    with pytest.raises(solve.SimulationError):
        simulate(model, theta[1:2], y0[1:2], compiled=True)
    runs = solve.simulate_cohort(model, theta, y0)
    alone = simulate(model, theta[1:2], y0[1:2], pattern=None)[0]
    assert _worst(kb, model, runs[1], alone) <= 1e-4
    assert all(np.all(np.isfinite(run.states)) for run in runs)


def test_compiled_probe_finds_the_numpy_pattern(
    dosed: tuple[CompiledModel, np.ndarray, np.ndarray],
) -> None:
    """The sparsity probe in one compiled call marks the entries the numpy probe marks."""
    model, theta, y0 = dosed
    cuts = solve.bounds(model)
    found = solve.jacobian_pattern(solve.RightHandSide(model, theta[:1], True), y0[0], cuts)
    expected = solve.jacobian_pattern(solve.RightHandSide(model, theta[:1]), y0[0], cuts)
    assert (found != expected).nnz == 0 and expected.nnz > model.layout.size


def test_cohort_in_two_processes_matches_one(
    dosed: tuple[CompiledModel, np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large model's patients spread over two worker processes (here the dosed model,
    forced onto that path): the same states, in the patients' order, as in one process."""
    model, theta, y0 = dosed
    monkeypatch.setattr(solve, "SPARSE_ABOVE", 10)
    monkeypatch.setattr(solve, "COMPILED_FROM", 2)
    monkeypatch.setattr(solve, "CHUNK", 1)
    done: list[int] = []
    spread = solve.simulate_cohort(model, theta, y0, workers=2, progress=done.append)
    alone = solve.simulate_cohort(model, theta, y0)
    assert done == [1, 2, 3]
    for a, b in zip(spread, alone, strict=True):
        assert np.array_equal(a.times, b.times) and np.array_equal(a.states, b.states)


def test_cohort_in_lanes_matches_a_tight_reference(
    kb: KnowledgeBase,
    dosed: tuple[CompiledModel, np.ndarray, np.ndarray],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Patients in lanes (each on CVODE, right-hand sides and Jacobians evaluated together):
    every readout of the hardest one (four times the uptake, three times the cells) within
    1e-4 of LSODA at rtol 1e-10 through the doses, and its states the same alone as among
    the others, in lanes of any width."""
    model, theta, y0 = dosed
    monkeypatch.setattr(solve, "SPARSE_ABOVE", 10)
    monkeypatch.setattr(solve, "COMPILED_FROM", 2)
    runs = solve.simulate_cohort(model, theta, y0)
    assert _worst(kb, model, runs[2], simulate(model, theta[2:], y0[2:], TIGHT)[0]) <= 1e-4
    cuts = solve.bounds(model)
    pattern = solve.jacobian_pattern(solve.RightHandSide(model, theta[:1]), y0[0], cuts)
    alone = solve._in_lanes(model, theta[2:], y0[2:], solve.DEFAULT, pattern, solve.width(3))
    assert np.array_equal(alone[0].states, runs[2].states)
    # a wider program (a bigger chunk of a sweep): the same states, so a patient's result
    # does not depend on how many patients share its chunk
    wide = solve._in_lanes(model, theta[2:], y0[2:], solve.DEFAULT, pattern, 2 * solve.width(3))
    assert np.array_equal(wide[0].states, runs[2].states)


def test_a_patient_past_its_budget_in_lanes_reruns_alone(
    dosed: tuple[CompiledModel, np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A patient that spends its budget of right-hand sides in lanes (one that crawls) is
    rerun alone on its own compiled programs: the states of that run."""
    model, theta, y0 = dosed
    monkeypatch.setattr(solve, "LANE_BUDGET", 5)
    cuts = solve.bounds(model)
    pattern = solve.jacobian_pattern(solve.RightHandSide(model, theta[:1]), y0[0], cuts)
    runs = solve._in_lanes(model, theta[:2], y0[:2], solve.DEFAULT, pattern, solve.width(2))
    for i, run in enumerate(runs):
        alone = simulate(model, theta[i : i + 1], y0[i : i + 1], pattern=pattern, compiled=True)
        assert np.array_equal(run.states, alone[0].states)
