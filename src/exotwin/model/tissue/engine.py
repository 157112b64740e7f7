"""The tissue engine: cells and fields advanced on PhysiCell's three clocks.

Every ``dt_diffusion`` cells secrete into and take up from the exosome, oxygen and drug fields,
which then diffuse and decay; every ``dt_mechanics`` cells push, adhere and migrate; every
``dt_phenotype`` each cell's internalised cargo becomes behaviour through the compiled rules
of the scenario arm, evaluated by the compartment model's own function
(:func:`~exotwin.model.equations.behaviour_values`): transitions, growth (division),
death, secretion, killing and activities. Nothing here knows a mechanism by name.

Units: µm, minutes, amounts per µm³; the library's rates (per day) are converted here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from ...knowledge import KnowledgeBase
from ..ode.equations import (
    LN2,
    NUMERIC,
    behaviour_values,
    change_amount,
    derive,
    time_factors,
    tumour_volume,
)
from ..rules.compiler import compile_arm
from ..rules.library import Library
from ..rules.parameters import TissueParameters
from ..rules.response import emax
from ..rules.rows import Blocker, CompiledModel
from ..rules.table import (
    ALL_EXOSOMES,
    DRUG_VARS,
    Change,
    Death,
    Growth,
    Killing,
    Secretion,
    Transition,
)
from ..scenario.schema import Arm, CarrierTreatment, Scenario, Surgery, Tissue
from .cells import APOPTOTIC, LIVE, NECROTIC, Cells
from .fields import FieldSolver
from .grid import Grid
from .layout import TissueError, place
from .mechanics import Neighbours, advance, motility_velocity

MIN_PER_DAY = 1440.0
UM3_PER_ML = 1.0e12
OXYGEN = "oxygen"
SKIN = 0.0  # µm beyond the interaction distance that neighbour lists hold
MAX_DIRICHLET_R = 5.0  # D·dt/dx² up to which between-sweep Dirichlet edges stay within ~1 mmHg

Float = NDArray[np.float64]


def grid_of(tissue: Tissue) -> Grid:
    edges = [*tissue.domain, tissue.voxel][:3]
    shape = tuple(round(e / tissue.voxel) for e in edges)
    lower = tuple(-e / 2.0 for e in edges[:2]) + (
        (-edges[2] / 2.0,) if tissue.dimensions == 3 else (-tissue.voxel / 2.0,)
    )
    return Grid(lower=lower, shape=(shape[2], shape[1], shape[0]), dx=tissue.voxel)  # type: ignore[arg-type]


@dataclass
class PopulationRules:
    """Indices into the system's behaviour targets that act on one population."""

    signals: NDArray[np.int64]  # signal indices received by this population
    growth: int = -1
    death: int = -1
    killing: int = -1
    secretion: int = -1
    transitions: list[tuple[int, int]] = field(default_factory=list)  # (target, destination)
    activities: list[tuple[int, int]] = field(default_factory=list)  # (target, activity column)

    @property
    def acts(self) -> bool:
        """Whether any rule signal reaches this population and changes something in it."""
        rates = max(self.growth, self.death, self.killing, self.secretion) >= 0  # -1: none
        return bool(len(self.signals)) and (rates or bool(self.transitions or self.activities))


@dataclass
class Tally:
    """Counts since the start, for readouts: cells killed by each drug, divisions, deaths."""

    killed: dict[str, float] = field(default_factory=dict)
    divisions: int = 0
    apoptoses: int = 0
    necroses: int = 0


class TissueModel:
    """One arm of a scenario with a ``tissue`` section, ready to :meth:`advance`."""

    def __init__(
        self, kb: KnowledgeBase, lib: Library, scenario: Scenario, arm: Arm, seed: int = 0
    ) -> None:
        if scenario.tissue is None:
            raise TissueError(f"scenario {scenario.id!r} has no tissue section")
        self.tissue = tissue = scenario.tissue
        self.kb, self.lib, self.scenario, self.arm = kb, lib, scenario, arm
        for j, item in enumerate(arm.interventions):
            if isinstance(item, CarrierTreatment | Surgery):
                raise TissueError(
                    f"arms[{arm.name}].interventions[{j}].type: {item.type} is not available "
                    "in the tissue engine (compartment model only)"
                )
        self.k = TissueParameters.of(lib, scenario.parameters)
        self.rng = np.random.default_rng(seed)
        self.model: CompiledModel = compile_arm(kb, lib, scenario, arm)
        self.theta = self.model.parameters.values
        self.derived = derive(self.model, NUMERIC, self.theta)
        self.grid = grid_of(tissue)
        self.time = 0.0  # minutes
        self.tally = Tally()
        self._check_steps()
        self._neighbours = Neighbours(
            self.grid.lower, self.grid.upper, tissue.dimensions, self.k.adhesion_reach, SKIN
        )
        self._build_fields()
        self._build_rules()
        self._place_cells()
        self._events = self._schedule()

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

    def _build_fields(self) -> None:
        comp = self.tissue.compartment
        keys = [key for key, c in self.model.pools if c == comp]
        keys = [ALL_EXOSOMES, *sorted(k for k in keys if k != ALL_EXOSOMES)]
        self.exosome_keys = keys
        decay = (
            self.theta[self.model.rows.compartments.culture_decay]
            if comp == "culture"
            else (
                self.theta[self.model.rows.compartments.tissue_decay]
                + self.theta[self.model.rows.compartments.tumour_drainage]
            )
        )
        names = list(keys)
        diffusion: list[float] = []
        decays: list[float] = []
        held: list[float | None] = []
        for _ in keys:
            diffusion.append(self.k.exosome_diffusion)
            decays.append(decay / MIN_PER_DAY)
            held.append(None)
        if self.tissue.oxygen:
            names.append(OXYGEN)
            diffusion.append(self.k.oxygen_diffusion)
            decays.append(self.k.oxygen_decay)
            held.append(self.k.oxygen_boundary)
        self.drug_names = list(self.model.drugs)
        self.plasma = dict.fromkeys(self.drug_names, 0.0)  # µM, the drug the tissue sees outside
        for name in self.drug_names:
            names.append(name)
            diffusion.append(self.k.drug_diffusion)
            decays.append(LN2 / (self.lib.drugs[name].half_life.value * 60.0))
            held.append(None if comp == "culture" else 0.0)
        initial = [self.k.oxygen_boundary if n == OXYGEN else 0.0 for n in names]
        self.fields = FieldSolver(
            self.grid, names, diffusion, decays, self.tissue.dt_diffusion, held, initial
        )
        self.n_exo = len(keys)
        # what each population loads into each exosome field (the all-exosomes field: 1)
        pops = self.model.populations
        self.loading = np.zeros((len(pops), self.n_exo))
        self.loading[:, 0] = 1.0
        rows, pool_key = self.model.rows.pools, {i: k for (k, _), i in self.model.pools.items()}
        for pop, pool, load in zip(
            rows.cargo_pop, rows.cargo_pool, self.derived.pools["load"], strict=True
        ):
            if pool_key[pool] in keys:
                self.loading[pop, keys.index(pool_key[pool])] = load
        self.field_cargo = np.array(
            [self.model.cargo.index(self.model.pool_cargo[k]) for k in keys], dtype=int
        )

    def _build_rules(self) -> None:
        rows, pops = self.model.rows, self.model.populations
        signal_field = []
        for key, _pop in sorted(self.model.signals, key=lambda k: self.model.signals[k]):
            signal_field.append(self.exosome_keys.index(key) if key in self.exosome_keys else -1)
        self.signal_field = np.array(signal_field, dtype=int)
        self.rules: list[PopulationRules] = []
        for p in range(len(pops)):
            self.rules.append(PopulationRules(np.flatnonzero(rows.signals.pop == p)))
        kinds = {Growth: "growth", Death: "death", Killing: "killing", Secretion: "secretion"}
        for i, target in enumerate(rows.rules.targets):
            match target:
                case Transition(source, dest):
                    self.rules[source].transitions.append((i, dest))
                case Growth(pop) | Death(pop) | Killing(pop) | Secretion(pop):
                    setattr(self.rules[pop], kinds[type(target)], i)
        for column, t in enumerate(rows.behaviour.activity_target):
            if t >= 0:
                pop = next(p for (_, p), c in self.model.activities.items() if c == column)
                self.rules[pop].activities.append((int(t), column))
        # per drug, the EC50 multiplier of each population (0: the drug does not kill it)
        self.drug_scale = {}
        for drug in rows.drugs:
            scale = np.zeros(len(pops))
            fold = self.theta[drug.param["resistance_fold"]]
            scale[drug.kill_pop] = np.where(drug.kill_resistant, fold, 1.0)
            self.drug_scale[drug.name] = scale
        # base per-population rates, per minute
        self.growth = self.derived.cells["growth"] / MIN_PER_DAY
        self.death = self.derived.cells["death"] / MIN_PER_DAY
        self.secretion = self.derived.cells["secretion"] / MIN_PER_DAY
        self.speed = np.array(
            [
                self.lib.value(entry.speed, self.scenario.parameters)
                if (entry := self.lib.behaviour_of(self.kb, p.cell)).speed
                else 0.0
                for p in pops
            ]
        )

    def _place_cells(self) -> None:
        positions, populations = [], []
        comp = self.tissue.compartment
        for i, placement in enumerate(self.tissue.cells):
            pop = self.model.population(placement.cell, placement.state, comp)
            if pop is None:
                raise TissueError(f"tissue.cells[{i}]: no population {placement.cell!r}")
            positions.append(place(self.tissue, placement, i, self.rng))
            populations.append(np.full(placement.count, pop.index, dtype=np.int64))
        self.cells = Cells.create(
            np.concatenate(positions),
            np.concatenate(populations),
            self.k.cell_volume,
            self.n_exo,
            len(self.model.activities),
        )
        self._next_id = len(self.cells)
        self.pool_key = {i: key for (key, _), i in self.model.pools.items()}
        self.surface = {  # molecule -> which populations display it on their membrane
            mol: np.array(
                [
                    mol in self.model.structure.surface.get(p, [])
                    for p in range(len(self.model.populations))
                ]
            )
            for mols in self.model.structure.surface.values()
            for mol in mols
        }

    def _schedule(self) -> list[tuple[float, Change]]:
        """The arm's compiled dose events (minutes), in time order."""
        return [(e.day * MIN_PER_DAY, c) for e in self.model.rows.events for c in e.changes]

    # ------------------------------------------------------------ time stepping

    @property
    def day(self) -> float:
        return self.time / MIN_PER_DAY

    def advance(self, minutes: float) -> None:
        """Run phenotype steps until ``minutes`` more have passed (a whole number of steps)."""
        t = self.tissue
        steps = round(minutes / t.dt_phenotype)
        n_mech = round(t.dt_phenotype / t.dt_mechanics)
        n_diff = round(t.dt_mechanics / t.dt_diffusion)
        for _ in range(steps):
            self._apply_events()
            secretion, uptake = self._phenotype()
            self._mechanics_arrays()
            for _ in range(n_mech):
                voxel = self.grid.voxel_of(self.cells.position)
                self.fields.bind(voxel, secretion, uptake)
                self.fields.run(n_diff)
                self.fields.add_uptake(self.cells.internal)
                self._mechanics(voxel)
            self.time += t.dt_phenotype

    def _apply_events(self) -> None:
        dt = self.tissue.dt_phenotype
        for name in self.drug_names:  # plasma pharmacokinetics (tumour: vessels at the edge)
            kel = LN2 / (self.lib.drugs[name].half_life.value * 60.0)
            self.plasma[name] *= math.exp(-kel * dt)
        while self._events and self._events[0][0] < self.time + dt - 1e-9:
            self._apply(self._events.pop(0)[1])
        if self.tissue.compartment == "tumour":
            for name in self.drug_names:
                self.fields.set_dirichlet(self.fields.index(name), self.plasma[name])

    def _apply(self, change: Change) -> None:
        """A dose: drug into the plasma (or medium) the tissue sees, exosomes spread evenly in
        the compartment's volume, as in the compartment model."""
        lay, amount = self.model.layout, float(change_amount(change, self.theta, NUMERIC))
        if change.variable >= lay.drugs:
            name = self.drug_names[(change.variable - lay.drugs) // len(DRUG_VARS)]
            self.plasma[name] = amount if change.operation == "set" else self.plasma[name] + amount
            if self.tissue.compartment == "culture":  # the medium is the field
                self.fields.set_uniform(self.fields.index(name), self.plasma[name])
            return
        key = self.pool_key[change.variable - lay.pools]
        if key in self.exosome_keys:
            self.fields.add(self.exosome_keys.index(key), amount / self._volume() / UM3_PER_ML)

    def _volume(self) -> float:
        """Volume of the compartment the tissue stands for (mL)."""
        c = self.model.rows.compartments
        if self.tissue.compartment == "culture":
            return float(self.theta[c.culture_volume])
        per_cell, floor = (
            self.theta[c.interstitial_volume_per_cell],
            self.theta[c.tumour_min_volume],
        )
        return float(tumour_volume(NUMERIC, len(self.cells), per_cell, floor))

    # ------------------------------------------------------------ phenotype

    def _phenotype(self) -> tuple[Float, Float]:
        """Rules → behaviour per cell; division, death, transitions; new secretion/uptake."""
        dt = self.tissue.dt_phenotype
        cells = self.cells
        decay = math.exp(-self.theta[self.model.rows.exchange.internal_decay] / MIN_PER_DAY * dt)
        cells.internal *= decay
        factors = time_factors(self.model, NUMERIC, self.derived, self.day)
        release, loading, blocked = factors["release"], factors["loading"], factors["block"]
        voxel = self.grid.voxel_of(cells.position)
        local = self.fields.sample_at(voxel)
        n = len(cells)
        growth = self.growth[cells.population].copy()
        death = self.death[cells.population].copy()
        killing = np.ones(n)
        secreting = np.ones(n)
        transition_rate = np.zeros(n)
        destination_rates: list[tuple[NDArray[np.int64], NDArray[np.float64], int]] = []
        contact = self._contact_fraction() if self.surface else {}
        for p, rules in enumerate(self.rules):
            if not rules.acts:
                continue
            members = np.flatnonzero(cells.population == p)
            if not len(members):
                continue
            values = behaviour_values(
                self.model,
                NUMERIC,
                self.derived,
                self._signals(p, rules, members, local, blocked, contact),
            )
            for kind, out, scale in (
                ("growth", growth, 1 / MIN_PER_DAY),
                ("death", death, 1 / MIN_PER_DAY),
                ("killing", killing, 1.0),
                ("secretion", secreting, 1.0),
            ):
                t = getattr(rules, kind)
                if t >= 0:
                    out[members] = values[:, t] * scale
            for t, dest in rules.transitions:
                rate = values[:, t] / MIN_PER_DAY
                transition_rate[members] += rate
                destination_rates.append((members, rate, dest))
            relax = 1.0 - math.exp(
                -self.theta[self.model.rows.exchange.activity_relaxation] / MIN_PER_DAY * dt
            )
            for t, column in rules.activities:
                a = cells.activity[members, column]
                cells.activity[members, column] = a + (values[:, t] - a) * relax
        alive = cells.alive
        drug_rates = self._drug_kill(local, alive)
        for rate in drug_rates.values():
            death += rate
        self._switch(transition_rate, destination_rates, alive, dt)
        self._kill_by_contact(killing, alive, dt)
        origin = self._die_and_divide(growth, death, drug_rates, local, alive, dt)
        return self._exchange_rates(release, loading, secreting[origin])

    def _signals(
        self,
        p: int,
        rules: PopulationRules,
        members: NDArray[np.int64],
        local: Float,
        blocked: Float,
        contact: dict[str, Float],
    ) -> Float:
        """Signals (members, all signals) as the compartment model defines them, per cell."""
        rows = self.model.rows.signals
        strength = self.theta[self.model.rows.exchange.contact_signal]
        signal = np.zeros((len(members), len(rows.pop)))
        for i in rules.signals:
            f = self.signal_field[i]
            if f >= 0:
                signal[:, i] = self.cells.internal[members, f]
            cargo = self.model.cargo[rows.cargo[i]]
            if cargo in contact:
                signal[:, i] += strength * contact[cargo][members]
            signal[:, i] *= blocked[rows.cargo[i]]
        for blocker in rows.blockers:
            self._block(blocker, rules, signal, local[members])
        return signal

    def _block(self, blocker: Blocker, rules: PopulationRules, signal: Float, local: Float) -> None:
        """A drug's occupancy Kd / (C + Kd) at each cell scales the signals it blocks."""
        kd = self.theta[blocker.kd]
        conc = local[:, self.fields.index(blocker.drug)]
        blocked = set(blocker.signals.tolist())
        for i in rules.signals:
            if i in blocked:
                signal[:, i] *= kd / (conc + kd)

    def _contact_fraction(self) -> dict[str, Float]:
        """Per molecule, the share of each cell's neighbours that display it on their membrane."""
        pos, radius = self.cells.position, self.cells.radius
        tree = cKDTree(pos)
        pairs = tree.query_pairs(
            2.0 * self.k.adhesion_reach * float(radius.max()), output_type="ndarray"
        )
        n = len(self.cells)
        neighbours = np.bincount(pairs.ravel(), minlength=n).astype(float)
        out = {}
        for molecule, shows in self.surface.items():
            display = shows[self.cells.population].astype(float)
            count = np.bincount(pairs[:, 0], display[pairs[:, 1]], minlength=n) + np.bincount(
                pairs[:, 1], display[pairs[:, 0]], minlength=n
            )
            out[molecule] = np.divide(count, neighbours, out=np.zeros(n), where=neighbours > 0)
        return out

    def _drug_kill(self, local: Float, alive: NDArray[np.bool_]) -> dict[str, Float]:
        """Per drug, the Emax kill rate (1/min) of each cell at its local concentration."""
        rates = {}
        for drug in self.model.rows.drugs:
            scale = self.drug_scale[drug.name][self.cells.population]
            conc = local[:, self.fields.index(drug.name)]
            ec50 = self.theta[drug.param["ec50"]] * np.where(scale > 0, scale, 1.0)
            kill = np.where(
                (scale > 0) & alive & (conc > 0),
                emax(
                    conc, self.theta[drug.param["kill_max"]], ec50, self.theta[drug.param["hill"]]
                ),
                0.0,
            )
            rates[drug.name] = kill / MIN_PER_DAY
        return rates

    def _switch(
        self,
        total: Float,
        destinations: list[tuple[NDArray[np.int64], Float, int]],
        alive: NDArray[np.bool_],
        dt: float,
    ) -> None:
        """Cells change population with probability 1 - exp(-rate dt), destination by rate."""
        if not destinations:
            return
        switch = alive & (self.rng.random(len(self.cells)) < -np.expm1(-total * dt))
        u = self.rng.random(len(self.cells)) * total
        new = self.cells.population.copy()
        chosen = np.zeros(len(self.cells), dtype=bool)
        cumulative = np.zeros(len(self.cells))
        for members, rate, dest in destinations:
            cumulative[members] += rate
            pick = members[switch[members] & ~chosen[members] & (u[members] < cumulative[members])]
            new[pick] = dest
            chosen[pick] = True
        self.cells.population = new

    def _kill_by_contact(self, killing: Float, alive: NDArray[np.bool_], dt: float) -> None:
        """Killer cells (T, NK) kill a killable neighbour at their rule-modulated rate."""
        killers = self.model.rows.cells.killers
        if not killers:
            return
        cells = self.cells
        tree = cKDTree(cells.position)
        reach = 2.0 * self.k.adhesion_reach * float(cells.radius.max())
        for row in killers:
            killer = row.killer
            killable = np.isin(np.arange(len(self.model.populations)), row.victims)
            hunters = np.flatnonzero((cells.population == killer) & alive)
            if not len(hunters):
                continue
            rate = self.theta[row.rate] / MIN_PER_DAY * killing[hunters]
            strike = hunters[self.rng.random(len(hunters)) < -np.expm1(-rate * dt)]
            for h in strike:  # few per step: killing is rare relative to cells
                near = [
                    j
                    for j in tree.query_ball_point(cells.position[h], reach)
                    if killable[cells.population[j]] and cells.phase[j] == LIVE
                ]
                if near:
                    victim = near[int(self.rng.integers(len(near)))]
                    cells.phase[victim] = APOPTOTIC
                    cells.dead_since[victim] = self.time
                    self.tally.apoptoses += 1

    def _die_and_divide(
        self,
        growth: Float,
        death: Float,
        drug_rates: dict[str, Float],
        local: Float,
        alive: NDArray[np.bool_],
        dt: float,
    ) -> NDArray[np.int64]:
        """Necrosis, apoptosis, division and removal; returns each new row's row before."""
        cells = self.cells
        n = len(cells)
        if self.tissue.oxygen:
            o2 = local[:, self.fields.index(OXYGEN)]
            hyp, sat, anox = (
                self.k.oxygen_hypoxic,
                self.k.oxygen_saturation,
                self.k.oxygen_anoxic,
            )
            growth = growth * np.clip((o2 - hyp) / (sat - hyp), 0.0, 1.0)
            necrosis = self.k.necrosis_max_rate * np.clip((hyp - o2) / (hyp - anox), 0.0, 1.0)
            necrotic = alive & (self.rng.random(n) < -np.expm1(-necrosis * dt))
            cells.phase[necrotic] = NECROTIC
            cells.dead_since[necrotic] = self.time
            self.tally.necroses += int(necrotic.sum())
            alive = alive & ~necrotic
        dies = alive & (self.rng.random(n) < -np.expm1(-death * dt))
        if drug_rates:  # deaths are shared among causes in proportion to their rates
            total = np.maximum(death, 1e-300)
            for name, rate in drug_rates.items():
                self.tally.killed[name] = self.tally.killed.get(name, 0.0) + float(
                    (dies * rate / total).sum()
                )
        cells.phase[dies] = APOPTOTIC
        cells.dead_since[dies] = self.time
        self.tally.apoptoses += int(dies.sum())
        alive = alive & ~dies
        self._mechanics_arrays()
        free = self._velocity()[1] < self.k.contact_inhibition_pressure
        divides = alive & free & (self.rng.random(n) < -np.expm1(-growth * dt))
        # regrow towards the target volume, then divide the chosen cells
        recover = -np.expm1(-self.k.volume_recovery * dt)
        cells.volume += (cells.target_volume - cells.volume) * recover
        gone = (
            (cells.phase == APOPTOTIC) & (self.time - cells.dead_since >= self.k.apoptosis_duration)
        ) | ((cells.phase == NECROTIC) & (self.time - cells.dead_since >= self.k.necrosis_duration))
        parents = np.flatnonzero(divides)
        self.tally.divisions += len(parents)
        if len(parents):
            self._divide(parents)
        origin = np.concatenate([np.arange(n), parents])
        if gone.any():
            keep = np.concatenate([~gone, np.ones(len(parents), dtype=bool)])
            self.cells = self.cells.take(keep)
            origin = origin[keep]
        return origin

    def _divide(self, parents: NDArray[np.int64]) -> None:
        cells = self.cells
        dims = self.tissue.dimensions
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
        daughters.ident = np.arange(self._next_id, self._next_id + len(parents), dtype=np.int64)
        self._next_id += len(parents)
        self.cells = cells.extend(daughters)

    def _exchange_rates(
        self, release: Float, loading: Float, secreting: Float
    ) -> tuple[Float, Float]:
        """Secretion (amount/min) and uptake clearance (µm³/min) per cell and field."""
        cells = self.cells
        alive = cells.alive
        pop = cells.population
        n, nf = len(cells), len(self.fields.names)
        secretion = np.zeros((n, nf))
        uptake = np.zeros((n, nf))
        rate = self.secretion[pop] * secreting * release[pop] * alive
        secretion[:, : self.n_exo] = rate[:, None] * self.loading[pop] * loading[self.field_cargo]
        secretion[:, 0] = rate  # every exosome counts in the all-exosomes field
        voxel = self.grid.voxel_of(cells.position)
        c_all = self.fields.concentration[0].reshape(-1)[voxel]
        half = self.theta[self.model.rows.exchange.uptake_half_saturation] / UM3_PER_ML
        clearance = (
            self.theta[self.model.rows.exchange.uptake_max] / MIN_PER_DAY / (half + c_all) * alive
        )
        uptake[:, : self.n_exo] = clearance[:, None]
        if self.tissue.oxygen:
            uptake[:, self.fields.index(OXYGEN)] = self.k.oxygen_uptake * cells.volume * alive
        return secretion, uptake

    # ------------------------------------------------------------ mechanics

    def _mechanics_arrays(self) -> None:
        """Per-cell constants of the mechanics, refreshed each phenotype step."""
        cells = self.cells
        n = len(cells)
        self._neighbours.reset(
            cells.radius,
            np.full(n, self.k.cell_repulsion),
            np.full(n, self.k.cell_adhesion),
            np.ones(n, dtype=np.bool_),
        )
        speed = self.speed[cells.population] * cells.alive
        self._moving = np.flatnonzero(speed > 0)
        self._speed = speed[self._moving]
        self._bias = np.full(len(self._moving), self.k.chemotaxis_bias)

    def _velocity(self) -> tuple[Float, Float]:
        """Cell-cell velocity and simple pressure of every cell (dead cells still push)."""
        n = len(self.cells)
        velocity = np.zeros((n, 3))
        pressure = np.zeros(n)
        self._neighbours.velocity(self.cells.position, velocity, pressure)
        return velocity, pressure

    def _mechanics(self, voxel: NDArray[np.int64]) -> None:
        """Push, adhere and migrate (up the all-exosomes gradient); Adams-Bashforth step."""
        cells = self.cells
        if not len(cells):
            return
        velocity, _ = self._velocity()
        moving = self._moving
        if len(moving):
            part = np.zeros((len(moving), 3))
            motility_velocity(
                self.rng.standard_normal((len(moving), 3)),
                self._speed,
                self._bias,
                self.fields.gradient_at(0, voxel[moving]),
                self.tissue.dimensions,
                part,
            )
            velocity[moving] += part
        advance(
            cells.position,
            velocity,
            cells.previous_velocity,
            self.tissue.dt_mechanics,
            self.grid.lower,
            self.grid.upper,
            self._neighbours.radius,
            self.tissue.dimensions,
        )
