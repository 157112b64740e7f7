"""How the engine's cells move each mechanics step: potentials, motility, Adams–Bashforth 2.

Cells push and adhere through PhysiCell's potentials (:class:`~.mechanics.Neighbours`; dead
cells still push until removed). Motile cells add a random walk at their population's speed,
biased up the all-exosomes gradient by ``chemotaxis_bias``. Positions stay inside the box.
Neighbour lists reach :data:`SKIN` µm beyond the interaction distance and are kept until a
cell has moved half of that (or the cells change at a phenotype step): in a packed tissue a
list then serves several mechanics steps instead of one.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ..rules.parameters import TissueParameters
from ..scenario.schema import Tissue
from .cells import Cells
from .fields import FieldSolver
from .grid import Grid
from .mechanics import Neighbours, advance, motility_velocity

SKIN = 2.0  # µm beyond the interaction distance that neighbour lists hold (rebuilt at 1 µm moves)

Float = NDArray[np.float64]


class Motion:
    """The mechanics of one tissue: call :meth:`reset` whenever the cells change."""

    def __init__(self, tissue: Tissue, k: TissueParameters, grid: Grid, speed: Float) -> None:
        self.tissue, self.k, self.grid = tissue, k, grid
        self.speed = speed  # per population, µm/min
        self.neighbours = Neighbours(
            grid.lower, grid.upper, tissue.dimensions, k.adhesion_reach, SKIN
        )
        self._moving = np.zeros(0, dtype=np.int64)
        self._speed = np.zeros(0)
        self._velocity = np.zeros((0, 3))

    def reset(self, cells: Cells, order: NDArray[np.int64] | None = None) -> None:
        """Per-cell constants of the mechanics (sizes, who moves), after a phenotype step.

        ``order`` (if given) is each cell's row in the logical order of which ``cells`` are a
        reordered copy: random draws still go to the moving cells in that order.
        """
        n = len(cells)
        self.neighbours.reset(
            cells.radius,
            np.full(n, self.k.cell_repulsion),
            np.full(n, self.k.cell_adhesion),
            np.ones(n, dtype=np.bool_),  # the dead push too
        )
        speed = self.speed[cells.population] * cells.alive
        moving = np.flatnonzero(speed > 0)
        self._moving = moving if order is None else moving[np.argsort(order[moving])]
        self._speed = speed[self._moving]
        self._velocity = np.zeros((n, 3))

    def pressure(self, cells: Cells) -> Float:
        """PhysiCell's simple pressure of every cell."""
        n = len(cells)
        pressure = np.zeros(n)
        self.neighbours.velocity(cells.position, np.zeros((n, 3)), pressure)
        return pressure

    def step(
        self, cells: Cells, fields: FieldSolver, voxel: NDArray[np.int64], rng: np.random.Generator
    ) -> None:
        """Push, adhere and migrate (up the all-exosomes gradient); Adams-Bashforth step."""
        if not len(cells):
            return
        velocity, moving, dims = self._velocity, self._moving, self.tissue.dimensions
        self.neighbours.velocity(cells.position, velocity)
        if len(moving):
            draws = rng.standard_normal((len(moving), 3))
            gradient = fields.gradient_at(0, voxel[moving])
            bias = np.full(len(moving), self.k.chemotaxis_bias)
            motility_velocity(draws, self._speed, bias, gradient, dims, velocity, moving)
        advance(
            cells.position,
            velocity,
            cells.previous_velocity,
            self.tissue.dt_mechanics,
            self.grid.lower,
            self.grid.upper,
            self.neighbours.radius,
            self.tissue.dimensions,
        )
