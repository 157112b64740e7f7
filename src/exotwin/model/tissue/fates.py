"""What becomes of cells at a phenotype step: switching, contact killing, death and division.

Each event happens with probability 1 − exp(−rate·dt) over the step, drawn from the arm's one
random stream in a fixed order, so the same seed gives the same tissue. Dead cells are removed
after PhysiCell's apoptosis and necrosis durations; a daughter takes half its parent's volume
and cargo, and both regrow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from ..rules.parameters import TissueParameters
from ..rules.rows import CompiledModel
from .cells import APOPTOTIC, LIVE, NECROTIC, Cells
from .grid import Grid
from .phenotype import Behaviour
from .units import MIN_PER_DAY

Float = NDArray[np.float64]
Mask = NDArray[np.bool_]


@dataclass
class Tally:
    """Counts since the start, for readouts: cells killed by each drug, divisions, deaths."""

    killed: dict[str, float] = field(default_factory=dict)
    divisions: int = 0
    apoptoses: int = 0
    necroses: int = 0


def _chance(rng: np.random.Generator, rate: Float, dt: float) -> Mask:
    """Whether each event of ``rate`` (1/min) happens within ``dt`` min."""
    return rng.random(len(rate)) < -np.expm1(-rate * dt)


class Fates:
    """Applies one phenotype step's behaviour to the cells, drawing from ``rng``."""

    def __init__(
        self,
        rng: np.random.Generator,
        k: TissueParameters,
        model: CompiledModel,
        grid: Grid,
        dimensions: int,
        next_id: int,
    ) -> None:
        self.rng, self.k, self.model, self.grid = rng, k, model, grid
        self.dimensions = dimensions
        self.theta = model.parameters.values
        self.next_id = next_id  # the id of the next daughter
        self.tally = Tally()

    def switch(self, cells: Cells, rates: Behaviour, alive: Mask, dt: float) -> None:
        """Cells change population with probability 1 - exp(-rate dt), destination by rate."""
        if not rates.destinations:
            return
        n = len(cells)
        switch = alive & _chance(self.rng, rates.switching, dt)
        u = self.rng.random(n) * rates.switching
        new = cells.population.copy()
        chosen = np.zeros(n, dtype=bool)
        cumulative = np.zeros(n)
        for members, rate, dest in rates.destinations:
            cumulative[members] += rate
            pick = members[switch[members] & ~chosen[members] & (u[members] < cumulative[members])]
            new[pick] = dest
            chosen[pick] = True
        cells.population = new

    def kill_by_contact(
        self, cells: Cells, killing: Float, alive: Mask, dt: float, time: float
    ) -> None:
        """Killer cells (T, NK) kill a killable neighbour at their rule-modulated rate."""
        killers = self.model.rows.cells.killers
        if not killers:
            return
        tree = cKDTree(cells.position)
        reach = 2.0 * self.k.adhesion_reach * float(cells.radius.max())
        for row in killers:
            killable = np.isin(np.arange(len(self.model.populations)), row.victims)
            hunters = np.flatnonzero((cells.population == row.killer) & alive)
            if not len(hunters):
                continue
            rate = self.theta[row.rate] / MIN_PER_DAY * killing[hunters]
            strike = hunters[_chance(self.rng, rate, dt)]
            for h in strike:  # few per step: killing is rare relative to cells
                near = [
                    j
                    for j in tree.query_ball_point(cells.position[h], reach)
                    if killable[cells.population[j]] and cells.phase[j] == LIVE
                ]
                if near:
                    victim = near[int(self.rng.integers(len(near)))]
                    cells.phase[victim] = APOPTOTIC
                    cells.dead_since[victim] = time
                    self.tally.apoptoses += 1

    def die(
        self,
        cells: Cells,
        rates: Behaviour,
        drug_rates: dict[str, Float],
        oxygen: Float | None,
        alive: Mask,
        dt: float,
        time: float,
    ) -> Mask:
        """Necrosis (at low ``oxygen``, mmHg), then apoptosis; returns who is still alive.

        With oxygen, growth slows in hypoxia (``rates.growth`` is scaled in place).
        """
        if oxygen is not None:
            k = self.k
            hyp, sat, anox = k.oxygen_hypoxic, k.oxygen_saturation, k.oxygen_anoxic
            rates.growth = rates.growth * np.clip((oxygen - hyp) / (sat - hyp), 0.0, 1.0)
            necrosis = k.necrosis_max_rate * np.clip((hyp - oxygen) / (hyp - anox), 0.0, 1.0)
            necrotic = alive & _chance(self.rng, necrosis, dt)
            cells.phase[necrotic] = NECROTIC
            cells.dead_since[necrotic] = time
            self.tally.necroses += int(necrotic.sum())
            alive = alive & ~necrotic
        dies = alive & _chance(self.rng, rates.death, dt)
        if drug_rates:  # deaths are shared among causes in proportion to their rates
            total = np.maximum(rates.death, 1e-300)
            for name, rate in drug_rates.items():
                self.tally.killed[name] = self.tally.killed.get(name, 0.0) + float(
                    (dies * rate / total).sum()
                )
        cells.phase[dies] = APOPTOTIC
        cells.dead_since[dies] = time
        self.tally.apoptoses += int(dies.sum())
        return alive & ~dies

    def divide_and_remove(
        self, cells: Cells, growth: Float, free: Mask, alive: Mask, dt: float, time: float
    ) -> tuple[Cells, NDArray[np.int64]]:
        """Division of live ``free`` cells, regrowth, removal of the long dead.

        Returns the new cells and, for each, its row before (a daughter: its parent's).
        """
        n, k = len(cells), self.k
        divides = alive & free & _chance(self.rng, growth, dt)
        # regrow towards the target volume, then divide the chosen cells
        recover = -np.expm1(-k.volume_recovery * dt)
        cells.volume += (cells.target_volume - cells.volume) * recover
        gone = ((cells.phase == APOPTOTIC) & (time - cells.dead_since >= k.apoptosis_duration)) | (
            (cells.phase == NECROTIC) & (time - cells.dead_since >= k.necrosis_duration)
        )
        parents = np.flatnonzero(divides)
        self.tally.divisions += len(parents)
        if len(parents):
            cells = self._divide(cells, parents)
        origin = np.concatenate([np.arange(n), parents])
        if gone.any():
            keep = np.concatenate([~gone, np.ones(len(parents), dtype=bool)])
            cells = cells.take(keep)
            origin = origin[keep]
        return cells, origin

    def _divide(self, cells: Cells, parents: NDArray[np.int64]) -> Cells:
        dims = self.dimensions
        direction = self.rng.standard_normal((len(parents), 3))
        if dims == 2:
            direction[:, 2] = 0.0
        direction /= np.maximum(np.linalg.norm(direction, axis=1, keepdims=True), 1e-12)
        cells.volume[parents] *= 0.5
        cells.internal[parents] *= 0.5
        offset = direction * (0.2073 * cells.radius[parents])[:, None]  # PhysiCell's placement
        daughters = cells.take(parents)
        cells.position[parents] -= offset
        daughters.position += offset
        lower, upper = np.array(self.grid.lower), np.array(self.grid.upper)
        daughters.position = np.clip(daughters.position, lower, np.nextafter(upper, lower))
        if dims == 2:
            daughters.position[:, 2] = 0.0
        daughters.ident = np.arange(self.next_id, self.next_id + len(parents), dtype=np.int64)
        self.next_id += len(parents)
        return cells.extend(daughters)
