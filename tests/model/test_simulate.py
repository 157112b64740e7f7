"""Integration: conservation, determinism, divergence reported with time and variables."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model.ode import solve as solve_module
from exotwin.model.ode.solve import SimulationError, simulate_arm
from exotwin.model.rules.compiler import compile_arm
from exotwin.model.rules.library import Library
from exotwin.model.scenario.load import load_scenario
from exotwin.model.scenario.run import run_scenario

from .conftest import SMALL_SCENARIO, write


def test_transitions_conserve_fibroblasts(kb: KnowledgeBase, lib: Library, tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, SMALL_SCENARIO), kb, lib)
    result = run_scenario(kb, lib, scenario)
    fibroblasts = result.readouts["exosomes"]["fibroblasts"]  # NF + CAF, no growth or death
    assert np.allclose(fibroblasts, fibroblasts[0], rtol=1e-5)
    assert result.readouts["exosomes"]["caf_fraction"][-1] > 0.0
    assert result.readouts["no-release"]["caf_fraction"][-1] == 0.0
    assert result.passed


def test_same_input_same_output(kb: KnowledgeBase, lib: Library, tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, SMALL_SCENARIO), kb, lib)
    a = run_scenario(kb, lib, scenario, seed=1)
    b = run_scenario(kb, lib, scenario, seed=1)
    assert np.array_equal(a.trajectories["exosomes"].states, b.trajectories["exosomes"].states)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_names_time_and_variables(
    kb: KnowledgeBase, lib: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = load_scenario(write(tmp_path, SMALL_SCENARIO), kb, lib)
    model = compile_arm(kb, lib, scenario, scenario.arms[0])
    original = solve_module.RightHandSide.__call__

    def exploding(self: object, t: float, y: np.ndarray) -> np.ndarray:
        dy = original(self, t, y)  # type: ignore[arg-type]
        if t > 3.0:
            dy[0] = np.inf
        return dy

    monkeypatch.setattr(solve_module.RightHandSide, "__call__", exploding)
    with pytest.raises(SimulationError) as info:
        simulate_arm(model)
    message = str(info.value)
    assert "scenario 'small-caf', arm 'exosomes'" in message
    assert "at day 3." in message or "at day 4" in message or "at day" in message
    assert "cells bc_tnbc@tumour" in message


def test_divergence_before_the_first_output_is_a_typed_error(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """scipy leaves ``y`` an empty list when a solve fails before its first output time."""
    scenario = load_scenario(write(tmp_path, SMALL_SCENARIO), kb, lib)
    model = compile_arm(kb, lib, scenario, scenario.arms[0])
    failed = SimpleNamespace(t=np.array([]), y=[], message="Required step size is too small")
    error = solve_module._diverged(model, failed, 0.0, 2.0, 1)
    assert isinstance(error, SimulationError)
    assert "failed between day 0 and 2 at day 0 (Required step size" in str(error)


def test_coloured_jacobian_matches_column_by_column_differences(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """A small model's dense Jacobian, one right-hand side per colour, is the plain forward
    difference; given f(t, y) (as CVODE gives it) it spends none at the point."""
    scenario = load_scenario(write(tmp_path, SMALL_SCENARIO), kb, lib)
    model = compile_arm(kb, lib, scenario, scenario.arms[0])
    theta = solve_module.nominal(model)
    rhs = solve_module.RightHandSide(model, theta)
    y = solve_module.starting_state(model, theta)[0] * 1.3 + 10.0
    atol = solve_module.tolerances(model.layout, y)
    pattern = solve_module.jacobian_pattern(rhs, y, [0.0, scenario.duration])
    coloured = solve_module.ColouredJacobian(rhs, pattern, atol)
    assert len(coloured.groups) < model.layout.size  # fewer right-hand sides than columns
    jac = coloured(2.0, y)
    base = rhs(2.0, y)
    for j in range(model.layout.size):
        probe = y.copy()
        step = solve_module.FD_STEP * max(abs(y[j]), atol[j])
        probe[j] += step
        column = (rhs(2.0, probe) - base) / step
        assert np.allclose(jac[:, j], column, rtol=1e-6, atol=1e-9 * np.abs(column).max())
    rhs.budget = [len(coloured.groups)]  # one right-hand side per colour, none at the point
    assert np.array_equal(coloured(2.0, y, base), jac)
    assert rhs.budget == [0]


def test_daily_doses_cost_no_restart_in_a_non_stiff_mode(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """A single run integrates each segment between doses with CVODE's BDF (stiff from its
    first step), not LSODA, which restarted every segment in its non-stiff Adams mode: ~40
    steps of ~5e-4 days after each dose. Four weeks of daily tamoxifen (46 variables) took
    LSODA 11,576 right-hand sides, the Jacobians' included; CVODE 4,503."""
    from exotwin.model.scenario.load import packaged_scenarios

    text = packaged_scenarios()["uca1-tamoxifen-resistance-in-vivo"].read_text(encoding="utf-8")
    text = text.replace("doses: 84", "doses: 28").replace("duration: 84", "duration: 28")
    text = text.replace("day: 56", "day: 28").replace("day: 84", "day: 28")
    scenario = load_scenario(write(tmp_path, text), kb, lib)
    model = compile_arm(kb, lib, scenario, scenario.arms[0])
    assert len(model.rows.events) == 28
    budget = [10**9]
    solve_module.simulate(model, budget=budget)
    assert 10**9 - budget[0] < 7_000
