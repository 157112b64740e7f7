"""The arm's rules, evaluated per cell: internalised cargo and contact signals become behaviour.

Each cell's signals (its internalised cargo, contact signals from neighbours' membranes,
signal blockers, antibody occupancy at its local drug concentration) go through the compiled
rule terms by the compartment model's own function
(:func:`~exotwin.model.ode.equations.behaviour_values`): growth, death, secretion, killing,
transitions and activities. Nothing here knows a mechanism by name. Rates are per minute.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from ...knowledge import KnowledgeBase
from ..ode.equations import NUMERIC, Derived, behaviour_values
from ..rules.library import Library
from ..rules.response import emax
from ..rules.rows import Blocker, CompiledModel
from ..rules.table import Death, Growth, Killing, Secretion, Transition
from ..scenario.schema import Scenario
from .cells import Cells
from .fields import FieldSolver
from .relays import Relays
from .units import MIN_PER_DAY

Float = NDArray[np.float64]
Destination = tuple[NDArray[np.int64], Float, int]  # members, their rate, destination population


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
class Behaviour:
    """Per cell, for one phenotype step: rates per minute and rule multipliers."""

    growth: Float
    death: Float
    killing: Float  # multiplier of the killer's contact kill rate
    secreting: Float  # multiplier of exosome secretion
    switching: Float  # total rate of changing population
    destinations: list[Destination] = field(default_factory=list)


def _population_rules(model: CompiledModel) -> list[PopulationRules]:
    rows = model.rows
    pops = range(len(model.populations))
    rules = [PopulationRules(np.flatnonzero(rows.signals.pop == p)) for p in pops]
    kinds = {Growth: "growth", Death: "death", Killing: "killing", Secretion: "secretion"}
    for i, target in enumerate(rows.rules.targets):
        match target:
            case Transition(source, dest):
                rules[source].transitions.append((i, dest))
            case Growth(pop) | Death(pop) | Killing(pop) | Secretion(pop):
                setattr(rules[pop], kinds[type(target)], i)
    for column, t in enumerate(rows.behaviour.activity_target):
        if t >= 0:
            pop = next(p for (_, p), c in model.activities.items() if c == column)
            rules[pop].activities.append((int(t), column))
    return rules


class RuleBook:
    """The compiled rules of one arm, per population, ready to evaluate on cells."""

    def __init__(
        self,
        kb: KnowledgeBase,
        lib: Library,
        scenario: Scenario,
        model: CompiledModel,
        derived: Derived,
        exosome_keys: list[str],
        adhesion_reach: float,
        relays: Relays,
    ) -> None:
        self.model, self.derived, self.theta = model, derived, model.parameters.values
        self.reach, self.relays = adhesion_reach, relays
        order = sorted(model.signals, key=lambda key: model.signals[key])
        self.signal_field = np.array(
            [exosome_keys.index(key) if key in exosome_keys else -1 for key, _ in order], dtype=int
        )
        self.rules = _population_rules(model)
        self.drug_scale = {}  # per drug, each population's EC50 multiplier (0: not killed)
        for drug in model.rows.drugs:
            scale = np.zeros(len(model.populations))
            fold = self.theta[drug.param["resistance_fold"]]
            scale[drug.kill_pop] = np.where(drug.kill_resistant, fold, 1.0)
            self.drug_scale[drug.name] = scale
        # base per-population rates, per minute
        self.growth = derived.cells["growth"] / MIN_PER_DAY
        self.death = derived.cells["death"] / MIN_PER_DAY
        self.secretion = derived.cells["secretion"] / MIN_PER_DAY
        self.speed = np.array(
            [
                lib.value(entry.speed, scenario.parameters)
                if (entry := lib.behaviour_of(kb, p.cell)).speed
                else 0.0
                for p in model.populations
            ]
        )
        self.surface = {  # molecule -> which populations display it on their membrane
            mol: np.array(
                [mol in model.structure.surface.get(p, []) for p in range(len(model.populations))]
            )
            for mols in model.structure.surface.values()
            for mol in mols
        }

    def behaviour(
        self, cells: Cells, local: Float, blocked: Float, fields: FieldSolver, dt: float
    ) -> Behaviour:
        """Every cell's rates from its signals; relaxes the cells' activities over ``dt`` min."""
        n = len(cells)
        out = Behaviour(
            self.growth[cells.population].copy(),
            self.death[cells.population].copy(),
            np.ones(n),
            np.ones(n),
            np.zeros(n),
        )
        contact = self.contact_fraction(cells) if self.surface else {}
        relayed = self.relays.shares(cells, self._sensed(cells, contact)) if self.relays else {}
        rate = self.theta[self.model.rows.exchange.activity_relaxation] / MIN_PER_DAY
        relax = 1.0 - math.exp(-rate * dt)
        for p, rules in enumerate(self.rules):
            if not rules.acts:
                continue
            members = np.flatnonzero(cells.population == p)
            if not len(members):
                continue
            signal = self._signals(cells, rules, members, local, blocked, contact, fields, relayed)
            values = behaviour_values(self.model, NUMERIC, self.derived, signal)
            self._apply(out, rules, members, values)
            for t, column in rules.activities:
                a = cells.activity[members, column]
                cells.activity[members, column] = a + (values[:, t] - a) * relax
        return out

    @staticmethod
    def _apply(
        out: Behaviour, rules: PopulationRules, members: NDArray[np.int64], values: Float
    ) -> None:
        for kind, rates, scale in (
            ("growth", out.growth, 1 / MIN_PER_DAY),
            ("death", out.death, 1 / MIN_PER_DAY),
            ("killing", out.killing, 1.0),
            ("secretion", out.secreting, 1.0),
        ):
            t = getattr(rules, kind)
            if t >= 0:
                rates[members] = values[:, t] * scale
        for t, dest in rules.transitions:
            rate = values[:, t] / MIN_PER_DAY
            out.switching[members] += rate
            out.destinations.append((members, rate, dest))

    def _signals(
        self,
        cells: Cells,
        rules: PopulationRules,
        members: NDArray[np.int64],
        local: Float,
        blocked: Float,
        contact: dict[str, Float],
        fields: FieldSolver,
        relayed: dict[int, Float],
    ) -> Float:
        """Signals (members, all signals) as the compartment model defines them, per cell;
        ``relayed``: per relayed signal (acts_on), its local share at every cell."""
        rows = self.model.rows.signals
        strength = self.theta[self.model.rows.exchange.contact_signal]
        signal = np.zeros((len(members), len(rows.pop)))
        for i in rules.signals:
            f = self.signal_field[i]
            if f >= 0:
                signal[:, i] = cells.internal[members, f]
            cargo = self.model.cargo[rows.cargo[i]]
            if cargo in contact:
                signal[:, i] += strength * contact[cargo][members]
            if i in relayed:
                signal[:, i] += relayed[i][members]
            signal[:, i] *= blocked[rows.cargo[i]]
        for blocker in rows.blockers:
            self._block(blocker, rules, signal, local[members], fields)
        return signal

    def _sensed(
        self, cells: Cells, contact: dict[str, Float]
    ) -> Callable[[int, NDArray[np.int64]], Float]:
        """Signal ``i`` of some cells before blocking: internalised cargo and contact."""
        strength = self.theta[self.model.rows.exchange.contact_signal]

        def sensed(i: int, index: NDArray[np.int64]) -> Float:
            f, cargo = self.signal_field[i], self.model.cargo[self.model.rows.signals.cargo[i]]
            value = cells.internal[index, f] if f >= 0 else np.zeros(len(index))
            return value + strength * contact[cargo][index] if cargo in contact else value

        return sensed

    def _block(
        self,
        blocker: Blocker,
        rules: PopulationRules,
        signal: Float,
        local: Float,
        fields: FieldSolver,
    ) -> None:
        """A drug's occupancy Kd / (C + Kd) at each cell scales the signals it blocks."""
        kd = self.theta[blocker.kd]
        conc = local[:, fields.index(blocker.drug)]
        blocked = set(blocker.signals.tolist())
        for i in rules.signals:
            if i in blocked:
                signal[:, i] *= kd / (conc + kd)

    def contact_fraction(self, cells: Cells) -> dict[str, Float]:
        """Per molecule, the share of each cell's neighbours that display it on their membrane."""
        tree = cKDTree(cells.position)
        pairs = tree.query_pairs(
            2.0 * self.reach * float(cells.radius.max()), output_type="ndarray"
        )
        n = len(cells)
        neighbours = np.bincount(pairs.ravel(), minlength=n).astype(float)
        out = {}
        for molecule, shows in self.surface.items():
            display = shows[cells.population].astype(float)
            count = np.bincount(pairs[:, 0], display[pairs[:, 1]], minlength=n) + np.bincount(
                pairs[:, 1], display[pairs[:, 0]], minlength=n
            )
            out[molecule] = np.divide(count, neighbours, out=np.zeros(n), where=neighbours > 0)
        return out

    def drug_kill(
        self, cells: Cells, local: Float, alive: NDArray[np.bool_], fields: FieldSolver
    ) -> dict[str, Float]:
        """Per drug, the Emax kill rate (1/min) of each cell at its local concentration."""
        rates = {}
        for drug in self.model.rows.drugs:
            scale = self.drug_scale[drug.name][cells.population]
            conc = local[:, fields.index(drug.name)]
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
