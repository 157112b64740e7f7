"""Keep only the state that can change a readout: exosome pools, internal signals, activities.

The compiler makes an internal signal for every (cargo, receiver) a rule reaches, an activity
for every phenotype without a rate of its own, and a pool of every cargo in every compartment
that holds exosomes. Most of them change nothing a scenario reads. :func:`prune` keeps what
the populations, the drugs and the scenario's readouts depend on, following the equations
backwards (:mod:`exotwin.model.ode.equations`):

- every population and drug variable is kept; a rule term is kept when its target acts on
  cells (a rate, a transition, seeding), on a kept activity, or on the release into a kept pool;
- a kept term keeps its signal; a kept signal keeps the pool it takes up;
- a kept pool keeps the all-exosomes pool of its compartment (uptake saturates on it) and the
  pools it is transported from (tumour and niches to plasma, plasma to niches and tumour);
- the roots: pools and activities the scenario's readouts read (exosomes, tumour-derived share,
  activity), the premetastatic niches of distant organs (they raise seeding), pools whose
  exosomes bind a drug or, once fed, occupy a ligand (decoys), and all exosomes of every
  compartment (a readout of another cargo must be in the scenario: evaluated afterwards, it
  would read zero).

A signal that stays zero (its pool never receives exosomes: no cell loads its cargo there, no
dose, no transport, no healthy baseline; and no cell displays it for contact) adds exactly zero
to every Hill sum, so its terms are dropped too. Dropping the rest leaves every kept
variable's equation unchanged, so readouts are the same.

Receivers of one compartment take up the same cargo from the same pool at the same rate, so
their internal signals are one variable: the terms of all of them read the signal of the first
(unless an uptake intervention or an antibody blocking in some cells only treats them
differently). The tissue engine keeps one signal per receiver population: it reads them per
cell.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from ...knowledge import KnowledgeBase
from ..scenario.schema import Arm, ExosomeDose, Scenario, StepIntervention
from .library import Library
from .schema import NICHES
from .table import ALL_EXOSOMES, Activity, Secretion, Target, Term

if TYPE_CHECKING:
    from .compiler import Structure

Pool = tuple[str, str]  # (cargo key, compartment)


def takes_up(compartment: str) -> bool:
    """Whether the cells of a compartment take up its exosomes (plasma: no cells)."""
    return compartment != "plasma"


def prune(
    kb: KnowledgeBase, lib: Library, scenario: Scenario, arm: Arm, structure: Structure
) -> Structure:
    """A copy of ``structure`` without the pools, signals, activities and terms that nothing
    read by the populations, the drugs or the readouts depends on (indices renumbered)."""
    s = structure
    pools, activities = _roots(kb, lib, scenario, s)
    pools |= {
        p for p in _fed_pools(s, arm) if p[0] in s.binding.decoys
    }  # they occupy a ligand there
    silent = _silent_signals(s, arm)
    terms, pools = _kept_terms(s, silent, pools, activities)
    shared = _shared_signals(kb, lib, arm, s) if scenario.tissue is None else {}
    read = _relayed({shared.get(t.signal, t.signal) for t in terms}, s, shared)
    signals = {key: i for key, i in s.signals.items() if i in read}
    renumber = {old: new for new, old in enumerate(sorted(signals.values()))}
    return replace(
        s,
        pools=_renumbered({p: i for p, i in s.pools.items() if p in pools}),
        signals={key: renumber[i] for key, i in signals.items()},
        activities=_renumbered({a: i for a, i in s.activities.items() if a in activities}),
        terms=[replace(t, signal=renumber[shared.get(t.signal, t.signal)]) for t in terms],
        relay=replace(
            s.relay,
            sources=_renumbered_relays(s, renumber, shared),
            memory={renumber[i]: held for i, held in s.relay.memory.items() if i in renumber},
        ),
    )


def _kept_terms(
    s: Structure, silent: set[int], pools: set[Pool], activities: set[tuple[str, int]]
) -> tuple[list[Term], set[Pool]]:
    """The terms that act on something kept, and the pools they need (to a fixed point: a
    kept release, a secretion target, may keep more pools and so more terms)."""
    while True:
        terms = [
            t for t in s.terms if t.signal not in silent and _acts(t.target, s, pools, activities)
        ]
        grown = _pools_needed(s, _relayed({t.signal for t in terms}, s), pools)
        if grown == pools:
            return terms, pools
        pools = grown


def _renumbered_relays(
    s: Structure, renumber: dict[int, int], shared: dict[int, int]
) -> dict[int, list[tuple[int, int]]]:
    """The relays of the kept signals, with their relayed signals renumbered."""

    def new(r: int) -> int:
        return renumber[shared.get(r, r)] if r >= 0 else -1

    return {
        renumber[i]: [(q, new(r)) for q, r in found]
        for i, found in s.relay.sources.items()
        if i in renumber
    }


def _relayed(read: set[int], s: Structure, shared: dict[int, int] | None = None) -> set[int]:
    """``read`` and every signal a read signal relays from another population (acts_on)."""
    found, todo = set(read), list(read)
    while todo:
        for _, relayed in s.relay.sources.get(todo.pop(), []):
            source = (shared or {}).get(relayed, relayed)
            if relayed >= 0 and source not in found:
                found.add(source)
                todo.append(source)
    return found


def _shared_signals(kb: KnowledgeBase, lib: Library, arm: Arm, s: Structure) -> dict[int, int]:
    """Per signal, the first signal of the same cargo key, compartment, uptake factors and
    antibody blocks (a drug that blocks only in some cells, ``blocks_in``: anti-PD-1)."""
    from .rows import selects  # rows calls prune: imported here, not at the top

    blocked = [
        i.receivers
        for i in arm.interventions
        if isinstance(i, StepIntervention) and i.step == "uptake"
    ]
    blocking = [
        {c for k in lib.drugs[d].blocks_in for c in kb.descendants(k)}
        for d in s.drugs
        if lib.drugs[d].blocks_in
    ]
    first: dict[tuple[object, ...], int] = {}
    shared = {}
    for (key, pop), i in sorted(s.signals.items(), key=lambda kv: kv[1]):
        if key in s.relay.cargo:  # fed by other cells, not by a pool: its own variable
            shared[i] = i
            continue
        receiver = s.populations[pop]
        uptake = tuple(r is None or selects(kb, r, receiver, s.resisted) for r in blocked)
        blocks = tuple(receiver.cell in cells for cells in blocking)
        shared[i] = first.setdefault((key, receiver.compartment, uptake, blocks), i)
    return shared


def _renumbered(kept: dict[tuple[str, object], int]) -> dict:  # type: ignore[type-arg]
    """The kept entries of an index, numbered 0, 1, ... in their old order."""
    order = sorted(kept, key=kept.__getitem__)
    return {key: new for new, key in enumerate(order)}


def _roots(
    kb: KnowledgeBase, lib: Library, scenario: Scenario, s: Structure
) -> tuple[set[Pool], set[tuple[str, int]]]:
    """Pools and activities read directly: by the readouts, and by drugs exosomes bind; and
    every compartment's exosomes (cargo unspecified), the quantity measured most often."""
    pools = {p for p in s.pools if s.pool_cargo[p[0]] == ALL_EXOSOMES}
    pools |= _read_pools(kb, scenario, s)
    phenotypes = {r.phenotype for r in scenario.readouts if r.kind == "activity" and r.phenotype}
    for name in s.drugs:
        bound = {m.id for c in lib.drugs[name].bound_by_cargo if (m := kb.find_molecule(c))}
        binding = {"plasma", "culture", "tumour"}
        pools |= {p for p in s.pools if s.pool_cargo[p[0]] in bound and p[1] in binding}
    niches = {  # a premetastatic niche in a distant organ raises its seeding
        (ph, pop)
        for ph, pop in s.activities
        if kb.phenotypes[ph].behaviour == "niche" and s.populations[pop].compartment in NICHES
    }
    return pools, {a for a in s.activities if a[0] in phenotypes} | niches


def _read_pools(kb: KnowledgeBase, scenario: Scenario, s: Structure) -> set[Pool]:
    """The pools that the scenario's exosome readouts read (in the tissue's compartment too)."""
    tissue = scenario.tissue.compartment if scenario.tissue is not None else None
    found = set()
    for r in scenario.readouts:
        if r.kind in {"exosomes", "tumour_derived"}:
            molecule = kb.find_molecule(r.cargo or "")
            cargo = molecule.id if molecule else ALL_EXOSOMES
            wanted = {r.compartment, tissue}
            found |= {p for p in s.pools if s.pool_cargo[p[0]] == cargo and p[1] in wanted}
    return found


def _silent_signals(s: Structure, arm: Arm) -> set[int]:
    """Signals that are zero throughout: no exosomes ever reach their pool, no contact."""
    fed = _fed_pools(s, arm)
    pops = s.populations
    silent = set()
    for (key, pop), i in s.signals.items():
        if key in s.relay.cargo:  # fed by other cells of the compartment (acts_on)
            continue
        comp, cargo = pops[pop].compartment, s.pool_cargo[key]
        contact = any(
            cargo in mols and pops[q].compartment == comp for q, mols in s.surface.items()
        )
        if (key, comp) not in fed and not contact:
            silent.add(i)
    return silent


def _fed_pools(s: Structure, arm: Arm) -> set[Pool]:
    """Pools that receive exosomes: loaded by a population, dosed, with a healthy baseline in
    plasma, the all-exosomes pools, and what transport carries from them."""
    dosed = {i.compartment for i in arm.interventions if isinstance(i, ExosomeDose)}
    fed = {(key, s.populations[pop].compartment) for pop, key in [*s.secretion, *s.basal]}
    for key, comp in s.pools:
        cargo = s.pool_cargo[key]
        if comp in dosed or cargo == ALL_EXOSOMES or (comp == "plasma" and cargo in s.analytes):
            fed.add((key, comp))
    todo = list(fed)
    while todo:
        key, comp = todo.pop()
        into = [(key, "plasma")] if comp in {*NICHES, "tumour"} else []  # vessels
        into += [(key, organ) for organ in [*NICHES, "tumour"]] if comp == "plasma" else []
        for pool in into:
            if pool not in fed:
                fed.add(pool)
                todo.append(pool)
    return fed


def _acts(target: Target, s: Structure, pools: set[Pool], activities: set[tuple[str, int]]) -> bool:
    """Whether a behaviour target changes a kept variable."""
    match target:
        case Activity(phenotype, pop):
            return (phenotype, pop) in activities
        case Secretion(pop):
            compartment = s.populations[pop].compartment
            return any(c == compartment for _, c in pools)
    return True


def _pools_needed(s: Structure, signals: set[int], roots: set[Pool]) -> set[Pool]:
    """The roots, the pools the kept signals take up, and what those pools read."""
    receiver = {i: (key, s.populations[pop].compartment) for (key, pop), i in s.signals.items()}
    found = set(roots) | {receiver[i] for i in signals}
    todo = list(found)
    while todo:
        key, comp = todo.pop()
        sources: list[Pool] = [(key, c) for c in [*NICHES, "tumour"]] if comp == "plasma" else []
        sources += [(key, "plasma")] if comp in {*NICHES, "tumour"} else []
        if takes_up(comp):
            sources.append((ALL_EXOSOMES, comp))
        for pool in sources:
            if pool in s.pools and pool not in found:
                found.add(pool)
                todo.append(pool)
    return {p for p in found if p in s.pools}
