"""The tissue engine: cells and fields advanced on PhysiCell's three clocks.

Every ``dt_diffusion`` cells secrete into and take up from the exosome, oxygen and drug fields,
which then diffuse and decay (:mod:`.environment`, :mod:`.fields`); every ``dt_mechanics``
cells push, adhere and migrate (:mod:`.motion`); every ``dt_phenotype`` each cell's
internalised cargo becomes behaviour through the compiled rules of the scenario arm
(:mod:`.phenotype`), and cells switch, kill, die and divide (:mod:`.fates`). Nothing here knows
a mechanism by name.

Units: µm, minutes, amounts per µm³; the library's rates (per day) are converted here.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from ...knowledge import KnowledgeBase
from ..ode.equations import NUMERIC, derive, time_factors
from ..rules.compiler import compile_arm
from ..rules.library import Library
from ..rules.parameters import TissueParameters
from ..rules.rows import CompiledModel
from ..scenario.schema import (
    Arm,
    CarrierTreatment,
    ExosomeDose,
    Scenario,
    StepIntervention,
    Surgery,
    Tissue,
)
from .cells import Cells
from .environment import OXYGEN, Environment
from .fates import Fates, Tally
from .fields import FieldSolver
from .grid import Grid
from .layout import TissueError, place
from .lifecycle import CellLifecycle
from .motion import Motion
from .phenotype import RuleBook
from .relays import Relays
from .units import MIN_PER_DAY, UM3_PER_ML

__all__ = [
    "MIN_PER_DAY",
    "OXYGEN",
    "UM3_PER_ML",
    "Tally",
    "TissueModel",
    "grid_of",
    "refuse_unsupported",
]

SORT_FROM = 1 << 16  # cells from which the mechanics steps run on a copy sorted in space
MOVED = ("position", "previous_velocity", "internal")  # the columns mechanics steps change
MAX_DIRICHLET_R = 5.0  # D·dt/dx² up to which between-sweep Dirichlet edges stay within ~1 mmHg

Float = NDArray[np.float64]


def grid_of(tissue: Tissue) -> Grid:
    edges = [*tissue.domain, tissue.voxel][:3]
    shape = tuple(round(e / tissue.voxel) for e in edges)
    lower = tuple(-e / 2.0 for e in edges[:2]) + (
        (-edges[2] / 2.0,) if tissue.dimensions == 3 else (-tissue.voxel / 2.0,)
    )
    return Grid(lower=lower, shape=(shape[2], shape[1], shape[0]), dx=tissue.voxel)  # type: ignore[arg-type]


def refuse_unsupported(model: CompiledModel, arm: Arm) -> None:
    """Raise :class:`TissueError` for compiled features the tissue does not simulate: exosome
    decoys, vesicular drug export, the in-vitro IC50 kill of cytotoxic drugs in culture,
    surface display kept by ILV-sorting depletion, drug-induced loading or release."""
    rows, where = model.rows, f"arms[{arm.name}]"
    only = "is not available in the tissue engine (compartment model only)"
    if rows.induced:
        name = rows.drugs[rows.induced[0].drug].name
        raise TissueError(f"{where}: exosome loading or release induced by {name} {only}")
    if rows.signals.decoys:
        ligand = model.cargo[rows.signals.cargo[rows.signals.decoys[0].signals[0]]]
        raise TissueError(f"{where}: a rule's decoy (exosomes occupying {ligand}) {only}")
    for drug in rows.drugs:
        if drug.export >= 0 and drug.exporting.any():
            raise TissueError(f"{where}: vesicular export of {drug.name} (drug_export.yaml) {only}")
        if drug.ic50_kill.any():
            raise TissueError(
                f"{where}: the in-vitro IC50 kill of {drug.name} (a cytotoxic drug given as a "
                f"concentration in culture) {only}"
            )
    contact = {int(rows.signals.cargo[i]) for i, _ in rows.signals.contact}
    for factor in rows.factors.sorting:
        shown = contact & set(factor.rows.tolist())
        if shown:
            raise TissueError(
                f"{where}.interventions: surface display of {model.cargo[min(shown)]} kept by "
                f"ILV-sorting depletion {only}"
            )


class TissueModel:
    """One arm of a scenario with a ``tissue`` section, ready to :meth:`advance`.

    Its parts: :attr:`env` (fields, drugs, doses), :attr:`rules` (behaviour per cell),
    :attr:`fates` (what the behaviour does to cells), :attr:`motion` (mechanics).
    """

    def __init__(
        self, kb: KnowledgeBase, lib: Library, scenario: Scenario, arm: Arm, seed: int = 0
    ) -> None:
        if scenario.tissue is None:
            raise TissueError(f"scenario {scenario.id!r} has no tissue section")
        self.tissue = tissue = scenario.tissue
        self.kb, self.scenario, self.arm = kb, scenario, arm
        for j, item in enumerate(arm.interventions):
            uptake = isinstance(item, StepIntervention) and item.step == "uptake"
            if isinstance(item, CarrierTreatment | Surgery) or uptake:
                raise TissueError(
                    f"arms[{arm.name}].interventions[{j}].type: {item.type} is not available "
                    "in the tissue engine (compartment model only)"
                )
            if isinstance(item, ExosomeDose) and item.compartment != tissue.compartment:
                raise TissueError(  # else it would land in the tissue's own field
                    f"arms[{arm.name}].interventions[{j}].compartment: an exosome dose into "
                    f"{item.compartment} is not available in the tissue (it holds only the "
                    f"{tissue.compartment})"
                )
        self.k = TissueParameters.of(lib, scenario.parameters)
        self.rng = np.random.default_rng(seed)
        self.model: CompiledModel = compile_arm(kb, lib, scenario, arm)
        refuse_unsupported(self.model, arm)
        self.derived = derive(self.model, NUMERIC, self.model.parameters.values)
        self.grid = grid_of(tissue)
        self.time = 0.0  # minutes
        self._check_steps()
        self.env = Environment(lib, self.model, self.derived, tissue, self.k, self.grid)
        self.rules = RuleBook(
            kb,
            lib,
            scenario,
            self.model,
            self.derived,
            self.env.exosome_keys,
            self.k.adhesion_reach,
            Relays(self.model, self.grid, self.k.relay_reach),
        )
        self.lifecycle = CellLifecycle(kb, self.model, self.derived)
        self.motion = Motion(tissue, self.k, self.grid, self.rules.speed)
        self.cells = self._place_cells()
        self.fates = Fates(
            self.rng, self.k, self.model, self.grid, tissue.dimensions, len(self.cells)
        )

    # ------------------------------------------------------------ parts, as the readouts see them

    @property
    def fields(self) -> FieldSolver:
        return self.env.fields

    @property
    def exosome_keys(self) -> list[str]:
        return self.env.exosome_keys

    @property
    def n_exo(self) -> int:
        return self.env.n_exo

    @property
    def drug_names(self) -> list[str]:
        return self.env.drug_names

    @property
    def plasma(self) -> dict[str, float]:
        return self.env.plasma

    @property
    def signal_field(self) -> NDArray[np.int64]:
        """Per rule signal, the exosome field it reads (-1: none)."""
        return self.rules.signal_field

    @property
    def tally(self) -> Tally:
        return self.fates.tally

    @property
    def day(self) -> float:
        return self.time / MIN_PER_DAY

    # ------------------------------------------------------------ set-up

    def _check_steps(self) -> None:
        t = self.tissue
        radius = (3.0 * self.k.cell_volume / (4.0 * math.pi)) ** (1.0 / 3.0)
        if t.dt_mechanics * self.k.cell_repulsion > 0.5 * radius:
            raise TissueError(
                f"tissue.dt_mechanics: {t.dt_mechanics} min lets overlapping cells jump more "
                f"than half a radius per step (repulsion {self.k.cell_repulsion} µm/min, "
                f"radius {radius:.1f} µm); use at most {0.5 * radius / self.k.cell_repulsion:.3g}"
            )
        if t.oxygen:  # Dirichlet edges are applied between LOD sweeps, as in BioFVM
            r = self.k.oxygen_diffusion * t.dt_diffusion / t.voxel**2
            if r > MAX_DIRICHLET_R:
                raise TissueError(
                    f"tissue.dt_diffusion: {t.dt_diffusion} min gives oxygen D·dt/dx² = {r:.3g}; "
                    f"boundary values applied between sweeps stay accurate up to "
                    f"{MAX_DIRICHLET_R:g} (PhysiCell: 2.5); use at most "
                    f"{MAX_DIRICHLET_R * t.voxel**2 / self.k.oxygen_diffusion:.3g} min"
                )
        if t.dt_phenotype > 60.0:
            raise TissueError(
                f"tissue.dt_phenotype: {t.dt_phenotype} min is longer than the 60 min over which "
                "cell rates are taken as constant"
            )
        every = self.scenario.output_every * MIN_PER_DAY / t.dt_phenotype
        if abs(every - round(every)) > 1e-6:
            raise TissueError(
                f"output_every: {self.scenario.output_every} days is not a whole number of "
                f"phenotype steps ({t.dt_phenotype} min)"
            )

    def _place_cells(self) -> Cells:
        positions, populations = [], []
        comp = self.tissue.compartment
        for i, placement in enumerate(self.tissue.cells):
            pop = self.model.population(placement.cell, placement.state, comp)
            if pop is None:
                raise TissueError(f"tissue.cells[{i}]: no population {placement.cell!r}")
            positions.append(place(self.tissue, placement, i, self.rng))
            populations.append(np.full(placement.count, pop.index, dtype=np.int64))
        return Cells.create(
            np.concatenate(positions),
            np.concatenate(populations),
            self.k.cell_volume,
            self.n_exo,
            len(self.model.activities),
        )

    # ------------------------------------------------------------ time stepping

    def advance(self, minutes: float, progress: Callable[[float], None] | None = None) -> None:
        """Run phenotype steps until ``minutes`` more have passed (a whole number of steps);
        ``progress(minutes_done)`` is called after every mechanics step."""
        t = self.tissue
        steps = round(minutes / t.dt_phenotype)
        n_mech = round(t.dt_phenotype / t.dt_mechanics)
        n_diff = round(t.dt_mechanics / t.dt_diffusion)
        fields = self.env.fields
        for step in range(steps):
            self.env.apply_events(self.time, t.dt_phenotype, len(self.cells))
            secretion, uptake = self._phenotype()
            order = self._spatial_order()
            cells = self.cells if order is None else self.cells.take(order)
            if order is not None:
                secretion, uptake = secretion[order], uptake[order]
            self.motion.reset(cells, order)
            for m in range(n_mech):
                voxel = self.grid.voxel_of(cells.position)
                fields.bind(voxel, secretion, uptake, tracked=self.env.n_exo)
                fields.run(n_diff)  # exchange with the cells, decay, diffusion
                fields.add_uptake(cells.internal)
                self.motion.step(cells, fields, voxel, self.rng)
                if progress:
                    progress(step * t.dt_phenotype + (m + 1) * t.dt_mechanics)
            if order is not None:
                for name in MOVED:  # what the mechanics steps change, back in logical order
                    getattr(self.cells, name)[order] = getattr(cells, name)
            self.time += t.dt_phenotype

    def _spatial_order(self) -> NDArray[np.int64] | None:
        """The cells sorted by voxel (stably), when there are enough of them that their
        mechanics and exchange run faster on a copy in that order (neighbours and voxel-mates
        then sit side by side in memory); None below :data:`SORT_FROM` cells."""
        if len(self.cells) < SORT_FROM:
            return None
        return np.argsort(self.grid.voxel_of(self.cells.position), kind="stable")

    def _phenotype(self) -> tuple[Float, Float]:
        """Rules → behaviour per cell; transitions, killing, death, division; new exchange."""
        dt, cells, env = self.tissue.dt_phenotype, self.cells, self.env
        decay = self.model.parameters.values[self.model.rows.exchange.internal_decay] / MIN_PER_DAY
        cells.internal *= math.exp(-decay * dt)
        factors = time_factors(self.model, NUMERIC, self.derived, self.day)
        local = env.fields.sample_at(self.grid.voxel_of(cells.position))
        rates = self.rules.behaviour(cells, local, factors["block"], env.fields, dt)
        alive = cells.alive
        drug_rates = self.rules.drug_kill(cells, local, alive, env.fields)
        for rate in drug_rates.values():
            rates.death += rate
        self.fates.switch(cells, rates, alive, dt)
        self.fates.kill_by_contact(cells, rates.killing, alive, dt, self.time)
        oxygen = local[:, env.oxygen] if env.oxygen is not None else None
        alive = self.fates.die(cells, rates, drug_rates, oxygen, alive, dt, self.time)
        self.motion.reset(cells)
        free = self.motion.pressure(cells) < self.k.contact_inhibition_pressure
        self.cells, origin = self.fates.divide_and_remove(
            cells, rates.growth, free, alive, dt, self.time
        )
        pop, secreting = self.cells.population, rates.secreting[origin]
        release, loading = self.lifecycle.step(self.cells, self.day, dt, factors["loading"])
        rate = self.rules.secretion[pop] * secreting * release * self.cells.alive
        return env.exchange_rates(self.cells, rate, loading)
