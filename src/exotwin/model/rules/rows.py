"""Assemble a compiled arm's rows: index arrays into the state and the parameter vector.

:func:`assemble` turns what the compiler built from the rules (populations, pools, signals,
terms, named parameters) into the immutable rows :mod:`exotwin.model.ode.equations` evaluates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import ModelError as ModelError
from ...knowledge import KnowledgeBase
from ..ode.algebra import Segments
from ..scenario.schema import (
    Arm,
    CargoKnockdown,
    CargoOverexpression,
    CarrierTreatment,
    CellSelector,
    DrugTreatment,
    ExosomeDose,
    ReleaseInhibitor,
    Scenario,
    Schedule,
    SignalBlocker,
    StepIntervention,
    Surgery,
)
from .library import Library, organ_weight
from .lifecycle import cargo_key
from .parameters import ParameterBook, oral_parameter
from .prune import prune, takes_up
from .schema import NICHES, Drug, Param
from .table import (
    ALL_EXOSOMES,
    BLOOD_EXOSOMES,
    COMPARTMENTS,
    DRUG_VARS,
    Activity,
    Bools,
    Change,
    Death,
    Event,
    Gather,
    Growth,
    Ints,
    Killing,
    Layout,
    Parameters,
    Population,
    Recruitment,
    Secretion,
    Seeding,
    Survival,
    Target,
    Term,
    Transition,
    frozen,
)

if TYPE_CHECKING:
    from .compiler import Structure


# ------------------------------------------------------------ row types


@dataclass(frozen=True)
class CompartmentParams:
    """Parameter indices of the compartments' volumes, capacities and exosome losses."""

    culture_volume: int
    tumour_min_volume: int
    interstitial_volume_per_cell: int
    mouse_to_patient_tumour_share: int
    plasma_volume: int
    niche_volume: int
    culture_capacity: int
    tumour_capacity: int
    niche_capacity: int
    culture_decay: int
    tissue_decay: int
    tumour_drainage: int
    plasma_clearance: int
    plasma_background_ev: int
    analyte_background_copies: int
    niche_decay: int


@dataclass(frozen=True)
class ExchangeParams:
    """Parameter indices of uptake, signalling and seeding."""

    uptake_max: int
    uptake_half_saturation: int
    contact_signal: int
    internal_decay: int
    activity_relaxation: int
    seeding_rate: int
    basal_loading: int
    acquired_resistance_loss: int
    tumour_vascular_release: int


@dataclass(frozen=True)
class RouteRows:
    """Uptake routes (model/data/lifecycle): parameter indices of each route's share of the
    uptake capacity, its half-saturation (a multiple of ``uptake_half_saturation``) and the
    share of its cargo that reaches the cytoplasm; ``reference``: the cytoplasmic delivery of
    the data's nominal mix of routes, for which the rules' half-max values were set."""

    share: Ints
    half_saturation: Ints
    cytoplasm: Ints
    reference: float


@dataclass(frozen=True)
class KillerRow:
    """An immune killer population, the populations it kills and its kill-rate parameter."""

    killer: int
    victims: Ints
    rate: int


@dataclass(frozen=True)
class CellRows:
    """Per population: compartment, base rates (parameters), killing and seeding."""

    compartment: Ints
    cancer: Bools
    in_tumour: Bools
    counts_kill: Bools
    growth: Gather
    death: Gather
    secretion: Gather
    killers: tuple[KillerRow, ...]
    seed_source: Ints
    seed_dest: Ints
    seed_target: Ints  # behaviour target of the organ's seeding rate, -1: the base rate
    seed_weight: Gather  # the organ's weight for the seeding cell type (organotropism)
    niche_pop: Ints  # populations of a distant organ with a premetastatic-niche activity ...
    niche_activity: Ints  # ... that activity (index among the activities)
    revert_source: Ints  # cells with a resistance acquired from exosomes ...
    revert_dest: Ints  # ... return to the state they came from
    revert_held: Ints  # target of the transition that made them: its signal holds them, -1: none
    expanding: Ints  # effector populations (expands_when_active): a source from the blood ...
    source: Ints  # ... of their declared count (a parameter) times their base division


@dataclass(frozen=True)
class RuleRows:
    """One row per rule term; one column per behaviour target."""

    signal: Ints
    half_max: Ints
    share: Gather  # share of the signal's exosomes carrying the cargo (unspecified cargo), else 1
    hill: Ints
    up: Bools
    up_to_target: Segments
    down_to_target: Segments
    targets: tuple[Target, ...]
    transition: Bools  # per target: induced, zero without signal (transition, recruitment)
    base: Gather  # per target
    level_up: Gather
    level_down: Gather
    has_up: Bools
    has_down: Bools


@dataclass(frozen=True)
class BehaviourRows:
    """Where each target's value acts: (target, population) pairs per rate, transitions,
    activity levels."""

    growth: tuple[Ints, Ints]
    death: tuple[Ints, Ints]
    survival: tuple[Ints, Ints]
    killing: tuple[Ints, Ints]
    secretion: tuple[Ints, Ints]
    transition_target: Ints
    transition_source: Ints
    transition_dest: Ints
    activity_target: Ints  # per activity variable, -1: no rule reaches it
    # recruitment: per target, the recruiting population and the recruited one (its influx)
    recruit_target: Ints
    recruit_source: Ints
    recruit_dest: Ints


@dataclass(frozen=True)
class PoolRows:
    """Exosome pools: where they are, secretion into them, uptake, transport and decay."""

    compartment: Ints
    all_pool: Ints  # the all-exosomes pool of the same compartment, -1: none
    uptake: Bools
    release_pop: Ints  # every exosome a population releases enters its all-exosomes pool
    release_pool: Ints
    cargo_pop: Ints  # cargo rows: the population, its pool, loading and cargo index
    cargo_pool: Ints
    cargo_load: Gather  # the largest full loading of each cargo row
    cargo_basal: Gather  # the largest loading of rows loaded at the basal level (x basal)
    cargo_index: Ints
    transport_source: Ints
    transport_dest: Ints  # -1: cleared without a destination pool
    transport_rate: Ints
    transport_fraction: Ints  # -1: the whole rate
    background: Ints  # plasma pools with a healthy baseline from blood cells: all exosomes ...
    background_share: Ints  # ... and biomarker analytes: copies per EV (parameter; -1: all)
    target_pool: Ints  # pools of targeted exosomes (a ligand), per bound population ...
    target_pop: Ints
    target_fold: Ints  # ... its uptake fold (parameter)
    target_signal: Ints  # ... and the signal of the pool's cargo in it, -1: none


@dataclass(frozen=True)
class HomingRows:
    """The transport rows of PoolRows that end in an organ the exosomes home to
    (organotropism.yaml ``exosome_homing``) and the fold they weigh there (-1: none home)."""

    rows: Bools
    fold: int = -1


@dataclass(frozen=True)
class VesselRows:
    """Pools of the primary tumour and of the metastatic organs: a share of the cells' release
    enters the blood at the vessels, into the plasma pool of the same cargo (-1: none kept)."""

    source: Ints
    dest: Ints


@dataclass(frozen=True)
class Blocker:
    """A drug that blocks some signals with occupancy Kd / (C + Kd)."""

    drug: str
    kd: int
    signals: Ints


@dataclass(frozen=True)
class Decoy:
    """Exosomes of a receptor cargo that occupy a ligand (PD-1 on PD-L1): per signal of the
    ligand, the decoy's pool in its receivers' compartment and the decoy's own signal in them
    (-1: none), which becomes the ligand signal it occupies."""

    sites: int
    kd: int
    signals: Ints
    pool: Ints
    own: Ints


@dataclass(frozen=True)
class SignalRows:
    """Internal signals: the receiving population, the pool it takes up, contact, blockers."""

    pop: Ints
    pool: Ints  # -1: none
    cargo: Ints
    contact: tuple[tuple[int, Ints], ...]  # (signal, populations displaying its cargo)
    relay: tuple[tuple[int, Ints, Ints], ...]  # (signal, sources, their signal or -1)
    relay_share: int  # parameter: the share of cells a relayed signal is relative to, -1: none
    blockers: tuple[Blocker, ...]
    decoys: tuple[Decoy, ...] = ()
    # relayed signals their receivers hold (priming): (signal, priming rate, memory loss rate)
    memory: tuple[tuple[int, int, int], ...] = ()


@dataclass(frozen=True)
class CarrierRows:
    """Parameter indices of an exosome carrier: its half-life, the share of a dose that
    reaches a mouse tumour, the share of the rest freed off target, and what turns its
    effective concentration into an amount (molar mass; body size, -1 for a flat dose)."""

    half_life: int
    tumour_fraction: int
    free_share: int
    per_dose: int  # effective uM per dose unit (concentration_per_dose)
    molar_mass: int
    body: int


# the body size a dose unit is given per (none: a flat dose)
DOSE_BODY = {"mg/m2": "body_surface_area", "mg/kg": "body_weight", "mg": None}


@dataclass(frozen=True)
class DrugRows:
    """One drug: its state variables, parameters, the cells it kills, binding and carrier."""

    name: str
    var: dict[str, int]
    param: dict[str, int]
    kill_pop: Ints
    kill_resistant: Bools
    kill_counted: Bools
    kill_active: (
        Bools  # the drug kills these (an immune-mediated kill needs a host: not in culture)
    )
    bound_plasma: Ints  # pools whose exosomes bind the drug in plasma or medium
    bound_tumour: Ints
    binding: tuple[int, int] | None  # (sites, Kd) parameters
    carrier: CarrierRows | None
    export: int = -1  # share of efflux in vesicles (vesicular drug export), -1: none
    # given as a concentration in culture medium: (IC50 assay time, quiescent kill share)
    # parameters, and per killed population whether its kill follows the in-vitro IC50
    in_vitro: tuple[int, int] | None = None
    ic50_kill: Bools = field(default_factory=lambda: frozen([], bool))
    exporting: Bools = field(default_factory=lambda: frozen([], bool))  # per kill_pop


@dataclass(frozen=True)
class Induced:
    """A drug raising what donors put into exosomes while exposed (rule ``induced_by``): the
    loading of cargo rows of PoolRows, or the release of populations (``rows``); per row the
    donor population (whose drug level counts) and whether it resists the drug (EC50 x its
    resistance fold); the fold and EC50 parameters (-1: the drug's EC50)."""

    loading: bool
    drug: int  # index into Rows.drugs
    rows: Ints
    pops: Ints
    resistant: Bools
    fold: int
    ec50: int = -1


@dataclass(frozen=True)
class Factor:
    """An intervention scaling some rows from ``start``: by its parameter, or one minus it.

    At a lifecycle step the parameter (efficacy) acts on a ``share`` (parameter index, -1:
    all); a cargo's loading is relative to the vesicles still made (``bulk``: the share of
    vesicles the same machinery makes); ``fate`` (scaled rate, other rate, whether the scaled
    one is the release) makes it the change in the share of MVBs released."""

    rows: Ints
    param: int
    start: float
    complement: bool
    share: int = -1
    bulk: int = -1
    fate: tuple[int, int, bool] | None = None


@dataclass(frozen=True)
class FactorRows:
    release: tuple[Factor, ...]  # rows: populations
    loading: tuple[Factor, ...]  # rows: cargo
    block: tuple[Factor, ...]  # rows: cargo
    route: tuple[Factor, ...] = ()  # rows: route x populations + receiving population
    sorting: tuple[Factor, ...] = ()  # rows: cargo; the share of it still sorted into ILVs
    sorted_share: int = -1  # parameter: the share of displayed cargo sorted at baseline
    export: tuple[Factor, ...] = ()  # rows: drugs (a drug kept out of exosomes)


@dataclass(frozen=True)
class Rows:
    compartments: CompartmentParams
    exchange: ExchangeParams
    cells: CellRows
    rules: RuleRows
    behaviour: BehaviourRows
    pools: PoolRows
    signals: SignalRows
    drugs: tuple[DrugRows, ...]
    factors: FactorRows
    events: tuple[Event, ...]
    routes: RouteRows
    vessels: VesselRows
    homing: HomingRows
    induced: tuple[Induced, ...] = ()  # drugs raising donors' loading or release


@dataclass(frozen=True)
class CompiledModel:
    """One compiled arm: what the rules built, its parameter vector, state layout and rows."""

    scenario: Scenario
    arm: Arm
    structure: Structure
    parameters: Parameters
    layout: Layout
    cargo: tuple[str, ...]  # cargo molecule ids, the rows of loading and blocking factors
    rows: Rows
    initial: np.ndarray = field(repr=False)  # type: ignore[type-arg]

    @property
    def populations(self) -> list[Population]:
        return self.structure.populations

    @property
    def pools(self) -> dict[tuple[str, str], int]:
        return self.structure.pools

    @property
    def pool_cargo(self) -> dict[str, str]:
        return self.structure.pool_cargo

    @property
    def signals(self) -> dict[tuple[str, int], int]:
        return self.structure.signals

    @property
    def activities(self) -> dict[tuple[str, int], int]:
        return self.structure.activities

    @property
    def terms(self) -> list[Term]:
        return self.structure.terms

    @property
    def drugs(self) -> list[str]:
        return self.structure.drugs

    @property
    def rules_used(self) -> list[str]:
        return self.structure.rules_used

    @property
    def notes(self) -> list[str]:
        return self.structure.notes

    @property
    def compartments(self) -> list[str]:
        """The compartments that hold exosome pools."""
        return sorted({c for _, c in self.structure.pools})

    def population(self, cell: str, state: str | None, compartment: str) -> Population | None:
        return self.structure.population(cell, state, compartment)

    def selects(self, kb: KnowledgeBase, selector: CellSelector, pop: Population) -> bool:
        """Whether a population of this arm falls under a selector (see :func:`selects`)."""
        return selects(kb, selector, pop, self.structure.resisted)


# ------------------------------------------------------------ assembly


def assemble(
    kb: KnowledgeBase,
    lib: Library,
    scenario: Scenario,
    arm: Arm,
    structure: Structure,
    book: ParameterBook,
    pruned: bool = True,
) -> CompiledModel:
    """The rows of a compiled arm (raises :class:`ModelError` for an impossible arm);
    ``pruned``: without the variables no readout depends on (:mod:`.prune`)."""
    cargo = tuple(sorted(set(structure.pool_cargo[key] for key, _ in structure.pools)))
    if pruned:
        structure = prune(kb, lib, scenario, arm, structure)
    ctx = _Context(kb, lib, scenario, arm, structure, book, cargo)
    rows = Rows(
        compartments=CompartmentParams(**ctx.globals_of(CompartmentParams)),
        exchange=ExchangeParams(**ctx.globals_of(ExchangeParams)),
        cells=ctx.cell_rows(),
        rules=ctx.rule_rows(),
        behaviour=ctx.behaviour_rows(),
        pools=ctx.pool_rows(),
        signals=ctx.signal_rows(),
        drugs=tuple(ctx.drug_rows(d) for d in structure.drugs),
        factors=ctx.factor_rows(),
        events=ctx.event_rows(),
        routes=ctx.route_rows(),
        vessels=ctx.vessel_rows(),
        homing=ctx.homing_rows(),
        induced=ctx.induced_rows(),
    )
    parameters = Parameters(tuple(book.entries), tuple(book.entries.values()))
    initial = np.zeros(ctx.layout.size)
    initial[: ctx.layout.pools] = structure.initial
    initial[ctx.layout.activities : ctx.layout.drugs] = 1.0
    initial.setflags(write=False)
    return CompiledModel(scenario, arm, structure, parameters, ctx.layout, ctx.cargo, rows, initial)


def layout_of(structure: Structure) -> Layout:
    p = len(structure.populations)
    q = p + len(structure.pools)
    s = q + len(structure.signals)
    a = s + len(structure.activities)
    n = a + len(DRUG_VARS) * len(structure.drugs)
    return Layout(0, p, q, s, a, n, {d: i for i, d in enumerate(structure.drugs)})


def selects(
    kb: KnowledgeBase,
    selector: CellSelector,
    pop: Population,
    resisted: Mapping[str, frozenset[str]] | None = None,
) -> bool:
    """Whether a population falls under a selector: cell and state include sub-types, and a
    resistant state (with ``resisted``, the drugs each state resists) includes every state
    that resists at least its drugs (P-gp-expressing cells are doxorubicin-resistant)."""
    if selector.cell and pop.cell not in kb.descendants(selector.cell):
        return False
    if selector.state and not _state_matches(kb, selector.state, pop.state, resisted or {}):
        return False
    return not (selector.compartment and pop.compartment != selector.compartment)


def _state_matches(
    kb: KnowledgeBase, wanted: str, state: str | None, resisted: Mapping[str, frozenset[str]]
) -> bool:
    if state is None:
        return False
    if state in kb.descendants(wanted):
        return True
    drugs = resisted.get(wanted, frozenset())
    return bool(drugs) and drugs <= resisted.get(state, frozenset())


def _columns(rows: Sequence[tuple[int, ...]], width: int) -> list[Ints]:
    """The columns of rows of ``width`` integers, each a read-only array (empty: no rows)."""
    return [frozen([row[k] for row in rows]) for k in range(width)]


@dataclass
class _Context:
    kb: KnowledgeBase
    lib: Library
    scenario: Scenario
    arm: Arm
    structure: Structure
    book: ParameterBook
    cargo: tuple[str, ...]  # every cargo of the rules, pruned or not: rows of the factors

    def __post_init__(self) -> None:
        s = self.structure
        self.layout = layout_of(s)
        self.targets: list[Target] = list(dict.fromkeys(t.target for t in s.terms))
        self.target_index = {t: i for i, t in enumerate(self.targets)}

    def param(self, name: str) -> int:
        return self.book.index(self.book.global_(name))

    def globals_of(self, kind: type) -> dict[str, int]:
        return {f.name: self.param(f.name) for f in fields(kind)}

    def molecule(self, name: str) -> str:
        found = self.kb.find_molecule(name)
        return found.id if found is not None else name

    # ---------------------------------------------------------- cells

    def base_rates(self) -> dict[str, list[list[int]]]:
        """Per population, the parameter of its division (in culture, the culture rate;
        recruited cells do not divide), death and secretion rate (none: an empty list)."""
        rates: dict[str, list[list[int]]] = {"growth": [], "death": [], "secretion": []}
        for p in self.structure.populations:
            entry = self.lib.behaviour_of(self.kb, p.cell)
            growth = None if p.recruited else entry.growth
            if p.compartment == "culture" and entry.growth_in_culture:
                growth = entry.growth_in_culture
            for name, ref in (
                ("growth", growth),
                ("death", entry.death),
                ("secretion", entry.secretion),
            ):
                rates[name].append([self.param(ref)] if ref else [])
        return rates

    def cell_rows(self) -> CellRows:
        pops = self.structure.populations
        rates = self.base_rates()
        cancer = self.kb.descendants("cancer_cell")
        seeding = [
            (p.index, dest.index, self.target_index.get(Seeding(o), -1))
            for p in pops
            if p.compartment == "tumour" and p.cell in cancer
            for o in NICHES
            if (dest := self.structure.population(p.cell, p.state, o, p.origin)) is not None
        ]
        niche_pop, niche_activity = _columns(self._niches(), 2)
        reverting = [
            (p.index, back.index, self.target_index.get(Transition(back.index, p.index), -1))
            for p in pops
            if p.origin and (back := self.structure.population(p.cell, p.origin, p.compartment))
        ]
        return CellRows(
            compartment=frozen([COMPARTMENTS.index(p.compartment) for p in pops]),
            cancer=frozen([p.cell in cancer for p in pops], bool),
            in_tumour=frozen([p.compartment == "tumour" for p in pops], bool),
            counts_kill=frozen([p.compartment in {"tumour", "culture"} for p in pops], bool),
            growth=Gather.of(rates["growth"]),
            death=Gather.of(rates["death"]),
            secretion=Gather.of(rates["secretion"]),
            killers=self._killers(),
            seed_source=frozen([a for a, _, _ in seeding]),
            seed_dest=frozen([b for _, b, _ in seeding]),
            seed_target=frozen([c for _, _, c in seeding]),
            seed_weight=Gather.of(
                [self._organ_weight(pops[a].cell, pops[b].compartment) for a, b, _ in seeding],
                [1.0] * len(seeding),
            ),
            niche_pop=niche_pop,
            niche_activity=niche_activity,
            revert_source=frozen([a for a, _, _ in reverting]),
            revert_dest=frozen([b for _, b, _ in reverting]),
            revert_held=frozen([c for _, _, c in reverting]),
            **self._effector_rows(),
        )

    def _effector_rows(self) -> dict[str, Ints]:
        """The effector populations and the parameters of their declared counts."""
        found = self._effectors()
        counts = [self.book.count(p.index, self.structure.initial[p.index]) for p in found]
        return {
            "expanding": frozen([p.index for p in found]),
            "source": frozen([self.book.index(name) for name in counts]),
        }

    def _effectors(self) -> list[Population]:
        """The populations whose activation drives their division (``expands_when_active``,
        not recruited): they come from a constant source and divide above it when activated."""
        return [
            p
            for p in self.structure.populations
            if not p.recruited and self.lib.behaviour_of(self.kb, p.cell).expands_when_active
        ]

    def _niches(self) -> list[tuple[int, int]]:
        """(population, activity) of the premetastatic niches: non-cancer cells of a distant
        organ with a niche activity."""
        pops, cancer = self.structure.populations, self.kb.descendants("cancer_cell")
        return [
            (pop, i)
            for (phenotype, pop), i in sorted(self.structure.activities.items())
            if self.kb.phenotypes[phenotype].behaviour == "niche"
            and pops[pop].compartment in NICHES
            and pops[pop].cell not in cancer
        ]

    def _organ_weight(self, cell: str, organ: str) -> list[int]:
        """The organotropism parameter of a cell type and organ (none: weight 1)."""
        found = organ_weight(self.lib, self.kb, cell, organ)
        if found is None:
            return []
        entry, weight, source = found
        param = Param(value=weight, unit="relative to the average organ", source=source)
        return [self.book.index(self.book.add(f"organotropism.{entry}.{organ}", param))]

    def _killers(self) -> tuple[KillerRow, ...]:
        """Immune killers and the populations of their compartment they kill."""
        pops, found = self.structure.populations, []
        for p in pops:
            entry = self.lib.behaviour_of(self.kb, p.cell)
            if entry.kill_rate:
                killable = {c for k in entry.kills for c in self.kb.descendants(k)}
                victims = [q.index for q in pops if q.cell in killable]
                victims = [v for v in victims if pops[v].compartment == p.compartment]
                found.append(KillerRow(p.index, frozen(victims), self.param(entry.kill_rate)))
        return tuple(found)

    # ---------------------------------------------------------- rules

    def rule_rows(self) -> RuleRows:
        terms, targets, n_t = self.structure.terms, self.targets, len(self.targets)
        index = self.target_index
        up = [t.up for t in terms]
        levels: dict[bool, list[list[int]]] = {
            True: [[] for _ in targets],
            False: [[] for _ in targets],
        }
        for t in terms:
            found = levels[t.up][index[t.target]]
            if (i := self.book.index(t.level)) not in found:
                found.append(i)
        transition = [isinstance(t, Transition | Recruitment) for t in targets]
        return RuleRows(
            signal=frozen([t.signal for t in terms]),
            half_max=frozen([self.book.index(t.half_max) for t in terms]),
            share=Gather.of(
                [[] if t.share is None else [self.book.index(t.share)] for t in terms],
                [1.0] * len(terms),
            ),
            hill=frozen([self.book.index(t.hill) for t in terms]),
            up=frozen(up, bool),
            up_to_target=Segments.of([index[t.target] for t in terms if t.up], n_t),
            down_to_target=Segments.of([index[t.target] for t in terms if not t.up], n_t),
            targets=tuple(targets),
            transition=frozen(transition, bool),
            base=self._target_base(),
            level_up=Gather.of(levels[True], [0.0] * n_t),
            level_down=Gather.of(levels[False], [0.0] * n_t),
            has_up=frozen([bool(x) for x in levels[True]], bool),
            has_down=frozen([bool(x) for x in levels[False]], bool),
        )

    def _target_base(self) -> Gather:
        """Each target's value without signal: the population's base rate, the base seeding
        rate, zero for an induced transition, one for a multiplier or an activity."""
        cells = self.base_rates()
        rows: list[list[int]] = []
        default: list[float] = []
        for target in self.targets:
            match target:
                case Growth(pop):
                    rows.append(cells["growth"][pop])
                case Death(pop):
                    rows.append(cells["death"][pop])
                case Seeding():
                    rows.append([self.param("seeding_rate")])
                case _:
                    rows.append([])
            zero = isinstance(target, Growth | Death | Transition | Recruitment)
            default.append(0.0 if zero else 1.0)
        return Gather.of(rows, default)

    def behaviour_rows(self) -> BehaviourRows:
        def pairs(kind: type[Growth | Death | Survival | Killing | Secretion]) -> tuple[Ints, Ints]:
            found = [(i, t.pop) for i, t in enumerate(self.targets) if isinstance(t, kind)]
            return frozen([a for a, _ in found]), frozen([b for _, b in found])

        moves = [(i, t) for i, t in enumerate(self.targets) if isinstance(t, Transition)]
        influx = [(i, t) for i, t in enumerate(self.targets) if isinstance(t, Recruitment)]
        acts = sorted(self.structure.activities.items(), key=lambda kv: kv[1])
        return BehaviourRows(
            growth=pairs(Growth),
            death=pairs(Death),
            survival=pairs(Survival),
            killing=pairs(Killing),
            secretion=pairs(Secretion),
            transition_target=frozen([i for i, _ in moves]),
            transition_source=frozen([t.source for _, t in moves]),
            transition_dest=frozen([t.dest for _, t in moves]),
            activity_target=frozen(
                [self.target_index.get(Activity(ph, pop), -1) for (ph, pop), _ in acts]
            ),
            recruit_target=frozen([i for i, _ in influx]),
            recruit_source=frozen([t.source for _, t in influx]),
            recruit_dest=frozen([t.dest for _, t in influx]),
        )

    # ---------------------------------------------------------- exosomes

    def pool_rows(self) -> PoolRows:
        """Each pool's compartment, the release of all exosomes, cargo loading, transport
        between compartments and the healthy plasma background."""
        s = self.structure
        pools = sorted(s.pools.items(), key=lambda kv: kv[1])
        comps = [c for (_, c), _ in pools]
        all_of = {c: s.pools.get((ALL_EXOSOMES, c), -1) for c in COMPARTMENTS}
        release_pop, release_pool = _columns(self._release(all_of), 2)
        cargo = self._loaded_cargo()
        source, dest, rate, fraction, _ = _columns(self._transport(pools), 5)
        background = self._background(pools)
        target_pool, target_pop, target_fold, target_signal = _columns(self._targeted(pools), 4)
        return PoolRows(
            compartment=frozen([COMPARTMENTS.index(c) for c in comps]),
            all_pool=frozen([all_of[c] for c in comps]),
            uptake=frozen([takes_up(c) for c in comps], bool),
            release_pop=release_pop,
            release_pool=release_pool,
            cargo_pop=frozen([pop for pop, _ in cargo]),
            cargo_pool=frozen([self._pool_of(pop, key) for pop, key in cargo]),
            cargo_load=self._loads(s.secretion, cargo),
            cargo_basal=self._loads(s.basal, cargo),
            cargo_index=frozen([self.cargo.index(s.pool_cargo[key]) for _, key in cargo]),
            transport_source=source,
            transport_dest=dest,
            transport_rate=rate,
            transport_fraction=fraction,
            background=frozen([i for i, _ in background]),
            background_share=frozen([share for _, share in background]),
            target_pool=target_pool,
            target_pop=target_pop,
            target_fold=target_fold,
            target_signal=target_signal,
        )

    def homing_rows(self) -> HomingRows:
        """Which transport rows end in an organ their exosomes home to (the fold is a parameter
        whenever a rule's exosomes home, pruned or not: a cohort draws the same values)."""
        pools = sorted(self.structure.pools.items(), key=lambda kv: kv[1])
        homing = [row[4] for row in self._transport(pools)]
        fold = self.param("exosome_homing_fold") if self.structure.binding.homing else -1
        return HomingRows(frozen(homing, bool), fold)

    def vessel_rows(self) -> VesselRows:
        """Each pool of a vascularised site (the primary tumour and the organs metastases grow
        in) and the plasma pool of its cargo (-1: none)."""
        s = self.structure
        sites = {"tumour", *NICHES}
        tumour = [(key, i) for (key, comp), i in sorted(s.pools.items()) if comp in sites]
        return VesselRows(
            source=frozen([i for _, i in tumour]),
            dest=frozen([s.pools.get((key, "plasma"), -1) for key, _ in tumour]),
        )

    def _targeted(self, pools: list[tuple[tuple[str, str], int]]) -> list[tuple[int, ...]]:
        """(pool, bound population, fold parameter, signal) of exosomes with a ligand."""
        s = self.structure
        return [
            (i, p.index, self.book.index(fold), s.signals.get((key, p.index), -1))
            for (key, comp), i in pools
            for cell, fold in s.binding.targeting.get(key, [])
            for p in s.populations
            if p.compartment == comp and p.cell in self.kb.descendants(cell)
        ]

    def _release(self, all_of: dict[str, int]) -> list[tuple[int, int]]:
        """(population, all-exosomes pool of its compartment) of every population that has one."""
        release = [(p.index, all_of[p.compartment]) for p in self.structure.populations]
        return [(p, q) for p, q in release if q >= 0]

    def _loaded_cargo(self) -> list[tuple[int, str]]:
        """(population, cargo key) of every loading, full or basal, whose pool exists."""
        s = self.structure
        rows = list(dict.fromkeys([*s.secretion, *s.basal]))
        return [(pop, key) for pop, key in rows if (key, s.populations[pop].compartment) in s.pools]

    def induced_rows(self) -> tuple[Induced, ...]:
        """The arm's drugs that raise donors' loading (of cargo rows whose pool exists) or
        release, one entry per drug, kind and parameters."""
        s = self.structure
        cargo = {row: i for i, row in enumerate(self._loaded_cargo())}
        grouped: dict[tuple[bool, str, str, str | None], list[tuple[int, int]]] = {}
        for (pop, key, drug), (fold, ec50) in s.induced.items():
            row = pop if key is None else cargo.get((pop, key), -1)
            if drug in s.drugs and row >= 0:
                grouped.setdefault((key is not None, drug, fold, ec50), []).append((row, pop))
        found = []
        for (loading, drug, fold, ec50), rows in grouped.items():
            resisted = [drug in s.resisted.get(s.populations[p].state or "", ()) for _, p in rows]
            found.append(
                Induced(
                    loading=loading,
                    drug=s.drugs.index(drug),
                    rows=frozen([r for r, _ in rows]),
                    pops=frozen([p for _, p in rows]),
                    resistant=frozen(resisted, bool),
                    fold=self.book.index(fold),
                    ec50=self.book.index(ec50) if ec50 is not None else -1,
                )
            )
        return tuple(found)

    def _pool_of(self, pop: int, key: str) -> int:
        """The pool of a cargo key in a population's compartment."""
        s = self.structure
        return s.pools[(key, s.populations[pop].compartment)]

    def _loads(
        self, table: dict[tuple[int, str], list[str]], cargo: list[tuple[int, str]]
    ) -> Gather:
        """The loading parameters of each cargo row in one loading table."""
        return Gather.of([[self.book.index(n) for n in table.get(row, [])] for row in cargo])

    def _background(self, pools: list[tuple[tuple[str, str], int]]) -> list[tuple[int, int]]:
        """(pool, copies per EV parameter or -1) of the plasma pools with a healthy baseline:
        the blood cells' exosomes (-1: all of them), and biomarker analytes."""
        s = self.structure
        return [
            (i, -1 if key == BLOOD_EXOSOMES else self.book.index(s.analytes[s.pool_cargo[key]]))
            for (key, comp), i in pools
            if key == BLOOD_EXOSOMES or (comp == "plasma" and s.pool_cargo[key] in s.analytes)
        ]

    def _transport(
        self, pools: list[tuple[tuple[str, str], int]]
    ) -> list[tuple[int, int, int, int, int]]:
        """Tumour exosomes drain to plasma; plasma clearance delivers fractions to niches, more
        to the organs the exosomes home to (1: a homing destination), and to the primary
        tumour a share per tumour cell (its row ends in the tumour pool)."""
        s = self.structure
        found = []
        for (key, comp), i in pools:
            if comp == "tumour" and (key, "plasma") in s.pools:
                found.append((i, s.pools[(key, "plasma")], self.param("tumour_drainage"), -1, 0))
            if comp == "plasma" and key != BLOOD_EXOSOMES:
                if (key, "tumour") in s.pools:
                    share = self.param("tumour_clearance_share")
                    clearance = self.param("plasma_clearance")
                    found.append((i, s.pools[(key, "tumour")], clearance, share, 0))
                homes = s.binding.homing.get(key, set())
                for organ in NICHES:
                    if (key, organ) in s.pools:
                        fraction = self.param(f"niche_fraction_{organ}")
                        clearance = self.param("plasma_clearance")
                        dest = s.pools[(key, organ)]
                        found.append((i, dest, clearance, fraction, int(organ in homes)))
        return found

    def signal_rows(self) -> SignalRows:
        s = self.structure
        ordered = sorted(s.signals.items(), key=lambda kv: kv[1])
        pops = s.populations
        cargo = [s.relay.cargo.get(key) or s.pool_cargo[key] for (key, _), _ in ordered]
        contact = []
        for i, ((_, p), _) in enumerate(ordered):
            sources = [
                q
                for q, mols in s.surface.items()
                if cargo[i] in mols and pops[q].compartment == pops[p].compartment
            ]
            if sources:
                contact.append((i, frozen(sources)))
        relay = [
            (i, frozen([a for a, _ in found]), frozen([b for _, b in found]))
            for i, found in sorted(s.relay.sources.items())
        ]
        # what a relayed signal reaches its receivers by (acts_on ``ligand``: PD-L1)
        ligand = [s.relay.ligand.get(kp) for kp, _ in ordered]
        return SignalRows(
            pop=frozen([p for (_, p), _ in ordered]),
            pool=frozen([s.pools.get((key, pops[p].compartment), -1) for (key, p), _ in ordered]),
            cargo=frozen([self.cargo.index(c) for c in cargo]),
            contact=tuple(contact),
            relay=tuple(relay),
            relay_share=self.param("feedback_half_share") if s.relay.sources else -1,
            blockers=self._blockers(ordered, cargo, ligand),
            decoys=self._decoys(ordered, cargo, ligand),
            memory=self._memory(),
        )

    def _memory(self) -> tuple[tuple[int, int, int], ...]:
        """The held signals (priming) with their priming and memory-loss parameters."""
        return tuple(
            (i, self.book.index(rise), self.book.index(loss))
            for i, (rise, loss) in sorted(self.structure.relay.memory.items())
        )

    def _blockers(
        self,
        ordered: list[tuple[tuple[str, int], int]],
        cargo: list[str],
        ligand: list[str | None],
    ) -> tuple[Blocker, ...]:
        """Per blocking drug, the signals of the cargo it blocks (or relayed by it as a
        ligand) in the receivers it blocks in (``blocks_in``; none named: every receiver)."""
        found = []
        for name in self.structure.drugs:
            drug = self.lib.drugs[name]
            if drug.block_kd is None:
                continue
            blocked = {self.molecule(x) for x in drug.blocks_cargo}
            cells = {c for k in drug.blocks_in for c in self.kb.descendants(k)}
            signals = [
                i
                for i, ((_, p), _) in enumerate(ordered)
                if (cargo[i] in blocked or ligand[i] in blocked)
                and (not cells or self.structure.populations[p].cell in cells)
            ]
            kd = self.book.index(self.book.drug(name, "block_kd"))
            found.append(Blocker(name, kd, frozen(signals)))
        return tuple(found)

    def _decoys(
        self,
        ordered: list[tuple[tuple[str, int], int]],
        cargo: list[str],
        ligand: list[str | None],
    ) -> tuple[Decoy, ...]:
        """The decoy rows: for each decoy cargo, the signals of its ligand it reaches; what
        it occupies of a relayed ligand (acts_on ``ligand``) is not its own signal too (the
        receiver's own decoy signal is what it occupies of contact and exosomal ligand)."""
        s, found = self.structure, []
        for key, (bound, sites, kd) in sorted(s.binding.decoys.items()):
            rows = [
                (i, pool, -1 if ligand[i] == bound else s.signals.get((key, p), -1))
                for i, ((_, p), _) in enumerate(ordered)
                if bound in (cargo[i], ligand[i])
                and (pool := s.pools.get((key, s.populations[p].compartment), -1)) >= 0
            ]
            if rows:
                signals, pools, own = zip(*rows, strict=True)
                found.append(
                    Decoy(
                        self.book.index(sites),
                        self.book.index(kd),
                        frozen(signals),
                        frozen(pools),
                        frozen(own),
                    )
                )
        return tuple(found)

    # ---------------------------------------------------------- drugs

    def drug_rows(self, name: str) -> DrugRows:
        drug = self.lib.drugs[name]
        kill = [
            (p, resistant)
            for p in self.structure.populations
            if p.compartment != "plasma" and (resistant := self._resistance(drug, p)) is not None
        ]
        params = ["half_life", "kill_max", "ec50", "hill", "resistance_fold", "tumour_exchange"]
        if drug.growth_inhibition is not None:
            params.append("growth_inhibition")
        binding, in_pool = self._binding(drug)
        return DrugRows(
            name=name,
            var={v: self.layout.drug(name, v) for v in DRUG_VARS},
            param={p: self.book.index(self.book.drug(name, p)) for p in params},
            kill_pop=frozen([p.index for p, _ in kill]),
            kill_resistant=frozen([r for _, r in kill], bool),
            kill_counted=frozen([p.compartment in {"tumour", "culture"} for p, _ in kill], bool),
            kill_active=frozen(
                [not (drug.immune_mediated and p.compartment == "culture") for p, _ in kill], bool
            ),
            bound_plasma=frozen([i for i, c in in_pool if c in {"plasma", "culture"}]),
            bound_tumour=frozen([i for i, c in in_pool if c == "tumour"]),
            binding=binding,
            carrier=self._carrier(name),
            **self._export(name, [p for p, _ in kill]),
            **self._in_vitro(drug, [p for p, _ in kill]),
        )

    def _in_vitro(self, drug: Drug, pops: list[Population]) -> dict[str, Any]:
        """A drug the arm gives as a concentration sits in the medium; a cytotoxic one kills
        the cultured cells as its in-vitro IC50 says (parameters ic50_assay_time and
        quiescent_kill_share)."""
        given = any(
            isinstance(i, DrugTreatment)
            and i.concentration is not None
            and self.molecule(i.drug) == self.molecule(drug.id)
            for i in self.arm.interventions
        )
        if not given:
            return {}
        book, cytotoxic = self.book, drug.drug_class == "chemotherapy"
        return {
            "in_vitro": (
                book.index(book.global_("ic50_assay_time")),
                book.index(book.global_("quiescent_kill_share")),
            ),
            "ic50_kill": frozen([cytotoxic and p.compartment == "culture" for p in pops], bool),
        }

    def _exported(self, drug: str) -> bool:
        """Whether the arm uses a rule of the drug's vesicular export (drug_export.yaml)."""
        entry = self.lib.drug_export.get(drug)
        return entry is not None and any(
            self.lib.rules[r].record in entry.records for r in self.structure.rules_used
        )

    def _export(self, name: str, pops: list[Population]) -> dict[str, Any]:
        """Vesicular export of the drug (data/drug_export.yaml): its share parameter and,
        per killed population, whether the population exports it."""
        entry = self.lib.drug_export.get(name)
        if entry is None or not self._exported(name):
            return {}
        exporting = set(self.kb.descendants(entry.cell))
        return {
            "export": self.book.index(self.book.add(f"{name}.vesicular_export", entry.share)),
            "exporting": frozen([p.cell in exporting for p in pops], bool),
        }

    def _binding(self, drug: Drug) -> tuple[tuple[int, int] | None, list[tuple[int, str]]]:
        """The (sites, Kd) parameters of exosomes that bind the drug, and their pools."""
        if drug.binding_sites is None or drug.binding_kd is None:
            return None, []
        book, s = self.book, self.structure
        bound = {self.molecule(c) for c in drug.bound_by_cargo}
        pools = sorted(s.pools.items(), key=lambda kv: kv[1])
        in_pool = [(i, c) for (key, c), i in pools if s.pool_cargo[key] in bound]
        sites = book.index(book.drug(drug.id, "binding_sites"))
        return (sites, book.index(book.drug(drug.id, "binding_kd"))), in_pool

    def _resistance(self, drug: Drug, pop: Population) -> bool | None:
        """None when the drug does not kill the population, else whether it resists it."""
        killable = {c for k in drug.kills for c in self.kb.descendants(k)}
        if pop.cell not in killable:
            return None
        return drug.id in self.structure.resisted.get(pop.state or "", frozenset())

    def _carrier(self, name: str) -> CarrierRows | None:
        drug = self.lib.drugs[name]
        for j, item in enumerate(self.arm.interventions):
            if isinstance(item, CarrierTreatment) and self.molecule(item.drug) == name:
                if drug.molar_mass is None or drug.dose_unit not in DOSE_BODY:
                    needs = (
                        "its molar_mass in drugs.yaml"
                        if drug.molar_mass is None
                        else f"a dose unit of {', '.join(DOSE_BODY)}, not {drug.dose_unit!r}"
                    )
                    raise ModelError(
                        f"arm {self.arm.name!r}: an exosome carrier delivers an amount of "
                        f"{name!r}, which needs {needs}",
                        ("interventions", j, "drug"),
                    )
                book, body = self.book, DOSE_BODY[drug.dose_unit]
                half = book.add(f"intervention{j}.carrier_half_life", item.carrier_half_life)
                share = book.add(f"intervention{j}.tumour_fraction", item.tumour_fraction)
                return CarrierRows(
                    half_life=book.index(half),
                    tumour_fraction=book.index(share),
                    free_share=self.param("carrier_offtarget_free_share"),
                    per_dose=book.index(book.drug(name, "concentration_per_dose")),
                    molar_mass=book.index(book.drug(name, "molar_mass")),
                    body=-1 if body is None else self.param(body),
                )
        return None

    # ---------------------------------------------------------- interventions

    def factor_rows(self) -> FactorRows:
        release, loading, block, route, sorting, export = [], [], [], [], [], []
        for j, item in enumerate(self.arm.interventions):
            match item:
                case CargoKnockdown() if self._exported(self.molecule(item.cargo)):
                    rows = [self._drug_row(j, item.cargo)]  # the drug kept out of exosomes
                    export.append(
                        self._factor(j, rows, "efficacy", item.efficacy, item.start, True)
                    )
                case ReleaseInhibitor():
                    pops = self._selected(j, "donors", item.donors)
                    release.append(
                        self._factor(j, pops, "efficacy", item.efficacy, item.start, True)
                    )
                case StepIntervention():
                    steps = self._lifecycle_factors(j, item)
                    release += steps["release"]
                    loading += steps["loading"]
                    route += steps["route"]
                    sorting += steps.get("sorting", [])
                case CargoKnockdown():
                    rows = [self._cargo_row(j, item.cargo)]
                    loading.append(
                        self._factor(j, rows, "efficacy", item.efficacy, item.start, True)
                    )
                case CargoOverexpression():
                    rows = [self._cargo_row(j, item.cargo)]
                    loading.append(self._factor(j, rows, "fold", item.fold, 0.0, False))
                case SignalBlocker():
                    rows = [self._cargo_row(j, item.cargo)]
                    block.append(self._factor(j, rows, "efficacy", item.efficacy, item.start, True))
        share = self.param("surface_sorted_share") if sorting else -1
        return FactorRows(
            tuple(release),
            tuple(loading),
            tuple(block),
            tuple(route),
            sorting=tuple(sorting),
            sorted_share=share,
            export=tuple(export),
        )

    def _drug_row(self, j: int, cargo: str) -> int:
        """The row of a drug an intervention keeps out of exosomes: one the arm gives."""
        molecule = self.molecule(cargo)
        if molecule not in self.structure.drugs:
            raise ModelError(
                f"arm {self.arm.name!r}: {cargo!r} is a drug this arm does not give, so keeping "
                "it out of exosomes would change nothing",
                ("interventions", j, "cargo"),
            )
        return list(self.structure.drugs).index(molecule)

    def _selected(self, j: int, name: str, selector: CellSelector | None) -> list[int]:
        """The populations an intervention's selector (none: every population) matches."""
        pops = self.structure.populations
        found = [
            p.index
            for p in pops
            if selector is None or selects(self.kb, selector, p, self.structure.resisted)
        ]
        if not found:
            raise ModelError(
                f"arm {self.arm.name!r}: no population of the arm matches these {name} "
                f"(populations: {', '.join(p.label for p in pops)})",
                ("interventions", j, name),
            )
        return found

    def _lifecycle_factors(self, j: int, item: StepIntervention) -> dict[str, list[Factor]]:
        """The factors of an intervention at a lifecycle step: release per donor population,
        loading per cargo, one uptake route per receiver population (docs/biogenesis.md)."""
        life, book = self.lib.lifecycle, self.book
        efficacy = book.index(book.intervention(j, "efficacy", item.efficacy))
        found: dict[str, list[Factor]] = {"release": [], "loading": [], "route": []}
        if item.step == "uptake":
            route = [r.id for r in life.routes].index(item.route or "")  # checked at load
            size = len(self.structure.populations)
            receivers = [route * size + p for p in self._selected(j, "receivers", item.receivers)]
            found["route"].append(Factor(frozen(receivers), efficacy, item.start, True))
            return found
        pops = frozen(self._selected(j, "donors", item.donors))
        if item.step in {"mvb_release", "lysosomal_fusion"}:
            release = book.index(book.lifecycle("mvb_release"))
            degradation = book.index(book.lifecycle("mvb_degradation"))
            fate = (release, degradation, True)
            if item.step == "lysosomal_fusion":
                fate = (degradation, release, False)
            found["release"].append(Factor(pops, efficacy, item.start, True, fate=fate))
            return found
        if item.step == "mvb_production":
            found["release"].append(Factor(pops, efficacy, item.start, True))
            return found
        return self._machinery_factors(j, item, efficacy, pops)

    def _machinery_factors(
        self, j: int, item: StepIntervention, efficacy: int, pops: Ints
    ) -> dict[str, list[Factor]]:
        """Depleting sorting machinery or a loader: fewer vesicles by its bulk share, and its
        cargo's loading down by the cargo's share (relative to the vesicles still made)."""
        machinery = self.lib.lifecycle.find_machinery(item.machinery or "")
        assert machinery is not None  # checked when the scenario loads
        book, bulk = self.book, -1
        found: dict[str, list[Factor]] = {"release": [], "loading": [], "route": []}
        if machinery.bulk_share is not None:
            bulk = book.index(book.lifecycle(f"{machinery.id}.bulk_share"))
            found["release"].append(Factor(pops, efficacy, item.start, True, bulk))
        for sorted_cargo in machinery.cargo:
            molecule = self.molecule(sorted_cargo.cargo)
            if molecule not in self.cargo:
                continue
            name = f"{machinery.id}.{cargo_key(sorted_cargo.cargo)}.share"
            share = book.index(book.lifecycle(name))
            row = frozen([self.cargo.index(molecule)])
            found["loading"].append(Factor(row, efficacy, item.start, True, share, bulk))
            if item.step == "ilv_sorting":  # what is not sorted stays on the membrane
                found.setdefault("sorting", []).append(
                    Factor(row, efficacy, item.start, True, share)
                )
        if not found["release"] and not found["loading"]:
            sorted_names = ", ".join(c.cargo for c in machinery.cargo)
            raise ModelError(
                f"arm {self.arm.name!r}: {machinery.id} sorts {sorted_names}, none of them a "
                "cargo of this arm's rules, so nothing would change",
                ("interventions", j, "machinery"),
            )
        return found

    def route_rows(self) -> RouteRows:
        """The uptake routes' parameters and the cytoplasmic delivery of their nominal mix."""
        routes = self.lib.lifecycle.routes

        def column(name: str) -> Ints:
            return frozen(
                [self.book.index(self.book.lifecycle(f"route.{r.id}.{name}")) for r in routes]
            )

        total = sum(r.share.value for r in routes)
        reference = sum(r.share.value * r.cytoplasm.value for r in routes) / total
        return RouteRows(column("share"), column("half_saturation"), column("cytoplasm"), reference)

    def _factor(
        self, j: int, rows: list[int], name: str, value: float, start: float, complement: bool
    ) -> Factor:
        param = self.book.index(self.book.intervention(j, name, value))
        return Factor(frozen(rows), param, start, complement)

    def _cargo_row(self, j: int, cargo: str) -> int:
        molecule = self.molecule(cargo)
        if molecule not in self.cargo:
            known = ", ".join(c for c in self.cargo if c != ALL_EXOSOMES) or "none"
            raise ModelError(
                f"arm {self.arm.name!r}: {cargo!r} is not a cargo of this arm's rules, so "
                f"nothing would change (its cargo: {known})",
                ("interventions", j, "cargo"),
            )
        return self.cargo.index(molecule)

    def event_rows(self) -> tuple[Event, ...]:
        by_day: dict[float, list[Change]] = {}
        duration = self.scenario.duration
        for j, item in enumerate(self.arm.interventions):
            for day, changes in self._changes(j, item):
                if day <= duration:
                    by_day.setdefault(day, []).extend(changes)
        for day, j in self._medium_changes().items():  # first: that day's doses go in fresh
            if day in by_day:
                by_day[day] = self._fresh_medium(j) + by_day[day]
        return tuple(Event(day, tuple(changes)) for day, changes in sorted(by_day.items()))

    def _medium_changes(self) -> dict[float, int]:
        """The days a drug is given as a concentration (each a medium change), with the first
        intervention that gives one that day."""
        found: dict[float, int] = {}
        for j, item in enumerate(self.arm.interventions):
            if isinstance(item, DrugTreatment) and item.concentration is not None:
                for day in _dose_days(item.schedule):
                    found.setdefault(day, j)
        return found

    def _fresh_medium(self, j: int) -> list[Change]:
        """A medium change discards the conditioned medium with its exosomes (the cells and
        what they have taken up stay)."""
        replaced = self.book.index(self.book.intervention(j, "medium_replaced", 1.0))
        return [
            Change(self.layout.pools + i, "scale", (replaced,), complement=True)
            for (_, compartment), i in self.structure.pools.items()
            if compartment == "culture"
        ]

    def _changes(self, j: int, item: object) -> list[tuple[float, list[Change]]]:
        """The events of one intervention: (day, state changes), in the intervention's order."""
        match item:
            case DrugTreatment() | CarrierTreatment() | ExosomeDose():
                change = self._dose(j, item)
                return [(day, change) for day in _dose_days(item.schedule)]
            case Surgery():
                keep = self.book.index(
                    self.book.intervention(j, "fraction_removed", item.fraction_removed)
                )
                comp = item.compartment
                changes = [
                    Change(p.index, "scale", (keep,), complement=True)
                    for p in self.structure.populations
                    if p.compartment == comp
                ]
                changes += [
                    Change(self.layout.pools + i, "scale", (keep,), complement=True)
                    for (_, c), i in self.structure.pools.items()
                    if c == comp
                ]
                return [(item.day, changes)]
        start = getattr(item, "start", 0.0)
        return [(start, [])] if start else []

    def _oral(self, j: int, item: DrugTreatment | CarrierTreatment) -> tuple[int, ...]:
        """An oral dose reaches the blood at its bioavailability (the drug's, or the oral
        carrier's own): the factor its amount takes, none for an intravenous dose."""
        book = self.book
        if item.route != "oral":
            return ()
        if isinstance(item, CarrierTreatment):
            assert item.bioavailability is not None  # the schema requires it
            return (book.index(book.add(f"intervention{j}.bioavailability", item.bioavailability)),)
        name = oral_parameter(self.molecule(item.drug))
        return (book.index(book.global_(name)),)

    def _dose(self, j: int, item: DrugTreatment | CarrierTreatment | ExosomeDose) -> list[Change]:
        book = self.book
        match item:
            case DrugTreatment(concentration=float() as conc):
                name = self.molecule(item.drug)
                p = book.index(book.intervention(j, "concentration", conc, "uM"))
                return [Change(self.layout.drug(name, "plasma"), "set", (p,))]
            case DrugTreatment() | CarrierTreatment():
                name = self.molecule(item.drug)
                dose = book.index(
                    book.intervention(j, "dose", item.dose or 0.0, self.lib.drugs[name].dose_unit)
                )
                per = book.index(book.drug(name, "concentration_per_dose"))
                var = "plasma" if isinstance(item, DrugTreatment) else "carrier"
                return [
                    Change(self.layout.drug(name, var), "add", (dose, per, *self._oral(j, item)))
                ]
        count = self._dosed_exosomes(j, item)
        s, comp = self.structure, item.compartment
        loads: dict[str, list[str]]
        if item.cargo is not None:
            loads = {self.molecule(item.cargo): []}
        else:
            loads = s.dose_cargo.get(j, {})
        basal = {k: v for k, v in s.dose_basal.get(j, {}).items() if k not in loads}
        factor = book.index(book.global_("basal_loading"))
        left = self._knockdown(j, item)
        copies = {k: (book.index(n),) for k, n in s.binding.copies.items()}  # loaded ex vivo
        changes = [
            Change(
                self.pool_var(key, comp),
                "add",
                (*count, *copies.get(key, ()), *left.get(key, ())),
                tuple(book.index(n) for n in names),
            )
            for key, names in loads.items()
        ]
        changes += [
            Change(
                self.pool_var(key, comp),
                "add",
                (*count, factor, *copies.get(key, ()), *left.get(key, ())),
                tuple(book.index(n) for n in names),
            )
            for key, names in basal.items()
        ]
        changes.append(Change(self.pool_var(ALL_EXOSOMES, comp), "add", count))
        return [c for c in changes if c.variable >= 0]  # not into a pruned pool

    def _dosed_exosomes(self, j: int, item: ExosomeDose) -> tuple[int, ...]:
        """The parameters whose product is the number of exosomes a dose adds: a particle
        count, or µg of protein (per kg of body weight) times particles per µg."""
        book = self.book
        if item.exosomes is not None:
            return (book.index(book.intervention(j, "exosomes", item.exosomes, "exosomes")),)
        per_ug = book.index(book.global_("exosome_particles_per_ug"))
        if item.protein_ug is not None:
            return (book.index(book.intervention(j, "protein", item.protein_ug, "ug")), per_ug)
        amount = item.protein_ug_per_kg or 0.0
        dose = book.index(book.intervention(j, "protein_per_kg", amount, "ug/kg"))
        return (dose, book.index(book.global_("body_weight")), per_ug)

    def _knockdown(self, j: int, item: ExosomeDose) -> dict[str, tuple[int]]:
        """Per pool key, the parameter of the share of a cargo knocked down in the donor cells
        of dosed exosomes that is still loaded."""
        found: dict[str, tuple[int]] = {}
        for k, down in enumerate(item.knockdown):
            molecule = self.molecule(down.cargo)
            keys = [key for key, cargo in self.structure.pool_cargo.items() if cargo == molecule]
            if not keys:
                raise ModelError(
                    f"arm {self.arm.name!r}: {down.cargo!r} is not a cargo of this arm's rules",
                    ("interventions", j, "knockdown", k, "cargo"),
                )
            name = f"knockdown{k}_remaining"
            param = self.book.index(self.book.intervention(j, name, 1.0 - down.efficacy))
            found.update(dict.fromkeys(keys, (param,)))
        return found

    def pool_var(self, key: str, compartment: str) -> int:
        """The state variable of a pool (-1: pruned, no readout depends on it)."""
        found = self.structure.pools.get((key, compartment))
        return -1 if found is None else self.layout.pools + found


def _dose_days(schedule: Schedule) -> list[float]:
    """The days of a schedule's doses."""
    every = schedule.every or 0.0
    return [schedule.start + k * every for k in range(schedule.doses if every else 1)]
