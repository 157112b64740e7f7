"""Cell mechanics: PhysiCell potentials, cell-list search, relaxation, motility, determinism."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from numpy.typing import NDArray

from exotwin.model.tissue import mechanics as mech
from exotwin.model.tissue.mechanics import (
    SIMPLE_PRESSURE_SCALE,
    CellList,
    advance,
    bin_size_for,
    division_offsets,
    mechanics_velocity,
    motility_velocity,
    neighbour_pairs,
    pressure,
)

REACH = 1.25
LOWER = (0.0, 0.0, 0.0)


def _velocity(
    positions: NDArray[np.float64],
    radius: NDArray[np.float64],
    repulsion: NDArray[np.float64] | None = None,
    adhesion: NDArray[np.float64] | None = None,
    alive: NDArray[np.bool_] | None = None,
    upper: tuple[float, float, float] = (100.0, 100.0, 100.0),
    dimensions: int = 3,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    n = positions.shape[0]
    repulsion = np.full(n, 10.0) if repulsion is None else repulsion
    adhesion = np.full(n, 0.4) if adhesion is None else adhesion
    alive = np.ones(n, bool) if alive is None else alive
    cells = CellList.build(positions, LOWER, upper, bin_size_for(radius.max(), REACH), dimensions)
    v = np.full((n, 3), np.nan)
    p = np.full(n, np.nan)
    mechanics_velocity(
        positions, radius, repulsion, adhesion, REACH, alive, cells, dimensions, v, pressure_out=p
    )
    return v, p


def _physicell(d: float, r: float, rep: float, adh: float) -> float:
    """Speed of cell i away from cell j at distance d (both radius r), PhysiCell's formula."""
    big_r, s = 2 * r, REACH * 2 * r
    push = rep * (1 - d / big_r) ** 2 if d < big_r else 0.0
    pull = adh * (1 - d / s) ** 2 if d < s else 0.0
    return push - pull


def test_pair_potentials_match_physicell() -> None:
    r = np.array([10.0, 10.0])
    rep = np.array([10.0, 2.5])  # effective √(10·2.5) = 5
    adh = np.array([0.4, 0.9])  # effective √(0.4·0.9) = 0.6
    for d, sign in ((15.0, 1.0), (22.0, -1.0), (26.0, 0.0)):
        x = np.array([[40.0, 50.0, 50.0], [40.0 + d, 50.0, 50.0]])
        v, p = _velocity(x, r, rep, adh)
        expected = _physicell(d, 10.0, 5.0, 0.6)
        assert np.sign(expected) == sign
        # cell 0 sits at lower x: it moves by -expected along x, cell 1 by +expected
        np.testing.assert_allclose(v[0], [-expected, 0.0, 0.0], rtol=1e-12, atol=1e-15)
        np.testing.assert_array_equal(v[0], -v[1])  # equal and opposite, exactly
        overlap = max(0.0, 1 - d / 20.0) ** 2 / SIMPLE_PRESSURE_SCALE
        np.testing.assert_allclose(p, [overlap, overlap], rtol=1e-12)
    # along a diagonal, with unequal radii: direction (x_i - x_j)/d
    x = np.array([[30.0, 30.0, 30.0], [36.0, 38.0, 30.0]])  # d = 10
    v, _ = _velocity(x, np.array([4.0, 8.0]))
    mag = 10.0 * (1 - 10 / 12) ** 2 - 0.4 * (1 - 10 / 15) ** 2
    np.testing.assert_allclose(v[0], -mag * np.array([0.6, 0.8, 0.0]), rtol=1e-12)
    np.testing.assert_allclose(v.sum(axis=0), 0.0, atol=1e-15)
    # a dead partner neither pushes nor is pushed
    x = np.array([[40.0, 50.0, 50.0], [50.0, 50.0, 50.0]])
    v, p = _velocity(x, np.array([10.0, 10.0]), alive=np.array([True, False]))
    np.testing.assert_array_equal(v, 0.0)
    np.testing.assert_array_equal(p, 0.0)


def _brute_pairs(x: NDArray[np.float64], cutoff: float) -> set[tuple[int, int]]:
    d = np.linalg.norm(x[:, None, :] - x[None, :, :], axis=-1)
    i, j = np.nonzero(np.triu(d < cutoff, k=1))
    return set(zip(i.tolist(), j.tolist(), strict=True))


def _brute_velocity(
    x: NDArray[np.float64], r: NDArray[np.float64], rep: float, adh: float
) -> NDArray[np.float64]:
    diff = x[:, None, :] - x[None, :, :]
    d = np.linalg.norm(diff, axis=-1)
    big_r = r[:, None] + r[None, :]
    push = np.where(d < big_r, rep * (1 - d / big_r) ** 2, 0.0)
    s = REACH * big_r
    pull = np.where(d < s, adh * (1 - d / s) ** 2, 0.0)
    d[d < 1e-9] = np.inf  # itself and coincident cells: no direction, skipped
    return np.einsum("ij,ijk->ik", (push - pull) / d, diff)


@pytest.mark.parametrize("dimensions", [2, 3])
def test_cell_list_finds_the_brute_force_pairs(dimensions: int) -> None:
    rng = np.random.default_rng(7)
    upper = (200.0, 150.0, 120.0)
    n = 700
    x = rng.uniform(LOWER, upper, size=(n, 3))
    x[:40, :] = rng.choice([0.0, 1.0], size=(40, 3)) * upper  # box corners
    x[40:80, 0] = upper[0]  # on the upper face (binned into the last bin)
    x[80:100, 1] = -0.5  # slightly outside, into the edge bin
    if dimensions == 2:
        x[:, 2] = 0.0
    r = rng.uniform(3.0, 9.0, n)
    cells = CellList.build(x, LOWER, upper, bin_size_for(r.max(), REACH), dimensions)
    assert sorted(cells.order.tolist()) == list(range(n))
    assert cells.start[0] == 0 and cells.start[-1] == n and np.all(np.diff(cells.start) >= 0)
    assert (cells.shape[0] == 1) == (dimensions == 2)
    nz, ny, nx = cells.shape
    b = np.clip(np.floor((x - LOWER) / cells.edge), 0, [nx - 1, ny - 1, nz - 1]).astype(int)
    flat = (b[:, 2] * ny + b[:, 1]) * nx + b[:, 0]
    np.testing.assert_array_equal(cells.order, np.argsort(flat, kind="stable"))
    cutoff = cells.reach
    found = {(int(i), int(j)) for i, j in neighbour_pairs(x, cells, cutoff, dimensions)}
    expected = _brute_pairs(x, cutoff)
    assert len(expected) > 100
    assert found == expected
    # the velocity kernel's own search: same sums as all-pairs
    v, _ = _velocity(x, r, upper=upper, dimensions=dimensions)
    np.testing.assert_allclose(v, _brute_velocity(x, r, 10.0, 0.4), rtol=1e-9, atol=1e-12)


def test_bins_smaller_than_the_interaction_distance_are_refused() -> None:
    x = np.zeros((2, 3))
    huge = CellList.build(x, LOWER, (1e5, 1e5, 1e5), 1.0, 3)  # 10^15 bins asked
    assert np.prod(huge.shape) <= 1 << 22 and huge.reach >= 1.0
    cells = CellList.build(x, LOWER, (100.0, 100.0, 100.0), 10.0, 3)
    with pytest.raises(ValueError, match="bin"):
        mechanics_velocity(
            x, np.full(2, 5.0), np.ones(2), np.ones(2), REACH, np.ones(2, bool), cells, 3,
            np.zeros((2, 3)),
        )  # fmt: skip


def test_compressed_cluster_relaxes_and_stays_in_the_box() -> None:
    rng = np.random.default_rng(3)
    n, r = 80, 8.0
    upper = (120.0, 120.0, 120.0)
    x = np.array([10.0, 60.0, 60.0]) + rng.normal(0.0, 6.0, (n, 3))  # pressed against x = 0
    x = np.clip(x, LOWER, upper)
    radius, rep, adh = np.full(n, r), np.full(n, 10.0), np.full(n, 0.4)
    alive = np.ones(n, bool)
    v, previous, p = np.zeros((n, 3)), np.zeros((n, 3)), np.zeros(n)
    size = bin_size_for(r, REACH)

    def min_distance() -> float:
        d = np.linalg.norm(x[:, None] - x[None], axis=-1)
        np.fill_diagonal(d, np.inf)
        return float(d.min())

    assert min_distance() < 0.3 * 2 * r
    p0 = None
    for _ in range(1500):
        cells = CellList.build(x, LOWER, upper, size, 3)
        mechanics_velocity(x, radius, rep, adh, REACH, alive, cells, 3, v, pressure_out=p)
        p0 = p.max() if p0 is None else p0
        advance(x, v, previous, 0.1, LOWER, upper, radius, 3)
    assert min_distance() > 0.85 * 2 * r
    assert p.max() < 0.2 * p0
    assert np.all(x >= r - 1e-12) and np.all(x <= np.array(upper) - r + 1e-12)
    cells = CellList.build(x, LOWER, upper, size, 3)
    mechanics_velocity(x, radius, rep, adh, REACH, alive, cells, 3, v, pressure_out=p)
    np.testing.assert_array_equal(pressure(x, radius, alive, cells, 3), p)


def test_chemotaxis_moves_cells_up_the_gradient_at_speed() -> None:
    rng = np.random.default_rng(11)
    n = 6
    gradient = rng.normal(size=(n, 3)) * np.arange(1, n + 1)[:, None]
    speed = np.linspace(0.5, 3.0, n)
    draws = rng.normal(size=(n, 3))
    upper = (1e4, 1e4, 1e4)
    x = np.full((n, 3), 5e3)
    x0 = x.copy()
    v, previous = np.zeros((n, 3)), np.zeros((n, 3))
    motility_velocity(draws, speed, np.ones(n), gradient, 3, v)
    unit = gradient / np.linalg.norm(gradient, axis=1)[:, None]
    np.testing.assert_allclose(v, speed[:, None] * unit, rtol=1e-12)
    previous[:] = v
    for _ in range(100):
        advance(x, v, previous, 0.1, LOWER, upper, np.full(n, 5.0), 3)
    np.testing.assert_allclose(x - x0, 10.0 * speed[:, None] * unit, atol=1e-9)
    # no bias: a random direction at speed; zero speed: nothing at all
    v = np.zeros((n, 3))
    motility_velocity(draws, speed, np.zeros(n), gradient, 3, v)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), speed, rtol=1e-12)
    np.testing.assert_allclose(v / speed[:, None], draws / np.linalg.norm(draws, axis=1)[:, None])
    v = np.zeros((n, 3))
    motility_velocity(draws, np.zeros(n), np.zeros(n), gradient, 3, v)
    np.testing.assert_array_equal(v, 0.0)
    # partial bias, PhysiCell's blend: unit((1 - b) random + b gradient)
    v = np.zeros((n, 3))
    motility_velocity(draws, speed, np.full(n, 0.3), gradient, 3, v)
    blend = 0.7 * draws / np.linalg.norm(draws, axis=1)[:, None] + 0.3 * unit
    blend /= np.linalg.norm(blend, axis=1)[:, None]
    np.testing.assert_allclose(v, speed[:, None] * blend, rtol=1e-12)


def test_advance_is_adams_bashforth_2_and_clamps_to_the_box() -> None:
    x = np.array([[50.0, 50.0, 7.0], [50.0, 50.0, 7.0], [95.0, 3.0, 50.0]])
    v = np.array([[1.0, -2.0, 3.0], [0.0, 0.0, 0.0], [100.0, -100.0, 0.0]])
    previous = np.array([[3.0, 2.0, 1.0], [4.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    radius = np.full(3, 5.0)
    advance(x, v, previous, 0.5, LOWER, (100.0, 100.0, 100.0), radius, 3)
    np.testing.assert_allclose(
        x[0], [50.0 + 0.5 * (1.5 - 1.5), 50.0 + 0.5 * (-3.0 - 1.0), 7.0 + 0.5 * (4.5 - 0.5)]
    )
    np.testing.assert_allclose(x[1], [49.0, 50.0, 7.0])
    np.testing.assert_allclose(x[2], [95.0, 5.0, 50.0])  # clamped to [r, 100 - r]
    np.testing.assert_array_equal(previous, v)


def _run(
    dimensions: int, steps: int, seed: int = 5, parallel: bool | None = True
) -> NDArray[np.float64]:
    rng = np.random.default_rng(seed)
    n = 3000
    upper = (400.0, 400.0, 400.0 if dimensions == 3 else 20.0)
    x = rng.uniform((100.0, 100.0, 100.0), (300.0, 300.0, 300.0), (n, 3))
    if dimensions == 2:
        x[:, 2] = 0.0
    radius = rng.uniform(6.0, 9.0, n)
    rep, adh = rng.uniform(5.0, 15.0, n), rng.uniform(0.2, 0.6, n)
    alive = rng.random(n) > 0.05
    speed, bias = np.full(n, 0.5), np.full(n, 0.4)
    gradient = np.tile([1.0, -2.0, 3.0], (n, 1))
    v, previous = np.zeros((n, 3)), np.zeros((n, 3))
    size = bin_size_for(radius.max(), REACH)
    for _ in range(steps):
        cells = CellList.build(x, LOWER, upper, size, dimensions)
        mechanics_velocity(
            x, radius, rep, adh, REACH, alive, cells, dimensions, v, parallel=parallel
        )
        motility_velocity(rng.normal(size=(n, 3)), speed, bias, gradient, dimensions, v)
        advance(x, v, previous, 0.1, LOWER, upper, radius, dimensions)
    return x


def test_same_inputs_give_bit_identical_positions_for_any_thread_count() -> None:
    first = _run(3, 25)
    np.testing.assert_array_equal(_run(3, 25), first)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        single = _run(3, 25)
    finally:
        numba.set_num_threads(threads)
    assert np.array_equal(single, first)
    assert np.array_equal(_run(3, 25, parallel=False), first)
    assert not np.array_equal(_run(3, 25, seed=6), first)


def test_two_dimensional_cells_stay_in_the_plane() -> None:
    x = _run(2, 30)
    assert np.all(x[:, 2] == 0.0)
    assert np.ptp(x[:, 0]) > 210.0 and np.ptp(x[:, 1]) > 210.0  # spread from 200 µm
    # z is ignored in 2D, whatever the caller leaves there
    x = np.array([[50.0, 50.0, 0.0], [60.0, 50.0, 30.0]])
    v, _ = _velocity(x, np.full(2, 8.0), dimensions=2)
    assert v[1, 0] > 0.0 and np.all(v[:, 1:] == 0.0)
    draws = np.random.default_rng(4).normal(size=(20, 3))
    v = np.zeros((20, 3))
    motility_velocity(draws, np.full(20, 2.0), np.zeros(20), np.ones((20, 3)), 2, v)
    assert np.all(v[:, 2] == 0.0)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 2.0)
    offsets = division_offsets(np.random.default_rng(1), 50, np.full(50, 8.0), 2)
    assert np.all(offsets[:, 2] == 0.0)


def test_division_offsets_are_reproducible_and_physicell_sized() -> None:
    r = np.linspace(5.0, 10.0, 40)
    a = division_offsets(np.random.default_rng(2), 40, r, 3)
    b = division_offsets(np.random.default_rng(2), 40, r, 3)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), mech.DIVISION_OFFSET * r)
    assert abs(a[:, 2]).max() > 0.0


def _relax_with_lists(skin: float, n: int, steps: int = 12) -> tuple[NDArray[np.float64], int]:
    """Cells relaxed by :class:`~.mechanics.Neighbours`; returns positions and list builds."""
    rng = np.random.default_rng(7)
    upper = (300.0, 300.0, 300.0)
    x = rng.uniform(100.0, 200.0, (n, 3))
    radius = rng.uniform(6.0, 9.0, n)
    rep, adh, alive = np.full(n, 2.0), np.full(n, 0.4), rng.random(n) > 0.05  # ≤ 0.3 µm a step
    neighbours = mech.Neighbours(LOWER, upper, 3, REACH, skin)
    neighbours.reset(radius, rep, adh, alive)
    v, previous = np.zeros((n, 3)), np.zeros((n, 3))
    for _ in range(steps):
        neighbours.velocity(x, v)
        expected, _ = _velocity(x, radius, rep, adh, alive, upper)
        np.testing.assert_allclose(v, expected, rtol=1e-12, atol=1e-12)  # the same pairs
        advance(x, v, previous, 0.1, LOWER, upper, radius, 3)
    return x, neighbours.builds


def test_neighbour_lists_with_a_skin_are_kept_and_give_the_same_velocities() -> None:
    x, builds = _relax_with_lists(2.0, 900)
    _, every_step = _relax_with_lists(0.0, 900)
    assert every_step == 12 and 1 <= builds < 12
    again, _ = _relax_with_lists(2.0, 900)
    np.testing.assert_array_equal(again, x)  # same inputs, same result


def test_position_refresh_is_the_same_threaded_or_not() -> None:
    rng = np.random.default_rng(3)
    n = 3 * mech._CHUNK + 5
    positions, home = rng.normal(size=(n, 3)), rng.normal(size=(n, 3))
    order = rng.permutation(n)
    packed = np.zeros((n, 8))
    packed[:, 6] = rng.random(n) > 0.1  # the dead keep their place
    moved = [
        kernel(p, order, positions, home, True)
        for kernel, p in ((mech._refresh_serial, packed), (mech._refresh_parallel, packed.copy()))
    ]
    live = packed[:, 6] == 1.0
    expected = ((positions[order] - home) ** 2).sum(axis=1)[live].max()
    assert moved[0] == moved[1] == expected


def test_empty_bins_cost_the_list_build_next_to_nothing() -> None:
    """Building the neighbour lists of a few cells in a large box (a well-mixed 1000 µm voxel:
    ~69,000 bins, nearly all empty) costs about what it costs in a box their size: an empty
    bin is skipped before the per-bin kernel is entered, whose array arguments cost reference
    counting per call (it took ~5 ms a build, 100 times the cells' own work). CPU time, best of
    five, so that a loaded machine does not decide it."""
    import time

    rng = np.random.default_rng(0)
    positions = rng.uniform(0.0, 40.0, size=(10, 3))
    radius = np.full(10, 8.4)
    ones, alive = np.ones(10), np.ones(10, bool)

    def cost(upper: float) -> float:
        box = (upper, upper, upper)
        cells = CellList.build(positions, LOWER, box, bin_size_for(8.4, REACH) + 3.0, 3)
        packed = mech._pack(cells.order, positions, radius, ones, ones, alive, True)
        best = np.inf
        for _ in range(5):
            start = time.process_time()
            for _ in range(20):
                mech._lists(packed, cells, REACH, 3.0, 32, False)
            best = min(best, time.process_time() - start)
        return best

    sparse, tight = cost(1000.0), cost(60.0)  # 41^3 bins against 2^3
    assert sparse < 10 * tight + 2e-3, (sparse, tight)
