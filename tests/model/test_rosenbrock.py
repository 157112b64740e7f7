"""The batched Rodas4 integrator against a tight LSODA reference, on every readout."""

from __future__ import annotations

import numpy as np
import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model.ode import solve
from exotwin.model.ode.equations import NUMERIC, Derivative, derive, fluxes
from exotwin.model.ode.solve import SPARSE_ABOVE, Tolerances, simulate, simulate_rosenbrock
from exotwin.model.ode.traced import (
    column_parameters,
    column_right_hand_side,
    parameters,
    right_hand_side,
)
from exotwin.model.rules.compiler import compile_arm
from exotwin.model.rules.library import Library
from exotwin.model.scenario.load import load_scenario
from exotwin.model.scenario.readouts import evaluate, relative_difference

TIGHT = Tolerances(rtol=1e-10, atol_scale=1e-3)
DOSED = ("tnbc-doxorubicin-exosomal-resistance", "doxorubicin-release-inhibitor")


def test_traced_equations_are_the_numeric_ones(kb: KnowledgeBase, lib: Library) -> None:
    """The JAX backend runs the one equation set: the same derivatives as numpy's."""
    import jax

    scenario = load_scenario(DOSED[0], kb, lib)
    model = compile_arm(kb, lib, scenario, next(a for a in scenario.arms if a.name == DOSED[1]))
    theta = np.tile(model.parameters.values, (2, 1)) * [[1.0], [1.5]]
    y = np.random.default_rng(1).random((2, model.layout.size)) * 1e6
    derived = derive(model, NUMERIC, theta)
    expected = Derivative(model.layout.size)(fluxes(model, NUMERIC, derived, 30.0, y))
    with jax.enable_x64(True):
        found = right_hand_side(model, parameters(model, theta), np.full(2, 30.0), y)
        by_column = jax.jit(
            lambda th, t, y: column_right_hand_side(model, column_parameters(model, th), t, y)
        )(theta, np.full(2, 30.0), y)
    assert np.allclose(np.asarray(found), expected, rtol=1e-12, atol=0.0)
    # one fused loop may round differently (a difference of large fluxes): the largest
    # flux's rounding, not the equations, bounds the difference
    scale = np.abs(
        np.concatenate(
            [np.atleast_2d(f.rate) for f in fluxes(model, NUMERIC, derived, 30.0, y)], -1
        )
    ).max()
    assert np.allclose(np.asarray(by_column), expected, rtol=1e-12, atol=1e-14 * scale)


@pytest.mark.parametrize(("name", "arm_name"), [DOSED])
def test_rosenbrock_matches_a_tight_reference(
    kb: KnowledgeBase, lib: Library, name: str, arm_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Patients who differ (doses as events, growth and uptake drawn): every readout within
    1e-4 of LSODA at rtol 1e-10."""
    scenario = load_scenario(name, kb, lib)
    arm = next(a for a in scenario.arms if a.name == arm_name)
    model = compile_arm(kb, lib, scenario, arm)
    assert model.layout.size <= SPARSE_ABOVE and model.rows.events
    names = model.parameters.names
    theta = np.tile(model.parameters.values, (3, 1))
    theta[:, names.index("uptake_max")] *= [0.5, 1.0, 4.0]
    y0 = np.tile(model.initial, (3, 1)) * np.array([0.3, 1.0, 3.0])[:, None]
    fast = simulate_rosenbrock(model, theta, y0)
    reference = simulate(model, theta, y0, TIGHT)
    for a_run, b_run in zip(fast, reference, strict=True):
        assert np.array_equal(a_run.times, b_run.times)
        a, b = evaluate(kb, a_run, scenario.readouts), evaluate(kb, b_run, scenario.readouts)
        for readout in scenario.readouts:
            assert relative_difference(readout, a[readout.name], b[readout.name]) <= 1e-4
    monkeypatch.setattr(solve, "ROSENBROCK_FROM", 2)  # the cohort path takes it from 2 patients
    cohort = solve.simulate_cohort(model, theta, y0)
    assert all(np.array_equal(x.states, y.states) for x, y in zip(cohort, fast, strict=True))
