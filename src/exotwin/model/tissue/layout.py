"""Initial cell positions from a scenario's ``tissue.cells`` placements (seeded)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ...errors import TissueError as TissueError
from ..scenario.schema import CellPlacement, Tissue


def _in_ball(
    rng: np.random.Generator, n: int, dims: int, inner: float, outer: float
) -> NDArray[np.float64]:
    """Uniform points in a disc/ball shell (inner <= r < outer) around the origin."""
    direction = rng.standard_normal((n, dims))
    direction /= np.maximum(np.linalg.norm(direction, axis=1, keepdims=True), 1e-12)
    u = rng.random(n)
    r = (inner**dims + u * (outer**dims - inner**dims)) ** (1.0 / dims)
    return direction * r[:, None]


def place(
    tissue: Tissue, placement: CellPlacement, index: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """Positions (count, 3) of one placement; raises :class:`TissueError` outside the domain."""
    dims = tissue.dimensions
    half = np.array([*tissue.domain, 0.0][:3]) / 2.0
    if dims == 2:
        half[2] = 0.0
    centre = np.array([*placement.centre, 0.0][:3], dtype=float)
    if dims == 2:
        centre[2] = 0.0
    where = f"tissue.cells[{index}]"
    if np.any(np.abs(centre) > half + 1e-9):
        raise TissueError(f"{where}.centre: {placement.centre} lies outside the domain")
    n = placement.count
    pos = np.zeros((n, 3))
    if placement.layout in {"spheroid", "shell"}:
        outer = float(placement.radius or 0.0)
        if np.any(np.abs(centre[:dims]) + outer > half[:dims] + 1e-9):
            raise TissueError(
                f"{where}.radius: a {placement.layout} of radius {outer} µm around "
                f"{placement.centre} reaches outside the domain (half-edges {half[:dims].tolist()})"
            )
        inner = placement.inner_radius if placement.layout == "shell" else 0.0
        pos[:, :dims] = centre[:dims] + _in_ball(rng, n, dims, inner, outer)
    elif placement.layout == "random":
        pos[:, :dims] = rng.uniform(-half[:dims], half[:dims], (n, dims))
        if placement.inner_radius > 0:  # redraw the cells that fall inside the inner radius
            for _ in range(1000):
                inside = np.linalg.norm(pos[:, :dims] - centre[:dims], axis=1) < (
                    placement.inner_radius
                )
                if not inside.any():
                    break
                pos[inside, :dims] = rng.uniform(-half[:dims], half[:dims], (inside.sum(), dims))
            else:
                raise TissueError(f"{where}.inner_radius: leaves no room in the domain")
    else:  # layer
        low, high = placement.x_range or (0.0, 0.0)
        if low < -half[0] - 1e-9 or high > half[0] + 1e-9:
            raise TissueError(
                f"{where}.x_range: [{low}, {high}] µm lies outside the domain "
                f"[{-half[0]}, {half[0]}]"
            )
        pos[:, 0] = rng.uniform(low, high, n)
        pos[:, 1:dims] = rng.uniform(-half[1:dims], half[1:dims], (n, dims - 1))
    return pos
