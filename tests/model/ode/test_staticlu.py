"""The static-pivot sparse LU that solves CVODE's Newton systems for patients in lanes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import csc_matrix, identity
from scipy.sparse.linalg import spsolve

from exotwin.knowledge import KnowledgeBase
from exotwin.model.ode import lanes, solve, staticlu
from exotwin.model.rules.compiler import compile_arm
from exotwin.model.rules.library import Library
from exotwin.model.scenario.load import load_scenario


def _pattern(size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((size, size)) < 0.08) | np.eye(size, dtype=bool)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_factors_solve_the_newton_system(seed: int) -> None:
    """``(I - gamma J) x = b`` as scipy's pivoting sparse solve finds it, and ``J v``,
    on random patterns (fill-in included)."""
    size, gamma = 60, 0.3
    pattern = _pattern(size, seed)
    lu = staticlu.analyse(pattern)
    rng = np.random.default_rng(seed + 10)
    values = rng.normal(size=len(lu.known))
    jacobian = csc_matrix((values, (lu.rows, lu.cols)), shape=(size, size))
    assert lu.entries > pattern.sum()  # the fill is part of the pattern
    factors, b, x = np.zeros(lu.entries), rng.normal(size=size), np.zeros(size)
    assert staticlu.factor(lu, values, gamma, factors)
    staticlu.solve(lu, factors, b, x)
    expected = spsolve(csc_matrix(identity(size) - gamma * jacobian), b)
    assert np.allclose(x, expected, rtol=1e-10, atol=1e-12)
    product = np.zeros(size)
    staticlu.multiply(values, lu.rows, lu.cols, b, product)
    assert np.allclose(product, jacobian @ b, rtol=1e-12, atol=1e-12)


def test_a_zero_pivot_is_reported() -> None:
    """A pivot that vanishes (here ``1 - gamma J_00 = 0``) is refused, not divided by."""
    pattern = np.eye(3, dtype=bool)
    lu = staticlu.analyse(pattern)
    factors = np.zeros(lu.entries)
    assert not staticlu.factor(lu, np.array([2.0, 1.0, 1.0]), 0.5, factors)
    assert staticlu.factor(lu, np.array([2.0, 1.0, 1.0]), 0.25, factors)


def test_lanes_use_the_static_lu_and_fall_back_to_pivoting(
    kb: KnowledgeBase, lib: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Patients in lanes factor their Newton matrices with the static LU; one whose
    factorisation fails is rerun alone on SuperLU_MT (pivoting): the states of that run."""
    scenario = load_scenario("tnbc-doxorubicin-exosomal-resistance", kb, lib)
    model = compile_arm(kb, lib, scenario, scenario.arms[0])
    theta = np.tile(model.parameters.values, (2, 1))
    y0 = np.tile(model.initial, (2, 1)) * np.array([[1.0], [2.0]])
    pattern = solve.jacobian_pattern(
        solve.RightHandSide(model, theta[:1]), y0[0], solve.bounds(model)
    )
    calls: list[int] = []
    factor = staticlu.factor

    def counted(lu: staticlu.StaticLU, *args: object) -> bool:
        calls.append(1)
        return factor(lu, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(staticlu, "factor", counted)
    solve._in_lanes(model, theta, y0, solve.DEFAULT, pattern, solve.width(2))
    assert calls and lanes.Lane.static_lu
    monkeypatch.setattr(staticlu, "factor", lambda *args: False)
    runs = solve._in_lanes(model, theta, y0, solve.DEFAULT, pattern, solve.width(2))
    for i, run in enumerate(runs):
        alone = solve.simulate(
            model, theta[i : i + 1], y0[i : i + 1], pattern=pattern, compiled=True
        )
        assert np.array_equal(run.states, alone[0].states)


def test_a_newton_iteration_in_lanes_takes_one_triangular_solve(
    kb: KnowledgeBase, lib: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GMRES on the exact factors needs no second solve per Newton iteration: its Krylov step
    is answered without one (the direct solvers' ``2 / (1 + gamrat)`` scaling), so triangular
    solves are about as many as GMRES's products, not twice as many, and the states stay
    within the tolerance's reach of the exact-product runs."""
    from exotwin.model.ode import cvode

    scenario = load_scenario("tnbc-doxorubicin-exosomal-resistance", kb, lib)
    model = compile_arm(kb, lib, scenario, scenario.arms[0])
    theta = np.tile(model.parameters.values, (2, 1))
    y0 = np.tile(model.initial, (2, 1)) * np.array([[1.0], [2.0]])
    pattern = solve.jacobian_pattern(
        solve.RightHandSide(model, theta[:1]), y0[0], solve.bounds(model)
    )
    counts = {"solves": 0, "products": 0}
    triangular, times = staticlu.solve, cvode.Newton.times

    def counted_solve(*args: object) -> None:
        counts["solves"] += 1
        triangular(*args)  # type: ignore[arg-type]

    def counted_times(
        self: cvode.Newton, t: float, y: np.ndarray, yp: np.ndarray, v: np.ndarray, out: np.ndarray
    ) -> None:  # CVODE checks the signature: no *args
        counts["products"] += 1
        times(self, t, y, yp, v, out)

    monkeypatch.setattr(staticlu, "solve", counted_solve)
    monkeypatch.setattr(cvode.Newton, "times", counted_times)
    runs = solve._in_lanes(model, theta, y0, solve.DEFAULT, pattern, solve.width(2))
    assert counts["products"] > 100
    assert counts["solves"] <= 1.05 * counts["products"]
    monkeypatch.setattr(cvode.Newton, "one_solve", False)
    exact = solve._in_lanes(model, theta, y0, solve.DEFAULT, pattern, solve.width(2))
    for run, other in zip(runs, exact, strict=True):
        scale = np.maximum(np.abs(other.states), 1e-3)
        assert np.max(np.abs(run.states - other.states) / scale) < 1e-3
