"""Compile a scenario arm into a model: populations, exosome pools, signals and rule terms.

Nothing here knows any mechanism by name: each rule's record says which cargo leaves which
donor and reaches which receiver, and the effect's phenotype (vocabulary) says what changes:
a state transition (``transition_to``), a change of drug resistance (``drug``), a recruitment
of another cell type (``recruits``), or a rate (``behaviour``: growth, death, survival,
seeding, killing, secretion), else an activity level.
What a cell type does to its neighbours (an induced state acting back) is data too: its
``acts_on`` in cells.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...knowledge import KnowledgeBase
from ...knowledge.schema import Biomarker, CellRef, Effect, Mechanism, Therapy
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
from .resistance import Resistance
from .rows import CompiledModel, assemble
from .schema import NICHES, Feedback, Param, Rule
from .table import (
    ALL_EXOSOMES,
    BLOOD_EXOSOMES,
    Activity,
    Death,
    Growth,
    Killing,
    Population,
    Recruitment,
    Secretion,
    Seeding,
    Survival,
    Target,
    Term,
    Transition,
)

# behaviours that are a rate of the cells receiving them (targets_for)
RATES = frozenset({"survival", "seeding", "growth", "death", "killing", "secretion"})


@dataclass
class Binding:
    """What a cargo's exosomes bind besides uptake: target cells (rule ``targeting``), a
    ligand they occupy as a decoy (rule ``decoy``) and the organs they home to (organotropism.yaml
    ``exosome_homing``), per cargo key; and the copies a dosed exosome loaded ex vivo carries
    (rule ``copies``)."""

    targeting: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # (cell, fold)
    decoys: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # (ligand, sites, kd)
    homing: dict[str, set[str]] = field(default_factory=dict)  # organs (organotropism.yaml)
    copies: dict[str, str] = field(default_factory=dict)  # cargo copies per dosed exosome


@dataclass
class Relaying:
    """Signals from other populations of the compartment (cells.yaml acts_on): per signal, the
    (source population, its signal relayed or -1: its share alone); their keys' cargo; and the
    signals their receivers hold (acts_on ``memory``), with the parameters of their priming and
    of their memory loss; and the membrane molecule that carries a relayed signal (acts_on
    ``ligand``), which drugs and decoys of that molecule block."""

    sources: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    cargo: dict[str, str] = field(default_factory=dict)
    memory: dict[int, tuple[str, str]] = field(default_factory=dict)
    # (relayed key, receiver) -> the molecule carrying it (acts_on ``ligand``)
    ligand: dict[tuple[str, int], str] = field(default_factory=dict)


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
    basal: dict[tuple[int, str], list[str]] = field(default_factory=dict)  # basal loadings
    dose_cargo: dict[int, dict[str, list[str]]] = field(default_factory=dict)  # dose -> key
    dose_basal: dict[int, dict[str, list[str]]] = field(default_factory=dict)
    surface: dict[int, list[str]] = field(default_factory=dict)  # pop -> membrane molecules
    terms: list[Term] = field(default_factory=list)
    drugs: list[str] = field(default_factory=list)
    rules_used: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # rules that matched nothing, and why
    resisted: dict[str, frozenset[str]] = field(default_factory=dict)  # drugs each state resists
    # biomarker cargo with a healthy plasma baseline -> its copies per blood-cell EV (parameter)
    analytes: dict[str, str] = field(default_factory=dict)
    relay: Relaying = field(default_factory=Relaying)  # signals from other cells (acts_on)
    binding: Binding = field(default_factory=Binding)
    # drugs that raise a donor's loading of a cargo key (None: its release), rule induced_by:
    # (population, cargo key or None, drug) -> (fold parameter, EC50 parameter or None)
    induced: dict[tuple[int, str | None, str], tuple[str, str | None]] = field(default_factory=dict)

    def population(
        self,
        cell: str,
        state: str | None,
        compartment: str,
        origin: str | None = None,
        recruited: bool = False,
    ) -> Population | None:
        key = (cell, state, compartment, origin, recruited)
        for pop in self.populations:
            if (pop.cell, pop.state, pop.compartment, pop.origin, pop.recruited) == key:
                return pop
        return None


BLOOD = {"blood", "plasma", "serum"}  # fluids the plasma compartment stands for
# fluids whose analytes get the plasma's healthy baseline: the blood fluids, and a sample the
# review does not name (read in plasma, an analyte is in every plasma EV, not the tumour's alone)
BASELINE_FLUIDS = BLOOD | {"other"}
RELAY_DEPTH = 3  # acts relayed on through the activities they raise (a chain, never a loop)
# a pool of unspecified cargo holds every exosome of its donors; the rule's ``loading`` is the
# share of them carrying the unnamed active component (docs/scenarios.md)
WHOLE_RELEASE = Param(
    value=1.0,
    unit="fraction of exosomes",
    source="definition: a pool of unspecified cargo stands for all exosomes of its donor",
)


class _Builder:
    def __init__(self, kb: KnowledgeBase, library: Library, scenario: Scenario, arm: Arm) -> None:
        self.kb, self.lib, self.scenario, self.arm = kb, library, scenario, arm
        self.model = Structure()
        self.book = ParameterBook(library, scenario.parameters)
        self.resistance = Resistance(kb, library)
        self.counted: set[tuple[int, Target, bool]] = set()  # (signal, target, up) with a term
        # per cargo molecule, the (donor cell, state) pairs that the arm's rules name for it
        self.stated: dict[str, set[tuple[str, str]]] = {}
        self.loaded: set[tuple[int, str]] = set()  # (population, cargo key) the rule loads

    # ------------------------------------------------------------ populations

    def add_population(
        self,
        cell: str,
        state: str | None,
        compartment: str,
        count: float = 0.0,
        origin: str | None = None,
        recruited: bool = False,
    ) -> Population:
        found = self.model.population(cell, state, compartment, origin, recruited)
        if found is not None:
            self.model.initial[found.index] += count
            return found
        index = len(self.model.populations)
        pop = Population(index, cell, state, compartment, origin, recruited)
        self.model.populations.append(pop)
        self.model.initial.append(count)
        return pop

    def matches(self, ref: CellRef, pop: Population) -> bool:
        if pop.cell not in self.kb.descendants(ref.cell):
            return False
        return ref.state is None or self.resistance.state_matches(ref.state, pop.state)

    def is_cancer(self, pop: Population) -> bool:
        return pop.cell in self.kb.descendants("cancer_cell")

    def present_states(self, receiver: Population) -> list[str | None]:
        return [
            p.state
            for p in self.model.populations
            if (p.cell, p.compartment) == (receiver.cell, receiver.compartment)
        ]

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

    def is_placeholder(self, key: str) -> bool:
        """Whether a pool stands for all exosomes of a donor (cargo unspecified): other cells'
        exosomes are not "exosomes of resistant cells", so nothing loads it at a basal level."""
        return self.kb.molecules[self.model.pool_cargo[key]].placeholder

    def pool_loading(self, key: str, loading: str) -> str:
        """The loading of a pool: the rule's, or for unspecified cargo all the donors'
        exosomes (the rule's loading is then the share carrying the active component)."""
        if self.is_placeholder(key):
            return self.book.add("unspecified_cargo.loading", WHOLE_RELEASE)
        return loading

    def share(self, rule: Rule, key: str) -> str | None:
        """A term's share of the signal's exosomes carrying its cargo: for unspecified cargo
        the rule's loading (an unnamed active component, as a named cargo is loaded)."""
        cargo = self.model.relay.cargo.get(key) or self.model.pool_cargo[key]
        return self.book.rule(rule, "loading") if self.kb.molecules[cargo].placeholder else None

    def add_secretion(self, pop: Population, key: str, loading: str, basal: bool) -> None:
        """``pop`` loads ``key`` into its exosomes: fully, or at the basal level (a cell of the
        donor's type outside the donor's state)."""
        table = self.model.basal if basal else self.model.secretion
        names = table.setdefault((pop.index, key), [])
        if loading not in names:
            names.append(loading)
        self.loaded.add((pop.index, key))

    def add_inductions(self, rule: Rule) -> None:
        """The rule's ``induced_by``: each drug (a group: each of its drugs) raises the loading
        of the cargo rows the rule loads, or the release of their populations; where two
        rules induce one row by one drug, the first counts (one finding acts once)."""
        for entry in rule.induced_by:
            found = self.kb.find_molecule(entry.drug)
            drugs = [found.id] if found is not None and found.id in self.lib.drugs else []
            drugs = drugs or [d for d, drug in self.lib.drugs.items() if entry.drug in drug.groups]
            fold = self.book.global_(entry.fold)
            ec50 = self.book.global_(entry.ec50) if entry.ec50 is not None else None
            for pop, key in sorted(self.loaded):
                cargo = key if entry.raises == "loading" else None
                for drug in drugs:
                    self.model.induced.setdefault((pop, cargo, drug), (fold, ec50))

    def signal(self, key: str, pop: Population) -> int:
        return self.model.signals.setdefault((key, pop.index), len(self.model.signals))

    def targets_for(
        self, phenotype: str, up: bool, receiver: Population
    ) -> list[tuple[Target, bool]]:
        """Behaviour targets of an effect in a receiver, with their direction (up?).
        Resistance effects are handled by :meth:`resistance_targets`."""
        entry = self.kb.phenotypes[phenotype]
        comp = receiver.compartment
        if entry.transition_to:
            if receiver.cell in self.kb.descendants(entry.transition_to):
                return []
            dest = self.add_population(entry.transition_to, receiver.state, comp)
            return [(Transition(receiver.index, dest.index), up)]
        if entry.recruits and comp != "culture":  # a dish has no blood to recruit from
            dest = self.add_population(entry.recruits, None, comp, recruited=True)
            return [(Recruitment(receiver.index, dest.index), up)]
        match entry.behaviour if self.receives(phenotype, receiver) else None:
            case "survival":
                return [(Survival(receiver.index), not up)]
            case "seeding" | "niche" if comp in NICHES:  # a receiver in a distant organ
                return self.niche_targets(up, receiver) if comp in entry.organs else []
            case "seeding":
                return [(Seeding(organ), up) for organ in entry.organs]
            case "motility" if comp == "tumour" and self.is_cancer(receiver):
                # moving and invading cancer cells of the primary tumour disseminate: in the
                # compartment model their speed is their seeding of every distant organ
                return [(Seeding(organ), up) for organ in NICHES]
            case "growth":
                return [(Growth(receiver.index), up)]
            case "death":
                return [(Death(receiver.index), up)]
            case "killing":
                found: list[tuple[Target, bool]] = [(Killing(receiver.index), up)]
                if self.lib.behaviour_of(self.kb, receiver.cell).expands_when_active:
                    found.append((Growth(receiver.index), up))  # activation drives division
                return found
            case "secretion":
                return [(Secretion(receiver.index), up)]
        return [(self.activity(phenotype, receiver), up)]

    def activity(self, phenotype: str, receiver: Population) -> Activity:
        """The activity level of a phenotype in a receiver (1 at baseline)."""
        self.model.activities.setdefault((phenotype, receiver.index), len(self.model.activities))
        return Activity(phenotype, receiver.index)

    def omitted_activities(
        self, omitted: list[Effect], receiver: Population
    ) -> list[tuple[str, Target, bool]]:
        """The effects a rule omits that would be activity levels of ``receiver``: kept so,
        readable, acting on nothing and relayed to no one."""
        return [
            (e.phenotype, self.activity(e.phenotype, receiver), e.direction == "promotes")
            for e in omitted
            if self.inert_activity(e.phenotype, receiver)
        ]

    def inert_activity(self, phenotype: str, receiver: Population) -> bool:
        """Whether an effect on ``receiver`` would be an activity level that moves nothing
        else: no state transition, recruitment, resistance, rate or premetastatic niche (an
        effect a rule omits is kept so, readable and relayed to no one)."""
        entry = self.kb.phenotypes[phenotype]
        if entry.transition_to or entry.recruits or entry.drug or entry.behaviour == "niche":
            return False
        if not self.receives(phenotype, receiver) or entry.behaviour is None:
            return True
        if entry.behaviour == "motility":  # seeding of primary-tumour cancer cells
            return not (receiver.compartment == "tumour" and self.is_cancer(receiver))
        return entry.behaviour not in RATES

    def niche_targets(self, up: bool, receiver: Population) -> list[tuple[Target, bool]]:
        """A seeding or niche effect on a receiver in a distant organ. Cells of the organ do not
        seed it: they build its premetastatic niche, an activity that raises the organ's seeding
        (Peinado et al., Nat Rev Cancer 2017); cancer cells already there raise it directly."""
        if self.is_cancer(receiver):
            return [(Seeding(receiver.compartment), up)]
        phenotype = next(p.id for p in self.kb.phenotypes.values() if p.behaviour == "niche")
        self.model.activities.setdefault((phenotype, receiver.index), len(self.model.activities))
        return [(Activity(phenotype, receiver.index), up)]

    def receives(self, phenotype: str, receiver: Population) -> bool:
        """Whether a phenotype's behaviour applies in this receiver (its ``receivers``, if any;
        elsewhere it stays an activity level)."""
        entry = self.kb.phenotypes[phenotype]
        kinds = {k for cell in entry.receivers for k in self.kb.descendants(cell)}
        return not kinds or receiver.cell in kinds

    def resistance_effects(self, effects: list[Effect], up: bool) -> frozenset[str]:
        """The drugs named by a record's resistance effects of one direction, together."""
        drugs: frozenset[str] = frozenset()
        for effect in effects:
            entry = self.kb.phenotypes[effect.phenotype]
            if entry.drug and (effect.direction == "promotes") == up:
                drugs |= self.resistance.drugs_named(entry.drug)
        return drugs

    def resistance_targets(
        self, record: Mechanism | Therapy, effects: list[Effect], receiver: Population
    ) -> list[Target]:
        """A record's resistance effects as one switch per receiver: to the state resisting
        all the drugs it names (or a resistance protein's substrates), or back to sensitive."""
        comp, resisted = receiver.compartment, self.resistance.resisted(receiver.state)
        gained = self.resistance_effects(effects, up=True)
        if gained:
            drugs, state = self.resistance.conferred(record.cargo, gained)
            if not drugs <= resisted:
                state = state or self.resistance.state_for(drugs, self.present_states(receiver))
                if state is not None and state != receiver.state:
                    origin = receiver.origin or receiver.state or "sensitive"
                    dest = self.add_population(receiver.cell, state, comp, origin=origin)
                    self.add_population(receiver.cell, origin, comp)  # where it fades back to
                    return [Transition(receiver.index, dest.index)]
        lost = self.resistance_effects(effects, up=False)
        if lost & resisted:
            dest = self.add_population(receiver.cell, "sensitive", comp)
            return [Transition(receiver.index, dest.index)]
        return []

    def donor_state(self, rule: Rule, record: Mechanism | Therapy) -> str | None:
        """The state whose cells load the record's cargo: the rule's ``donor_state``, the
        record's donor state, or, for a resistance transfer from donors of unstated state, the
        resistant state it confers (exosomes of resistant cells carry it)."""
        if rule.donor_state or record.donor is None or record.donor.state:
            return rule.donor_state or (record.donor.state if record.donor else None)
        gained = self.resistance_effects(self.effects_of(rule, record), up=True)
        if not gained:
            return None
        drugs, state = self.resistance.conferred(record.cargo, gained)
        return state or self.resistance.state_for(drugs, [])

    def effects_of(self, rule: Rule, record: Mechanism | Therapy) -> list[Effect]:
        """Every effect of the record but those the rule omits, with a reason (``omit``)."""
        return [e for e in record.effects if e.phenotype not in rule.omit]

    def loads(
        self, donor: CellRef, state: str | tuple[str, ...] | None, pop: Population
    ) -> bool | None:
        """None if ``pop`` does not load the cargo, else whether it loads at the basal level:
        outside the donor state (a tuple: the resistant states another rule names, where their
        drugs act on ``pop``), or a resistance acquired from exosomes (a phenocopy, not the
        clone that makes the cargo)."""
        if pop.cell not in self.kb.descendants(donor.cell):
            return None
        if pop.acquired:
            return True
        if isinstance(state, tuple):
            state = tuple(s for s in state if self.resists_here(s, pop))
        states = (state,) if isinstance(state, str) else state or ()
        return bool(states) and not any(self.resistance.state_matches(s, pop.state) for s in states)

    def resists_here(self, state: str, pop: Population) -> bool:
        """Whether a drug that ``state`` resists acts on ``pop``'s cell type (tamoxifen
        resistance means nothing in a triple-negative cell)."""
        return any(
            pop.cell in {c for k in self.lib.drugs[d].kills for c in self.kb.descendants(k)}
            for d in self.resistance.resisted(state)
        )

    def note_stated(self, rules: list[Rule]) -> None:
        """Record, per cargo, the resistant donor states that resistance rules name or infer:
        another rule's unstated donors of that cargo defer to them."""
        self.stated.clear()
        for rule in rules:
            record = self.kb.records[rule.record]
            if not isinstance(record, Mechanism | Therapy) or record.donor is None:
                continue
            if not self.resistance_effects(self.effects_of(rule, record), up=True):
                continue
            state = self.donor_state(rule, record)
            if state is None:
                continue
            for name in record.cargo:
                molecule = self.molecule(name)
                if not self.kb.molecules[molecule].placeholder:
                    self.stated.setdefault(molecule, set()).add((record.donor.cell, state))

    def state_of(
        self, state: str | None, cargo: str, donor: CellRef
    ) -> str | tuple[str, ...] | None:
        """A rule's donor state for one cargo; unstated, the resistant states that resistance
        rules of the arm name for that cargo and a related donor type: an unstated state is
        unknown, not every state, and the resistance experiments find the cargo in resistant
        cells' exosomes, not as much in sensitive cells'."""
        if state is not None:
            return state
        kinds = self.kb.descendants(donor.cell)
        return tuple(
            sorted(
                s
                for cell, s in self.stated.get(cargo, set())
                if cell in kinds or donor.cell in self.kb.descendants(cell)
            )
        )

    def apply_rule(self, rule: Rule) -> None:
        record = self.kb.records[rule.record]
        export = next(
            (d for d, e in self.lib.drug_export.items() if rule.record in e.records), None
        )
        if export is not None:  # the drug leaves its exporting cells (drug_export.yaml, rows)
            cells = self.kb.descendants(self.lib.drug_export[export].cell)
            used = any(p.cell in cells for p in self.model.populations)
            self.note_use(rule, used, "no population exports the drug")
            return
        self.loaded = set()
        if isinstance(record, Biomarker):
            self.apply_biomarker(rule, record)
            self.add_inductions(rule)
            return
        # a mechanism, or a therapy whose exosomes (dosed, or released by its producing
        # cells) carry cargo to a recipient: both compile the same way
        assert isinstance(record, Mechanism | Therapy) and record.recipient is not None
        keys = [self.cargo_key(c, record.donor) for c in record.cargo]
        if rule.targeting is not None:  # exosomes carrying the cargo bind their target cells
            fold = self.book.add(f"{rule.id}.uptake_fold", rule.targeting.uptake_fold)
            for key in keys:
                self.model.binding.targeting[key] = [(rule.targeting.cell, fold)]
        if rule.copies is not None:  # a dosed exosome loaded ex vivo carries many copies
            copies = self.book.add(f"{rule.id}.copies", rule.copies)
            self.model.binding.copies.update(dict.fromkeys(keys, copies))
        homing = self.lib.homing.get(rule.record)
        if homing is not None:  # exosomes carrying the cargo home to the organs it names
            for key in keys:
                self.model.binding.homing.setdefault(key, set()).update(homing.organs)
        if rule.decoy is not None:  # exosomes carrying the cargo occupy a ligand
            ligand = self.molecule(rule.decoy.binds)
            sites = self.book.add(f"{rule.id}.decoy_sites", rule.decoy.sites)
            kd = self.book.add(f"{rule.id}.decoy_kd", rule.decoy.kd)
            self.model.binding.decoys.update(dict.fromkeys(keys, (ligand, sites, kd)))
        supplied = self.load_donors(rule, record, keys)
        self.add_inductions(rule)
        applied = self.add_terms(rule, record, keys)
        self.note_use(
            rule,
            supplied and applied,
            "no donor and no dose of its cargo"
            if not supplied
            else "no receiver or effect applies",
        )

    def apply_biomarker(self, rule: Rule, record: Biomarker) -> None:
        """The analyte's source cells (cancer cells where the record names none) release it in
        exosomes; in blood its healthy baseline is the blood cells' EVs. An analyte lower in
        cancer than in health is one the body's normal cells carry: blood cells' EVs at the
        rule's loading, cancer cells at the basal level of that (donor-specific loading)."""
        source = record.source_cell or CellRef(cell="cancer_cell")
        state = rule.donor_state or source.state
        loading = self.book.rule(rule, "loading")
        lower = any(
            c.comparison == "cancer_vs_healthy" and c.direction == "down" for c in record.changes
        )
        cancer = self.kb.descendants("cancer_cell")
        used = False
        for pop in self.model.populations:
            for analyte in record.analyte:
                key = self.cargo_key(analyte, None)
                basal = self.loads(source, self.state_of(state, key, source), pop)
                if basal is not None:
                    basal = basal or (lower and pop.cell in cancer)
                    self.add_secretion(pop, key, loading, basal)
                    # a source of unstated state deferring to another rule's: its cells load
                    used = used or not basal or lower or state is None
        if record.fluid in BASELINE_FLUIDS:  # healthy plasma has it, with or without a source
            healthy = loading if lower else self.healthy_copies(rule)
            for analyte in record.analyte:
                molecule = self.molecule(analyte)
                if lower or molecule not in self.model.analytes:
                    self.model.analytes[molecule] = healthy
        self.note_use(rule, used, "no population matches the biomarker's source")

    def healthy_copies(self, rule: Rule) -> str:
        """The parameter of a biomarker's copies per EV in healthy plasma: the rule's own where
        its analyte has a source for it (a molecule blood cells do not make), else the default."""
        if rule.background is not None:
            return self.book.add(f"{rule.id}.background", rule.background)
        return self.book.global_("analyte_background_copies")

    def load_donors(self, rule: Rule, record: Mechanism | Therapy, keys: list[str]) -> bool:
        """Donor populations and dosed exosomes of donor cells load the cargo (basal outside
        the donor state); whether any full donor or dose supplies it."""
        supplied = any(
            isinstance(i, ExosomeDose)
            and i.cargo is not None
            and self.cargo_key(self.molecule(i.cargo), None) in keys
            for i in self.arm.interventions
        )
        if record.donor is None:
            return supplied
        loading, state = self.book.rule(rule, "loading"), self.donor_state(rule, record)
        for pop in self.model.populations:
            for key in keys:
                basal = self.loads(record.donor, self.cargo_state(state, key, record.donor), pop)
                if basal is not None and not (basal and self.is_placeholder(key)):
                    self.add_secretion(pop, key, self.pool_loading(key, loading), basal)
                supplied = supplied or basal is False
        return self.load_doses(record.donor, state, keys, loading) or supplied

    def cargo_state(
        self, state: str | None, key: str, donor: CellRef
    ) -> str | tuple[str, ...] | None:
        """:meth:`state_of` for a pool key (a placeholder pool is its own donor's)."""
        if self.is_placeholder(key):
            return state
        return self.state_of(state, self.model.pool_cargo[key], donor)

    def load_doses(self, donor: CellRef, state: str | None, keys: list[str], loading: str) -> bool:
        """Exosomes dosed from donor cells carry the cargo as those cells would load it."""
        supplied = False
        for j, item in enumerate(self.arm.interventions):
            if not isinstance(item, ExosomeDose) or item.donor is None:
                continue
            virtual = Population(-1, item.donor.cell or "cell", item.donor.state, item.compartment)
            for key in keys:
                basal = self.loads(donor, self.cargo_state(state, key, donor), virtual)
                if basal is None or (basal and self.is_placeholder(key)):
                    continue
                table = self.model.dose_basal if basal else self.model.dose_cargo
                names = table.setdefault(j, {}).setdefault(key, [])
                if (name := self.pool_loading(key, loading)) not in names:
                    names.append(name)
                supplied = supplied or not basal
        return supplied

    def add_terms(self, rule: Rule, record: Mechanism | Therapy, keys: list[str]) -> bool:
        """One term per cargo signal, receiver and target; a target the same signal already
        drives in the same direction counts once (one receiver, one signal, one target)."""
        effects = self.effects_of(rule, record)
        omitted = [e for e in record.effects if e.phenotype in rule.omit]
        half_max, hill = self.book.rule(rule, "half_max"), self.book.rule(rule, "hill")
        plain = [e for e in effects if not self.kb.phenotypes[e.phenotype].drug]
        resistance = "+".join(e.phenotype for e in effects if self.kb.phenotypes[e.phenotype].drug)
        applied = False
        for receiver in (p for p in self.model.populations if self.matches(record.recipient, p)):  # type: ignore[arg-type]
            found = [
                (resistance, t, True) for t in self.resistance_targets(record, effects, receiver)
            ]
            for effect in plain:
                up = effect.direction == "promotes"
                if self.relayed(effect.phenotype, receiver):
                    applied = self.add_relay(rule, record, keys, effect, receiver) or applied
                    continue
                # an activity through which the receiver acts on its neighbours (acts_on
                # ``through``): it acts on them, and stays the receiver's activity level
                applied = self.add_relay(rule, record, keys, effect, receiver, True) or applied
                found += [
                    (effect.phenotype, t, u)
                    for t, u in self.targets_for(effect.phenotype, up, receiver)
                ]
            found += self.release_following(found, receiver)
            found += self.omitted_activities(omitted, receiver)
            for phenotype, target, up in found:
                level = self.level(rule, target, phenotype)
                for key in keys:
                    signal = self.signal(key, receiver)
                    if (signal, target, up) in self.counted:
                        continue
                    self.counted.add((signal, target, up))
                    term = Term(
                        rule.id,
                        record.id,
                        phenotype,
                        signal,
                        half_max,
                        hill,
                        up,
                        target,
                        level,
                        self.share(rule, key),
                    )
                    self.model.terms.append(term)
                    applied = True
        return applied

    def release_following(
        self, found: list[tuple[str, Target, bool]], receiver: Population
    ) -> list[tuple[str, Target, bool]]:
        """A receiver's exosome release follows the phenotypes the lifecycle names
        (``release_follows``: EMT, stemness): an effect on one of them moves its release too,
        by the same signal and direction (once per signal: at the first phenotype listed)."""
        moved = {(p, up) for p, _, up in found}
        return [
            (f.phenotype, Secretion(receiver.index), up)
            for f in self.lib.lifecycle.release_follows
            for up in (True, False)
            if (f.phenotype, up) in moved
        ]

    def level(self, rule: Rule, target: Target, phenotype: str = "") -> str:
        """The parameter a term moves its target towards: the maximal rate of a transition,
        that of a recruitment (the rule's own, else :meth:`recruitment`), the lifecycle's fold
        for a release that follows a phenotype (``release_follows``), else the fold of a base
        rate."""
        if isinstance(target, Secretion) and any(
            f.phenotype == phenotype for f in self.lib.lifecycle.release_follows
        ):
            return self.book.lifecycle(f"release_follows.{phenotype}")
        if isinstance(target, Recruitment) and rule.max_rate is None:
            return self.recruitment(target, "")
        induced = isinstance(target, Transition | Recruitment)
        return self.book.rule(rule, "max_rate" if induced else "fold")

    def recruitment(self, target: Target, other: str) -> str:
        """The maximal influx of a recruitment target (the recruited type's ``recruitment`` in
        cells.yaml), or ``other`` for any other target."""
        if not isinstance(target, Recruitment):
            return other
        cell = self.model.populations[target.dest].cell
        return self.book.global_(self.lib.behaviour_of(self.kb, cell).recruitment)

    # ------------------------------------------------------------ feedback (cells.yaml acts_on)

    def neighbours(self, source: Population, cell: str) -> list[Population]:
        """Populations of ``cell`` (and sub-types) in the compartment of ``source``."""
        kinds = self.kb.descendants(cell)
        return [
            p
            for p in self.model.populations
            if p.cell in kinds and p.compartment == source.compartment and p != source
        ]

    def relayed(self, phenotype: str, receiver: Population) -> bool:
        """Whether an effect on ``receiver`` is one its cell type exerts on other cells (a
        rate of those cells): the record's effect reaches them, not the receiver itself."""
        acts = self.lib.behaviour_of(self.kb, receiver.cell).acts_on
        behaviour = self.kb.phenotypes[phenotype].behaviour
        return behaviour in {"growth", "death", "survival"} and any(
            self.acts_as(phenotype, a) for a in acts if a.through is None
        )

    def acts_as(self, phenotype: str, act: Feedback) -> bool:
        """Whether an effect is what ``act`` does to its cells: the same phenotype, or one of
        the same rate whose receivers include them (a tumour's growth or progression in CAFs
        is the cancer cells' division, not the CAFs'); for an act ``through`` an activity of
        the acting cells (their cytokine release, their PD-L1), that activity."""
        if act.through is not None:
            return phenotype == act.through
        entry = self.kb.phenotypes[phenotype]
        kinds = {k for cell in entry.receivers for k in self.kb.descendants(cell)}
        same = entry.behaviour == self.kb.phenotypes[act.phenotype].behaviour
        return phenotype == act.phenotype or (same and (not kinds or act.cell in kinds))

    def add_relay(
        self,
        rule: Rule,
        record: Mechanism | Therapy,
        keys: list[str],
        effect: Effect,
        via: Population,
        through: bool = False,
    ) -> bool:
        """A record's effect on ``via`` acting on the cells ``via``'s type acts on: their signal
        is ``via``'s signal times its share of the compartment's cells over
        ``feedback_half_share``, at most ``via``'s own signal. ``through``: the effect is an activity of ``via`` by which it
        acts (acts_on ``through``); the act's phenotype changes, the way the effect goes."""
        up = effect.direction == "promotes"
        sources = dict.fromkeys(keys, -1)  # ``via``'s own signals, made as they are relayed
        return self.relay_effect(rule, record, sources, effect.phenotype, up, via, through)

    def relay_effect(
        self,
        rule: Rule,
        record: Mechanism | Therapy,
        sources: dict[str, int],
        phenotype: str,
        up: bool,
        via: Population,
        through: bool,
        depth: int = 0,
    ) -> bool:
        """:meth:`add_relay` from ``via``'s ``sources`` (its signal per key; -1: of that cargo
        key, made here). An activity that an act raises in its receivers and by which they act
        in turn (immunogenic death raising DCs' antigen presentation, by which DCs prime T
        cells) is relayed on, from the receivers' relayed signal; an act with a ``memory`` is
        held by its receivers (priming)."""
        half_max, hill = self.book.rule(rule, "half_max"), self.book.rule(rule, "hill")
        level, applied = self.book.rule(rule, "fold"), False
        acts = [
            a
            for a in self.lib.behaviour_of(self.kb, via.cell).acts_on
            if (a.through is not None) == through and self.acts_as(phenotype, a)
            if not (a.in_vivo and via.compartment == "culture")
        ]
        for act in acts:
            acted, u = phenotype, up
            if through:
                acted, u = act.phenotype, up == (act.direction == "promotes")
            for receiver in self.neighbours(via, act.cell):
                onward = {}
                for key, source in sources.items():
                    relay = f"{key} via {via.cell}"
                    cargo = self.model.relay.cargo.get(key) or self.model.pool_cargo[key]
                    self.model.relay.cargo[relay] = cargo
                    source = source if source >= 0 else self.signal(key, via)
                    signal = onward[relay] = self.relay(relay, receiver, via, source)
                    self.hold(signal, act)
                    if act.ligand is not None:  # PD-L1 engaging PD-1: blocked as PD-L1 is
                        self.model.relay.ligand[(relay, receiver.index)] = self.molecule(act.ligand)
                    for target, t_up in self.targets_for(acted, u, receiver):
                        term = Term(
                            rule.id,
                            record.id,
                            acted,
                            signal,
                            half_max,
                            hill,
                            t_up,
                            target,
                            self.recruitment(target, level),
                            self.share(rule, key),
                        )
                        applied = self.add_term(term) or applied
                if through and depth < RELAY_DEPTH:  # the receivers act on through it
                    applied = (
                        self.relay_effect(rule, record, onward, acted, u, receiver, True, depth + 1)
                        or applied
                    )
        return applied

    def hold(self, signal: int, act: Feedback) -> None:
        """A relayed signal that its receivers hold (acts_on ``memory``): priming."""
        if act.memory is not None:
            priming = self.book.global_(act.memory.priming)
            self.model.relay.memory[signal] = (priming, self.book.global_(act.memory.loss))

    def relay(self, key: str, receiver: Population, source: Population, relayed: int) -> int:
        """The signal ``key`` of ``receiver``, fed by ``source`` (its signal ``relayed``, or
        -1: its share of the compartment alone)."""
        signal = self.signal(key, receiver)
        sources = self.model.relay.sources.setdefault(signal, [])
        if (source.index, relayed) not in sources:
            sources.append((source.index, relayed))
        return signal

    def add_term(self, term: Term) -> bool:
        """Add a term unless its signal already drives its target in the same direction."""
        if (term.signal, term.target, term.up) in self.counted:
            return False
        self.counted.add((term.signal, term.target, term.up))
        self.model.terms.append(term)
        return True

    def add_feedback(self) -> None:
        """Cell types that act on their neighbours (cells.yaml ``acts_on``): a signal in each
        receiver, the acting type's share of the compartment's cells."""
        half_max = self.book.global_("feedback_half_share")
        hill, level = self.book.global_("rule_hill"), self.book.global_("rule_fold")
        for source in list(self.model.populations):
            entry = self.lib.behaviour_of(self.kb, source.cell)
            for act in (a for a in entry.acts_on if a.through is None):  # presence effects
                up = act.direction == "promotes"
                for receiver in self.neighbours(source, act.cell):
                    key = f"{entry.cell} cells"
                    self.model.relay.cargo[key] = ALL_EXOSOMES
                    signal = self.relay(key, receiver, source, -1)
                    self.hold(signal, act)
                    record = act.records[0] if act.records else ""
                    for target, u in self.targets_for(act.phenotype, up, receiver):
                        term = Term(
                            f"{entry.cell}-feedback",
                            record,
                            act.phenotype,
                            signal,
                            half_max,
                            hill,
                            u,
                            target,
                            self.recruitment(target, level),
                        )
                        self.add_term(term)

    def note_use(self, rule: Rule, used: bool, why: str) -> None:
        if used:
            if rule.id not in self.model.rules_used:
                self.model.rules_used.append(rule.id)
        else:
            self.model.notes.append(f"rule {rule.id} ({rule.record}) not used: {why}")

    # ------------------------------------------------------------ assembly

    def build(self, pruned: bool = True) -> CompiledModel:
        specs: list[PopulationSpec] = self.arm.populations or self.scenario.populations
        for spec in specs:
            pop = self.add_population(spec.cell, spec.state, spec.compartment, spec.count)
            if spec.surface:
                found = [self.kb.find_molecule(m) for m in spec.surface]
                self.model.surface[pop.index] = [f.id for f in found if f is not None]
        self.add_niche_copies()
        rules = self.selected_rules()
        self.note_stated(rules)
        for _ in range(4):  # transitions may add populations that further rules reach
            before = len(self.model.populations)
            self.model.terms.clear()
            self.model.signals.clear()
            self.model.activities.clear()
            self.model.secretion.clear()
            self.model.dose_cargo.clear()
            self.model.basal.clear()
            self.model.dose_basal.clear()
            self.counted.clear()
            self.model.rules_used.clear()
            self.model.notes.clear()
            self.model.relay.sources.clear()
            self.model.relay.memory.clear()
            self.model.relay.ligand.clear()
            self.model.binding.targeting.clear()
            self.model.binding.decoys.clear()
            self.model.binding.copies.clear()
            self.model.induced.clear()
            for rule in rules:
                self.apply_rule(rule)
            self.add_feedback()
            self.add_niche_copies()
            if len(self.model.populations) == before:
                break
        self.add_pools()
        self.model.resisted = {s: self.resistance.resisted(s) for s in self.kb.cell_states}
        names = [
            i.drug
            for i in self.arm.interventions
            if isinstance(i, DrugTreatment | CarrierTreatment)
        ]
        names += [r.drug for r in self.scenario.readouts if r.drug]
        self.model.drugs = sorted({self.molecule(n) for n in names})
        return assemble(self.kb, self.lib, self.scenario, self.arm, self.model, self.book, pruned)

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
                    self.add_population(pop.cell, pop.state, organ, origin=pop.origin)
                    if pop.origin:
                        self.add_population(pop.cell, pop.origin, organ)

    def add_pools(self) -> None:
        """One pool per cargo key (all exosomes first) in every compartment that holds
        exosomes, and the blood cells' exosomes in plasma."""
        comps, keys = self.pool_compartments(), self.pool_keys()
        self.model.pool_cargo[ALL_EXOSOMES] = ALL_EXOSOMES
        for key in [ALL_EXOSOMES, *sorted(keys)]:
            for comp in sorted(comps):
                self.model.pools[(key, comp)] = len(self.model.pools)
        if "plasma" in comps:  # blood cells' exosomes: counted in plasma, taken up by no one
            self.model.pool_cargo[BLOOD_EXOSOMES] = ALL_EXOSOMES
            self.model.pools[(BLOOD_EXOSOMES, "plasma")] = len(self.model.pools)

    def pool_compartments(self) -> set[str]:
        """Where exosomes are: the populations' compartments (with a tumour, also plasma and
        the niches) and those exosomes are dosed into."""
        comps = {p.compartment for p in self.model.populations}
        if "tumour" in comps:
            comps |= {"plasma", *NICHES}
        return comps | {i.compartment for i in self.arm.interventions if isinstance(i, ExosomeDose)}

    def pool_keys(self) -> set[str]:
        """The cargo keys that need pools: those loaded by cells or doses, taken up as signals,
        dosed as cargo, or read out as exosomes."""
        keys = {key for _, key in [*self.model.secretion, *self.model.basal]}
        keys |= {key for key, _ in self.model.signals if key not in self.model.relay.cargo}
        for doses in (self.model.dose_cargo, self.model.dose_basal):
            keys |= {key for loads in doses.values() for key in loads}
        named = [
            i.cargo
            for i in self.arm.interventions
            if isinstance(i, ExosomeDose) and i.cargo is not None
        ]
        named += [r.cargo for r in self.scenario.readouts if r.kind == "exosomes" and r.cargo]
        return keys | {self.cargo_key(self.molecule(cargo), None) for cargo in named}


def compile_arm(
    kb: KnowledgeBase, library: Library, scenario: Scenario, arm: Arm, pruned: bool = True
) -> CompiledModel:
    """Build the model of one arm of a scenario (``pruned``: only the variables that can change
    a readout; unpruned, every signal, pool and activity the rules make)."""
    return _Builder(kb, library, scenario, arm).build(pruned)
