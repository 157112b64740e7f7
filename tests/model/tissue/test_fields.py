"""Diffusing fields: mass balance, accuracy against analytic solutions, boundaries, bad input."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest

from exotwin.datafiles import ExotwinError
from exotwin.model.tissue.fields import FieldError, FieldSolver
from exotwin.model.tissue.grid import Grid

# 3D: 30 x 45 = 1350 columns per plane, so the z sweep works in two chunks that split a row
GRIDS = {
    "2d": Grid((0.0, 0.0, 0.0), (1, 40, 50), 10.0),
    "3d": Grid((0.0, -50.0, 20.0), (12, 30, 45), 10.0),
}


def _cells(rng: np.random.Generator, grid: Grid, n: int, nf: int) -> tuple[Any, Any, Any]:
    """Random cells: voxel, secretion (amount/min, half of them silent), uptake (µm³/min)."""
    voxel = rng.integers(0, grid.voxels, n)
    secretion = rng.exponential(5.0, (n, nf)) * (rng.random((n, nf)) < 0.5)
    uptake = rng.exponential(300.0, (n, nf))  # comparable to the 1000 µm³ voxel
    return voxel, secretion, uptake


def _outer(grid: Grid) -> Any:
    """Mask of the outer (Dirichlet) voxels: x and y edges, and z faces in 3D."""
    nz, ny, nx = grid.shape
    k, j, i = np.indices(grid.shape)
    mask = (i == 0) | (i == nx - 1) | (j == 0) | (j == ny - 1)
    return mask | (k == 0) | (k == nz - 1) if nz > 1 else mask


# ---------------------------------------------------------------------------- 1. mass balance


@pytest.mark.parametrize("dims", ["2d", "3d"])
def test_mass_is_conserved_to_round_off(dims: str) -> None:
    grid = GRIDS[dims]
    rng = np.random.default_rng(1)
    solver = FieldSolver(
        grid, ["miR-9", "miR-125b", "fast"], [600.0, 40.0, 6000.0], [0.05, 0.0, 0.3], 0.1
    )
    solver.concentration = rng.random(solver.concentration.shape) * 1e-2
    solver.reset_ledger()
    taken = np.zeros(3)
    for _ in range(60):
        taken += solver.step(*_cells(rng, grid, 300, 3)).sum(axis=0)

    led = solver.ledger
    assert (led.secreted > 0).all() and (led.taken_up > 0).all()
    assert led.decayed[0] > 0 and led.decayed[1] == 0 and (led.boundary == 0).all()
    np.testing.assert_allclose(taken, led.taken_up, rtol=1e-12)
    balance = led.initial + led.secreted - led.taken_up - led.decayed
    np.testing.assert_allclose(solver.amount(), balance, rtol=1e-12, atol=0)
    assert solver.concentration.min() >= 0


def test_exchange_is_the_implicit_voxel_source_sink() -> None:
    grid = GRIDS["2d"]
    solver = FieldSolver(grid, ["a"], [100.0], [0.0], 0.5, initial=[2e-3])
    # two cells share voxel 7, one sits in voxel 8
    voxel = np.array([7, 7, 8])
    secretion = np.array([[1.0], [3.0], [0.0]])
    uptake = np.array([[500.0], [1500.0], [4000.0]])
    taken = solver.exchange(voxel, secretion, uptake)
    v, dt = grid.voxel_volume, 0.5
    c7 = (2e-3 + dt * 4.0 / v) / (1 + dt * 2000.0 / v)
    c8 = 2e-3 / (1 + dt * 4000.0 / v)
    flat = solver.concentration.reshape(-1)
    assert flat[7] == pytest.approx(c7, rel=1e-15) and flat[8] == pytest.approx(c8, rel=1e-15)
    np.testing.assert_allclose(taken[:, 0], [500 * c7 * dt, 1500 * c7 * dt, 4000 * c8 * dt])
    assert solver.ledger.secreted[0] == pytest.approx(4.0 * dt)


# ---------------------------------------------------------------------------- 2. accuracy


def _gaussian(grid: Grid, diffusion: float, decay: float, t0: float, t: float) -> Any:
    """The decaying Gaussian, peak 1 at t = 0, started t0 earlier from a point at the centre."""
    d = grid.dimensions
    centre = np.add(grid.lower, np.multiply(grid.shape[::-1], grid.dx) / 2)
    r2 = ((grid.centres() - centre)[..., :d] ** 2).sum(axis=-1)
    spread = (t0 / (t0 + t)) ** (d / 2) * np.exp(-r2 / (4 * diffusion * (t0 + t)))
    return spread * math.exp(-decay * t)


@pytest.mark.parametrize(
    ("shape", "diffusion", "tolerance"),
    [((1, 81, 81), 1000.0, 0.01), ((41, 41, 41), 500.0, 0.015)],
)
def test_decaying_gaussian_is_matched_with_first_order_time_error(
    shape: tuple[int, int, int], diffusion: float, tolerance: float
) -> None:
    grid = Grid((0.0, 0.0, 0.0), shape, 10.0)  # ≥ 4.5 final widths from the centre to the edge
    decay, t0, t = 0.2, 1.0, 1.0
    exact = _gaussian(grid, diffusion, decay, t0, t)
    runs = {}
    for dt in (0.1, 0.05, 0.025):
        solver = FieldSolver(grid, ["exosomes"], [diffusion], [decay], dt)
        solver.concentration[0] = _gaussian(grid, diffusion, decay, t0, 0.0)
        for _ in range(round(t / dt)):
            solver.diffuse()
        runs[dt] = solver.concentration[0].copy()
    error = {dt: np.linalg.norm(u - exact) / np.linalg.norm(exact) for dt, u in runs.items()}
    assert error[0.05] < tolerance  # relative L2 error: 1% in 2D, 1.5% in 3D
    assert error[0.025] < error[0.05] < error[0.1]
    # backward Euler in time: halving dt halves the change (Richardson ratio 2)
    ratio = np.linalg.norm(runs[0.1] - runs[0.05]) / np.linalg.norm(runs[0.05] - runs[0.025])
    assert 1.8 < ratio < 2.2


# ---------------------------------------------------------------------------- 3. boundaries


@pytest.mark.parametrize("dims", ["2d", "3d"])
def test_uniform_field_stays_exactly_uniform(dims: str) -> None:
    solver = FieldSolver(
        GRIDS[dims], ["a", "b"], [2000.0, 1.0], [0.0, 0.05], 0.5, None, [0.37, 1.25]
    )
    for _ in range(40):
        solver.diffuse()
    c = solver.concentration
    assert (c[0] == 0.37).all()
    assert (c[1] == c[1, 0, 0, 0]).all()
    assert c[1, 0, 0, 0] == pytest.approx(1.25 / 1.025**40, rel=1e-13)


@pytest.mark.parametrize("dims", ["2d", "3d"])
def test_dirichlet_field_relaxes_to_the_boundary_value_and_the_ledger_balances(dims: str) -> None:
    grid = GRIDS[dims]
    rng = np.random.default_rng(2)
    solver = FieldSolver(
        grid, ["oxygen", "miR-9"], [5000.0, 100.0], [0.0, 0.01], 0.5, dirichlet=[3.0, None]
    )
    outer = _outer(grid)
    solver.step(*_cells(rng, grid, 50, 2))
    oxygen = solver.concentration[0]
    assert (oxygen[outer] == 3.0).all() and oxygen[~outer].max() < 3.0
    for _ in range(300):
        solver.diffuse()
    np.testing.assert_allclose(solver.concentration[0], 3.0, rtol=1e-6)
    led = solver.ledger
    np.testing.assert_allclose(solver.amount(), led.expected(), rtol=1e-12, atol=0)
    assert led.boundary[0] > 0 and led.boundary[1] == 0


def test_dirichlet_value_can_change_between_steps() -> None:
    grid = GRIDS["3d"]
    solver = FieldSolver(grid, ["drug"], [300.0], [0.01], 0.5)
    outer = _outer(grid)
    for value in (2.0, 0.5):
        solver.set_dirichlet(0, value)
        solver.diffuse()
        assert (solver.concentration[0][outer] == value).all()
    solver.set_dirichlet(0, None)  # no-flux again: only decay changes the amount
    before = solver.amount()[0]
    solver.diffuse()
    assert solver.amount()[0] == pytest.approx(before / 1.005, rel=1e-12)
    assert solver.dirichlet == [None]
    np.testing.assert_allclose(solver.amount(), solver.ledger.expected(), rtol=1e-12)
    with pytest.raises(FieldError, match="field 'drug': dirichlet value must be >= 0"):
        solver.set_dirichlet(0, -1.0)


def test_point_source_with_decay_reaches_the_exponential_steady_state() -> None:
    dx, diffusion, decay, rate = 5.0, 100.0, 0.1, 2.0
    grid = Grid((0.0, 0.0, 0.0), (1, 1, 201), dx)  # a line of voxels
    solver = FieldSolver(grid, ["exosomes"], [diffusion], [decay], 0.1)
    cell = (np.array([100]), np.array([[rate]]), np.zeros((1, 1)))
    for _ in range(1500):  # 150 min = 15 decay times
        solver.step(*cell)
    assert solver.amount()[0] == pytest.approx(rate / decay, rel=1e-5)
    length = math.sqrt(diffusion / decay)
    x = np.abs(np.arange(201) - 100) * dx
    band = (x >= length) & (x <= 4 * length)
    c = solver.concentration[0, 0, 0]
    exact = rate / (2 * dx**2 * math.sqrt(diffusion * decay)) * np.exp(-x / length)
    np.testing.assert_allclose(c[band], exact[band], rtol=0.03)
    slope = np.polyfit(x[band], np.log(c[band]), 1)[0]
    assert -1 / slope == pytest.approx(length, rel=0.02)


@pytest.mark.parametrize("dims", ["2d", "3d"])
def test_gradient_and_sample_of_a_linear_field(dims: str) -> None:
    grid = GRIDS[dims]
    solver = FieldSolver(grid, ["a", "b"], [1.0, 1.0], [0.0, 0.0], 1.0)
    slope = np.array([0.02, -0.01, 0.005 if dims == "3d" else 0.0])
    solver.concentration[1] = 5.0 + grid.centres() @ slope
    rng = np.random.default_rng(4)
    lower, upper = np.array(grid.lower), np.array(grid.upper)
    positions = np.vstack([lower + rng.random((20, 3)) * (upper - lower), lower, upper - 1e-9])
    gradient = solver.gradient(1, positions)
    np.testing.assert_allclose(gradient, np.broadcast_to(slope, gradient.shape), atol=1e-12)
    assert (solver.gradient(0, positions) == 0).all()
    sampled = solver.sample(positions)
    centres = grid.centres().reshape(-1, 3)[grid.voxel_of(positions)]
    assert sampled.shape == (22, 2) and (sampled[:, 0] == 0).all()
    np.testing.assert_allclose(sampled[:, 1], 5.0 + centres @ slope, rtol=1e-14)


# ---------------------------------------------------------------------------- 5. bad input

GOOD: dict[str, Any] = {"diffusion": [100.0, 50.0], "decay": [0.1, 0.0], "dt": 0.01}


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"diffusion": [100.0, 0.0]}, "miR-125b", "diffusion coefficient must be > 0 (got 0.0)"),
        ({"diffusion": [-5.0, 50.0]}, "miR-9", "diffusion coefficient must be > 0"),
        ({"diffusion": [math.nan, 50.0]}, "miR-9", "diffusion coefficient must be > 0"),
        ({"diffusion": [100.0, math.inf]}, "miR-125b", "diffusion coefficient must be > 0"),
        ({"diffusion": [100.0, "fast"]}, "miR-125b", "must be a number"),
        ({"diffusion": [100.0]}, "miR-125b", "expected 2 diffusion coefficients, got 1"),
        ({"decay": [0.1, -0.01]}, "miR-125b", "decay rate must be >= 0"),
        ({"decay": [math.nan, 0.0]}, "miR-9", "decay rate must be >= 0"),
        ({"dt": 0.0}, "miR-9", "time step dt must be > 0"),
        ({"dt": -0.01}, "miR-125b", "time step dt must be > 0"),
        ({"dt": math.nan}, "miR-9", "time step dt must be > 0"),
        ({"dirichlet": [None, -1.0]}, "miR-125b", "dirichlet value must be >= 0"),
        ({"initial": [math.inf, 0.0]}, "miR-9", "initial concentration must be >= 0"),
    ],
)
def test_bad_parameters_raise_a_field_error_naming_the_field(
    change: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(FieldError) as info:
        FieldSolver(GRIDS["2d"], ["miR-9", "miR-125b"], **{**GOOD, **change})
    assert f"'{field}'" in str(info.value) and words in str(info.value)
    assert isinstance(info.value, ExotwinError) and isinstance(info.value, ValueError)


def test_zero_diffusion_message() -> None:
    with pytest.raises(
        FieldError, match=r"^field 'miR-9': diffusion coefficient must be > 0 \(got 0\)$"
    ):
        FieldSolver(GRIDS["2d"], ["miR-9"], [0], [0.0], 0.1)


def test_bad_exchange_raises_and_leaves_the_state_untouched() -> None:
    grid = GRIDS["2d"]
    solver = FieldSolver(
        grid, ["miR-9", "miR-125b"], [100.0, 50.0], [0.0, 0.0], 0.1, None, [1.0, 1.0]
    )
    before = solver.concentration.copy()
    voxel, ok = np.array([0, 1]), np.zeros((2, 2))
    with pytest.raises(FieldError, match="outside the grid"):
        solver.exchange(np.array([0, grid.voxels]), ok, ok)
    with pytest.raises(FieldError, match="field 'miR-125b': cell 1"):
        solver.exchange(voxel, np.array([[1.0, 0.0], [0.0, -1.0]]), ok)
    with pytest.raises(FieldError, match="field 'miR-9': cell 0"):
        solver.exchange(voxel, ok, np.array([[math.nan, 0.0], [0.0, 0.0]]))
    with pytest.raises(FieldError, match=r"\(n, 2\)"):
        solver.exchange(voxel, np.zeros((2, 3)), ok)
    with pytest.raises(FieldError, match="flat indices"):
        solver.sample_at(np.array([-1]))
    assert np.array_equal(solver.concentration, before) and not solver.ledger.secreted.any()
    solver.exchange(np.array([5, 5]), np.ones((2, 2)), ok)  # the work space is still clean
    assert solver.ledger.secreted == pytest.approx([0.2, 0.2])


# ---------------------------------------------------------------------------- 6. determinism


def _run(grid: Grid, parallel: bool) -> list[Any]:
    rng = np.random.default_rng(3)
    solver = FieldSolver(
        grid, ["miR-9", "oxygen"], [500.0, 4000.0], [0.02, 0.1], 0.05, [None, 1.5], [0.0, 1.0],
        parallel=parallel,
    )  # fmt: skip
    taken = [solver.step(*_cells(rng, grid, 400, 2)) for _ in range(15)]
    return [solver.concentration.copy(), np.concatenate(taken), *dataclasses.astuple(solver.ledger)]


@pytest.mark.parametrize("dims", ["2d", "3d"])
def test_same_input_gives_bit_identical_output_parallel_or_not(dims: str) -> None:
    first, *others = (_run(GRIDS[dims], parallel) for parallel in (True, True, False))
    for other in others:
        for a, b in zip(first, other, strict=True):
            assert np.array_equal(a, b)


def test_scaling_a_field_is_booked_in_the_ledger() -> None:
    """A medium change empties an exosome field (scale by 0); the ledger books the amount
    removed as dosed, so the balance still holds."""
    grid = GRIDS["2d"]
    solver = FieldSolver(grid, ["exo", "other"], [600.0, 600.0], [0.1, 0.1], 0.1)
    rng = np.random.default_rng(3)
    solver.concentration = rng.random(solver.concentration.shape) * 1e-2
    solver.reset_ledger()
    solver.step(*_cells(rng, grid, 50, 2))
    kept = solver.amount()[1]
    solver.scale(0, 0.0)
    assert solver.amount()[0] == 0.0 and solver.amount()[1] == kept
    np.testing.assert_allclose(
        solver.amount(), solver.ledger.expected(), rtol=1e-12, atol=1e-9 * kept
    )
