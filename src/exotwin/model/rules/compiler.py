"""Compile a scenario arm into a model: populations, exosome pools, signals and rule terms.

Nothing here knows any mechanism by name: each rule's record says which cargo leaves which
donor and reaches which receiver, and the effect's phenotype (vocabulary) says what changes:
a state transition (``transition_to``), a change of drug resistance (``drug``), or a rate
(``behaviour``: growth, death, survival, seeding, killing, secretion), else an activity level.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...knowledge import KnowledgeBase
from ...knowledge.schema import Biomarker, CellRef, Mechanism, Therapy
from ..scenario.schema import (
    Arm,
    CarrierTreatment,
    DrugTreatment,
    ExosomeDose,
    PopulationSpec,
    Scenario,
)
from .library import Library
from .parameters import ParameterBook
from .rows import CompiledModel, assemble
from .schema import NICHES, Rule
from .table import (
    ALL_EXOSOMES,
    Activity,
    Death,
    Growth,
    Killing,
    Population,
    Secretion,
    Seeding,
    Target,
    Term,
    Transition,
)


@dataclass
class Structure:
    """What the rules of one arm build before it becomes rows: populations, pools, signals,
    activities, who loads which cargo, the rule terms and the parameters they name."""

    populations: list[Population] = field(default_factory=list)
    initial: list[float] = field(default_factory=list)
    pools: dict[tuple[str, str], int] = field(default_factory=dict)  # (cargo key, compartment)
    pool_cargo: dict[str, str] = field(default_factory=dict)  # cargo key -> molecule id
    signals: dict[tuple[str, int], int] = field(default_factory=dict)  # (cargo key, pop)
    activities: dict[tuple[str, int], int] = field(default_factory=dict)  # (phenotype, pop)
    secretion: dict[tuple[int, str], list[str]] = field(default_factory=dict)  # loadings
    dose_cargo: dict[int, dict[str, list[str]]] = field(default_factory=dict)  # dose -> key
    surface: dict[int, list[str]] = field(default_factory=dict)  # pop -> membrane molecules
    terms: list[Term] = field(default_factory=list)
    drugs: list[str] = field(default_factory=list)
    rules_used: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # rules that matched nothing, and why

    def population(self, cell: str, state: str | None, compartment: str) -> Population | None:
        for pop in self.populations:
            if (pop.cell, pop.state, pop.compartment) == (cell, state, compartment):
                return pop
        return None


class _Builder:
    def __init__(self, kb: KnowledgeBase, library: Library, scenario: Scenario, arm: Arm) -> None:
        self.kb, self.lib, self.scenario, self.arm = kb, library, scenario, arm
        self.model = Structure()
        self.book = ParameterBook(library, scenario.parameters)

    # ------------------------------------------------------------ populations

    def add_population(
        self, cell: str, state: str | None, compartment: str, count: float = 0.0
    ) -> Population:
        found = self.model.population(cell, state, compartment)
        if found is not None:
            self.model.initial[found.index] += count
            return found
        pop = Population(len(self.model.populations), cell, state, compartment)
        self.model.populations.append(pop)
        self.model.initial.append(count)
        return pop

    def matches(self, ref: CellRef, pop: Population) -> bool:
        if pop.cell not in self.kb.descendants(ref.cell):
            return False
        return ref.state is None or (
            pop.state is not None and pop.state in self.kb.descendants(ref.state)
        )

    def donor_matches(self, rule: Rule, ref: CellRef, pop: Population) -> bool:
        """The record's donor, narrowed by the rule's ``donor_state`` when it gives one."""
        if not self.matches(ref, pop):
            return False
        return rule.donor_state is None or (
            pop.state is not None and pop.state in self.kb.descendants(rule.donor_state)
        )

    def is_cancer(self, pop: Population) -> bool:
        return pop.cell in self.kb.descendants("cancer_cell")

    # ------------------------------------------------------------ drugs and resistance

    def drugs_named(self, name: str) -> set[str]:
        """Drug ids a name refers to: a drug (any synonym) or a group such as chemotherapy."""
        molecule = self.kb.find_molecule(name)
        if molecule is not None and molecule.id in self.lib.drugs:
            return {molecule.id}
        return {d.id for d in self.lib.drugs.values() if name in d.groups}

    def resistant_to(self, state: str | None) -> set[str]:
        """Drugs a cell state (with its parent states) resists."""
        drugs: set[str] = set()
        while state is not None:
            entry = self.kb.cell_states[state]
            for name in entry.resistant_to:
                drugs |= self.drugs_named(name)
            state = entry.parent
        return drugs

    def resistant_state(self, receiver: Population, drugs: set[str], name: str) -> str | None:
        """The state a receiver moves to when it becomes resistant to ``drugs``."""
        for pop in self.model.populations:  # prefer a state the scenario already has
            if (pop.cell, pop.compartment) == (receiver.cell, receiver.compartment) and (
                self.resistant_to(pop.state) & drugs
            ):
                return pop.state
        for state in self.kb.cell_states.values():
            if name in state.resistant_to or self.drugs_named(name) == {
                d for n in state.resistant_to for d in self.drugs_named(n)
            }:
                return state.id
        return None

    # ------------------------------------------------------------ rules

    def selected_rules(self) -> list[Rule]:
        chosen = self.scenario.mechanisms
        rules = []
        for rule in self.lib.rules.values():
            if rule.id in chosen.exclude or {rule.record, *rule.also} & set(chosen.exclude):
                continue
            records = {rule.record, *rule.also}
            tags = {t for r in records for t in self.kb.records[r].tags}
            if (
                chosen.all
                or rule.id in chosen.rules
                or records & set(chosen.records)
                or tags & set(chosen.tags)
            ):
                rules.append(rule)
        return rules

    def cargo_key(self, cargo: str, donor: CellRef | None) -> str:
        """Pool key: the cargo, or for placeholder cargo also the donor it comes from."""
        if self.kb.molecules[cargo].placeholder and donor is not None:
            state = f".{donor.state}" if donor.state else ""
            key = f"{cargo} from {donor.cell}{state}"
        else:
            key = cargo
        self.model.pool_cargo[key] = cargo
        return key

    def add_secretion(self, pop: Population, key: str, loading: str) -> None:
        names = self.model.secretion.setdefault((pop.index, key), [])
        if loading not in names:
            names.append(loading)

    def signal(self, key: str, pop: Population) -> int:
        return self.model.signals.setdefault((key, pop.index), len(self.model.signals))

    def targets_for(
        self, phenotype: str, up: bool, receiver: Population
    ) -> list[tuple[Target, bool]]:
        """Behaviour targets of an effect in a receiver, with their direction (up?)."""
        entry = self.kb.phenotypes[phenotype]
        comp = receiver.compartment
        if entry.transition_to:
            if receiver.cell in self.kb.descendants(entry.transition_to):
                return []
            dest = self.add_population(entry.transition_to, receiver.state, comp)
            return [(Transition(receiver.index, dest.index), up)]
        if entry.drug:
            drugs = self.drugs_named(entry.drug)
            resistant = bool(self.resistant_to(receiver.state) & drugs)
            if up and not resistant:
                state = self.resistant_state(receiver, drugs, entry.drug)
                if state is None:
                    return []
                dest = self.add_population(receiver.cell, state, comp)
                return [(Transition(receiver.index, dest.index), True)]
            if not up and resistant:
                dest = self.add_population(receiver.cell, "sensitive", comp)
                return [(Transition(receiver.index, dest.index), True)]
            return []
        match entry.behaviour:
            case "survival":
                return [(Death(receiver.index), not up)]
            case "seeding":  # a niche receiver prepares its own organ only
                organs = [o for o in entry.organs if comp not in NICHES or o == comp]
                return [(Seeding(organ), up) for organ in organs]
            case "growth":
                return [(Growth(receiver.index), up)]
            case "death":
                return [(Death(receiver.index), up)]
            case "killing":
                return [(Killing(receiver.index), up)]
            case "secretion":
                return [(Secretion(receiver.index), up)]
        key = (phenotype, receiver.index)
        self.model.activities.setdefault(key, len(self.model.activities))
        return [(Activity(phenotype, receiver.index), up)]

    def apply_rule(self, rule: Rule) -> None:
        record = self.kb.records[rule.record]
        loading = self.book.rule(rule, "loading")
        if isinstance(record, Biomarker):
            source = record.source_cell or CellRef(cell="cancer_cell")
            donors = [p for p in self.model.populations if self.donor_matches(rule, source, p)]
            for pop in donors:
                for analyte in record.analyte:
                    self.add_secretion(pop, self.cargo_key(analyte, None), loading)
            self.note_use(rule, bool(donors), "no population matches the biomarker's source")
            return
        # a mechanism, or a therapy whose exosomes (dosed, or released by its producing
        # cells) carry cargo to a recipient: both compile the same way
        assert isinstance(record, Mechanism | Therapy) and record.recipient is not None
        donor = record.donor
        donors = [
            p
            for p in self.model.populations
            if donor is not None and self.donor_matches(rule, donor, p)
        ]
        receivers = [p for p in self.model.populations if self.matches(record.recipient, p)]
        keys = [self.cargo_key(c, donor) for c in record.cargo]
        doses = {
            self.cargo_key(self.molecule(i.cargo), None)
            for i in self.arm.interventions
            if isinstance(i, ExosomeDose) and i.cargo is not None
        }
        for pop in donors:
            for key in keys:
                self.add_secretion(pop, key, loading)
        for j, item in enumerate(self.arm.interventions):
            if isinstance(item, ExosomeDose) and item.donor is not None:
                virtual = Population(
                    -1, item.donor.cell or "cell", item.donor.state, item.compartment
                )
                if donor is not None and self.donor_matches(rule, donor, virtual):
                    donors.append(virtual)
                    loads = self.model.dose_cargo.setdefault(j, {})
                    for key in keys:
                        if loading not in loads.setdefault(key, []):
                            loads[key].append(loading)
        effects = [e for e in record.effects if not rule.effects or e.phenotype in rule.effects]
        half_max = self.book.rule(rule, "half_max")
        hill = self.book.rule(rule, "hill")
        applied = False
        for receiver in receivers:
            for effect in effects:
                for target, up in self.targets_for(
                    effect.phenotype, effect.direction == "promotes", receiver
                ):
                    level_name = "max_rate" if isinstance(target, Transition) else "fold"
                    level = self.book.rule(rule, level_name)
                    for key in keys:
                        self.model.terms.append(
                            Term(
                                rule.id,
                                record.id,
                                effect.phenotype,
                                self.signal(key, receiver),
                                half_max,
                                hill,
                                up,
                                target,
                                level,
                            )
                        )
                        applied = True
        supplied = bool(donors) or bool(doses & set(keys))
        self.note_use(
            rule,
            supplied and applied,
            "no donor and no dose of its cargo"
            if not supplied
            else "no receiver or effect applies",
        )

    def note_use(self, rule: Rule, used: bool, why: str) -> None:
        if used:
            if rule.id not in self.model.rules_used:
                self.model.rules_used.append(rule.id)
        else:
            self.model.notes.append(f"rule {rule.id} ({rule.record}) not used: {why}")

    # ------------------------------------------------------------ assembly

    def build(self) -> CompiledModel:
        specs: list[PopulationSpec] = self.arm.populations or self.scenario.populations
        for spec in specs:
            pop = self.add_population(spec.cell, spec.state, spec.compartment, spec.count)
            if spec.surface:
                found = [self.kb.find_molecule(m) for m in spec.surface]
                self.model.surface[pop.index] = [f.id for f in found if f is not None]
        self.add_niche_copies()
        rules = self.selected_rules()
        for _ in range(4):  # transitions may add populations that further rules reach
            before = len(self.model.populations)
            self.model.terms.clear()
            self.model.signals.clear()
            self.model.activities.clear()
            self.model.secretion.clear()
            self.model.dose_cargo.clear()
            self.model.rules_used.clear()
            self.model.notes.clear()
            for rule in rules:
                self.apply_rule(rule)
            self.add_niche_copies()
            if len(self.model.populations) == before:
                break
        self.add_pools()
        names = [
            i.drug
            for i in self.arm.interventions
            if isinstance(i, DrugTreatment | CarrierTreatment)
        ]
        names += [r.drug for r in self.scenario.readouts if r.drug]
        self.model.drugs = sorted({self.molecule(n) for n in names})
        return assemble(self.kb, self.lib, self.scenario, self.arm, self.model, self.book)

    def molecule(self, name: str) -> str:
        """The graph id of a molecule the scenario names (validated when it loaded)."""
        found = self.kb.find_molecule(name)
        assert found is not None, name
        return found.id

    def add_niche_copies(self) -> None:
        if not any(p.compartment == "tumour" for p in self.model.populations):
            return
        for pop in list(self.model.populations):
            if pop.compartment == "tumour" and self.is_cancer(pop):
                for organ in NICHES:
                    self.add_population(pop.cell, pop.state, organ)

    def add_pools(self) -> None:
        comps = {p.compartment for p in self.model.populations}
        if "tumour" in comps:
            comps |= {"plasma", *NICHES}
        keys = {key for _, key in self.model.secretion} | {key for key, _ in self.model.signals}
        keys |= {key for loads in self.model.dose_cargo.values() for key in loads}
        for intervention in self.arm.interventions:
            if isinstance(intervention, ExosomeDose):
                if intervention.cargo is not None:
                    keys.add(self.cargo_key(self.molecule(intervention.cargo), None))
                comps.add(intervention.compartment)
        for readout in self.scenario.readouts:
            if readout.kind == "exosomes" and readout.cargo:
                keys.add(self.cargo_key(self.molecule(readout.cargo), None))
        for drug in self.lib.drugs.values():
            for cargo in drug.bound_by_cargo:
                molecule = self.kb.find_molecule(cargo)
                if molecule is not None and molecule.id in keys:
                    keys.add(molecule.id)
        self.model.pool_cargo[ALL_EXOSOMES] = ALL_EXOSOMES
        for key in [ALL_EXOSOMES, *sorted(keys)]:
            for comp in sorted(comps):
                self.model.pools[(key, comp)] = len(self.model.pools)


def compile_arm(kb: KnowledgeBase, library: Library, scenario: Scenario, arm: Arm) -> CompiledModel:
    """Build the model of one arm of a scenario."""
    return _Builder(kb, library, scenario, arm).build()
