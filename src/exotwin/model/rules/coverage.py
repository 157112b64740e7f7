"""Which records of the graph have dynamics: computed by compiling each rule in a probe arm.

A mechanism or therapy record is *simulated* when a rule names it (as ``record`` or in
``also``) and that rule, compiled in a probe arm that holds the record's donor and recipient
cells (and the rule's own record's, for a record named in ``also``; a dose of exosomes
carrying the cargo where the record names no producing cell), yields at least one term whose
target changes something: a transition, a drug resistance, seeding, exosome secretion, or
growth, death (or survival, which lowers death) or killing of a population that has that rate.
Activity levels change nothing else and do not count; each such *inert* term of a simulated
record needs a reason in ``rules/inert_effects.yaml`` (or the rule's ``omit``). A record the exosome lifecycle names (its
pathway, a sorting machinery or loader and the cargo it sorts, an agent, an uptake route:
``lifecycle.yaml``) is simulated by the lifecycle steps it stands for. A biomarker record is
simulated when its rule makes the analyte's
source cells secrete it into a compartment pool. Every other record needs a reason in
``rules/not_simulated.yaml``; one with neither is *unexplained*.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from ...knowledge import KnowledgeBase
from ...knowledge.schema import Biomarker, CellRef, Therapy
from ..scenario.schema import Scenario
from .compiler import compile_arm
from .library import Library
from .reasons import InertReason
from .rows import CompiledModel
from .schema import Rule
from .table import (
    Activity,
    Death,
    Growth,
    Killing,
    Population,
    Recruitment,
    Secretion,
    Seeding,
    Survival,
    Transition,
)

KINDS = ("mechanism", "therapy", "biomarker")
Status = Literal["simulated", "not_simulated", "unexplained"]
PROBE_COUNT = 1.0e6  # cells of each probe population (the count plays no role in compiling)
PROBE_DOSE = 1.0e9  # exosomes of a probe dose, for records whose exosomes have no donor cell


@dataclass(frozen=True)
class Dynamic:
    """What one compiled term (or a biomarker's secretion) changes in the probe arm."""

    # Transition Resistance Recruitment Growth Death Killing Secretion Seeding Niche Release Binding
    target: str
    phenotype: str
    direction: str  # up | down
    cell: str  # the receiver (Release, Binding: the releasing cell)
    to: str = ""  # the destination of a transition or a resistance change; the bound drug
    organ: str = ""  # seeding
    cargo: str = ""  # Release, Binding: the molecule released
    compartments: tuple[str, ...] = ()  # Release: the pools holding it
    # an inert term: why it changes nothing (rules/inert_effects.yaml, or the rule's omit)
    reason: str = field(default="", compare=False)
    note: str = field(default="", compare=False)

    def summary(self) -> str:
        """One line, without the probe's compartments: ``Transition fibroblast -> caf``."""
        cell, to = _cell(self.cell), _cell(self.to)
        match self.target:
            case "Transition" | "Resistance":
                slower = " (down)" if self.direction == "down" else ""
                return f"{self.target} {cell} -> {to}{slower}"
            case "Seeding":
                return f"Seeding {self.direction} {self.organ} (signal in {cell})"
            case "Recruitment":
                return f"Recruitment of {to} by {cell}"
            case "Release":
                into = "plasma" if "plasma" in self.compartments else ", ".join(self.compartments)
                basal = " (basal level)" if self.direction == "down" else ""
                return f"Release {self.cargo} by {cell} into {into}{basal}"
            case "Binding":
                return f"Binding {self.to} by {self.cargo} exosomes of {cell}"
            case "Niche":
                return f"Niche {self.direction} in {cell}: seeding of the organ it sits in"
            case "Lifecycle":
                return f"{self.cargo} (step {self.phenotype})"
            case "Export":
                kept = "more" if self.direction == "down" else "less"
                return f"Export of {self.cargo} in vesicles by {cell} ({kept} drug kept)"
        return f"{self.target} {self.direction} {cell} ({self.phenotype})"


def summarise(dynamics: list[Dynamic]) -> str:
    """Distinct summaries joined by '; ', seeding into several organs on one line."""
    organs: dict[str, list[str]] = {}
    lines: list[str] = []
    for dynamic in dynamics:
        if dynamic.target == "Seeding":
            key = f"Seeding {dynamic.direction} {{}} (signal in {_cell(dynamic.cell)})"
            if key not in organs:
                lines.append(key)
            organs.setdefault(key, []).append(dynamic.organ)
        else:
            lines.append(dynamic.summary())
    named = [
        line.format(", ".join(dict.fromkeys(organs[line]))) if line in organs else line
        for line in lines
    ]
    return "; ".join(dict.fromkeys(named))


def _cell(label: str) -> str:
    """A population label without its compartment (``bc_tnbc.sensitive@lung``)."""
    return label.split("@", 1)[0]


@dataclass(frozen=True)
class RuleCoverage:
    rule: str
    file: str
    dynamics: list[Dynamic]  # what it changes in its probe arm
    inert: list[Dynamic] = field(default_factory=list)  # terms that change nothing
    note: str = ""  # the compiler's note when the probe arm does not use the rule
    omitted: dict[str, str] = field(default_factory=dict)  # record effects left out, and why


@dataclass(frozen=True)
class RecordCoverage:
    record: str
    kind: str
    status: Status
    rules: list[RuleCoverage]
    reason: str = ""
    note: str = ""
    stale_reason: bool = False  # simulated, yet not_simulated.yaml gives a reason


@dataclass(frozen=True)
class Coverage:
    records: list[RecordCoverage]
    stale_inert: list[str] = field(default_factory=list)  # inert_effects entries used by none

    def counts(self) -> dict[str, dict[str, int]]:
        return {
            kind: {
                "simulated": sum(r.status == "simulated" for r in self.records if r.kind == kind),
                "total": sum(r.kind == kind for r in self.records),
            }
            for kind in KINDS
        }

    def unexplained(self) -> list[RecordCoverage]:
        return [r for r in self.records if r.status == "unexplained"]

    def inert(self) -> list[tuple[str, str, Dynamic]]:
        """The inert terms of simulated records: (record, rule, term)."""
        return [
            (r.record, rule.rule, d)
            for r in self.records
            if r.status == "simulated"
            for rule in r.rules
            for d in rule.inert
        ]

    def inert_counts(self) -> dict[str, int]:
        """Inert terms of simulated records with and without a reason."""
        terms = [d for _, _, d in self.inert()]
        return {
            "with_reason": sum(bool(d.reason) for d in terms),
            "without_reason": sum(not d.reason for d in terms),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "counts": self.counts(),
            "inert": self.inert_counts(),
            "stale_inert_reasons": self.stale_inert,
            "records": [asdict(r) for r in self.records],
        }


# ------------------------------------------------------------ the probe arm


def _probe_cells(
    kb: KnowledgeBase, lib: Library, rule: Rule, record_id: str
) -> list[tuple[str, str | None]]:
    """Donor and recipient cells of the record and of the rule's own record, and the cells
    that recipients act on (cells.yaml ``acts_on``)."""
    cells: list[tuple[str, str | None]] = []
    for rid in dict.fromkeys([record_id, rule.record]):
        record = kb.records[rid]
        refs: list[CellRef | None]
        if isinstance(record, Biomarker):
            refs = [record.source_cell or CellRef(cell="breast_cancer_cell")]
        else:
            refs = [record.donor, record.recipient]
        for i, ref in enumerate(refs):
            if ref is None:
                continue
            state = ref.state
            if i == 0 and rid == rule.record and rule.donor_state is not None:
                state = rule.donor_state  # the rule narrows its record's donor
            if (ref.cell, state) not in cells:
                cells.append((ref.cell, state))
            if i == 1:  # cells the recipients act on, unless a sub-type is there already
                for act in lib.behaviour_of(kb, ref.cell).acts_on:
                    if not any(c in kb.descendants(act.cell) for c, _ in cells):
                        cells.append((act.cell, None))
    return cells


def probe_scenario(kb: KnowledgeBase, lib: Library, rule: Rule, record_id: str) -> Scenario:
    """A one-arm scenario with the record's cells in the tumour and only ``rule`` selected;
    a dose of exosomes carrying the rule's cargo where its record names no donor."""
    cells = _probe_cells(kb, lib, rule, record_id)
    own = kb.records[rule.record]
    doses = []
    if isinstance(own, Therapy) and own.donor is None:
        doses = [
            {"type": "exosome_dose", "cargo": cargo, "exosomes": PROBE_DOSE} for cargo in own.cargo
        ]
    return Scenario.model_validate(
        {
            "id": "coverage-probe",
            "title": f"probe of rule {rule.id} for {record_id}",
            "populations": [
                {"cell": c, "state": s, "count": PROBE_COUNT, "compartment": "tumour"}
                for c, s in cells
            ],
            "mechanisms": {"rules": [rule.id]},
            "arms": [{"name": "probe", "interventions": doses}],
            "duration": 1,
            "readouts": [{"name": "cells", "kind": "count", "of": {"cell": cells[0][0]}}],
        }
    )


# ------------------------------------------------------------ what a compiled rule changes


def _has_rate(kb: KnowledgeBase, lib: Library, pop: Population, target: object) -> bool:
    """Growth, death and killing act on a base rate: a population without one is unchanged."""
    entry = lib.behaviour_of(kb, pop.cell)
    match target:
        case Growth():
            return entry.growth is not None
        case Death() | Survival():  # survival lowers death, basal and drug-induced
            return entry.death is not None
        case Killing():
            return entry.kill_rate is not None and bool(entry.kills)
    return True


def term_dynamics(
    kb: KnowledgeBase, lib: Library, model: CompiledModel, rule: Rule
) -> tuple[list[Dynamic], list[Dynamic]]:
    """The terms of ``rule`` in a compiled arm: those whose targets change something, and the
    others (activity levels; growth, death or killing of a population without that rate)."""
    pops = model.populations
    receiver_of = {signal: pop for (_, pop), signal in model.signals.items()}
    acting: list[Dynamic] = []
    inert: list[Dynamic] = []
    for term in model.terms:
        if term.rule_id != rule.id:
            continue
        # a survival term lowers a death multiplier: it is reported as survival going up
        direction = "up" if term.up != isinstance(term.target, Survival) else "down"
        receiver = pops[receiver_of[term.signal]].label
        acts = True
        match term.target:
            case Transition(source, dest):
                kind = "Transition" if pops[source].cell != pops[dest].cell else "Resistance"
                dynamic = Dynamic(kind, term.phenotype, direction, receiver, to=pops[dest].label)
            case Seeding(organ):
                dynamic = Dynamic("Seeding", term.phenotype, direction, receiver, organ=organ)
            case Recruitment(_, dest):
                to = pops[dest].label
                dynamic = Dynamic("Recruitment", term.phenotype, direction, receiver, to=to)
            case Activity(phenotype) if kb.phenotypes[phenotype].behaviour == "niche":
                # a premetastatic niche: where its receivers sit in a distant organ, it
                # multiplies that organ's seeding (the probe holds them in the tumour)
                dynamic = Dynamic("Niche", term.phenotype, direction, receiver)
            case Growth(pop) | Death(pop) | Survival(pop) | Killing(pop) | Secretion(pop):
                acts = _has_rate(kb, lib, pops[pop], term.target)
                dynamic = Dynamic(type(term.target).__name__, term.phenotype, direction, receiver)
            case _:  # an activity level changes nothing else
                acts = False
                dynamic = Dynamic("Activity", term.phenotype, direction, receiver)
        found = acting if acts else inert
        if dynamic not in found:
            found.append(dynamic)
    return acting, inert


def release_dynamics(kb: KnowledgeBase, model: CompiledModel, record: Biomarker) -> list[Dynamic]:
    """A biomarker's analytes secreted by its source cells into the arm's exosome pools, fully
    (up) or at the basal level (down: cancer cells loading an analyte lower in cancer)."""
    analytes = {m.id for name in record.analyte if (m := kb.find_molecule(name)) is not None}
    found: list[Dynamic] = []
    s = model.structure
    for direction, table in (("up", s.secretion), ("down", s.basal)):
        for pop, key in table:
            cargo = model.pool_cargo.get(key, "")
            pools = sorted(c for k, c in model.pools if k == key)
            if cargo in analytes and pools:
                label = model.populations[pop].label
                found.append(
                    Dynamic("Release", "", direction, label, cargo=cargo, compartments=tuple(pools))
                )
    return found


def binding_dynamics(kb: KnowledgeBase, lib: Library, model: CompiledModel) -> list[Dynamic]:
    """Cargo released into pools whose exosomes bind and remove a drug (an antibody decoy)."""
    found: list[Dynamic] = []
    for pop, key in model.structure.secretion:
        cargo = model.pool_cargo.get(key, "")
        for drug in lib.drugs.values():
            bound = {m.id for name in drug.bound_by_cargo if (m := kb.find_molecule(name))}
            if cargo in bound:
                label = model.populations[pop].label
                found.append(Dynamic("Binding", "", "up", label, to=drug.id, cargo=cargo))
    return found + decoy_dynamics(model)


def decoy_dynamics(model: CompiledModel) -> list[Dynamic]:
    """Cargo whose exosomes occupy a ligand (rule ``decoy``, e.g. PD-1 exosomes binding
    PD-L1): they act wherever the ligand signals, which a probe arm need not hold."""
    s = model.structure
    donors = {key: model.populations[pop].label for pop, key in s.secretion}
    return [
        Dynamic("Binding", "", "up", donors.get(key, "a dose"), to=ligand, cargo=s.pool_cargo[key])
        for key, (ligand, _, _) in sorted(s.binding.decoys.items())
    ]


# ------------------------------------------------------------ records


def rule_coverage(kb: KnowledgeBase, lib: Library, rule: Rule, record_id: str) -> RuleCoverage:
    """What ``rule`` changes in the probe arm of ``record_id`` (a record it names)."""
    scenario = probe_scenario(kb, lib, rule, record_id)
    model = compile_arm(kb, lib, scenario, scenario.arms[0], pruned=False)  # inert terms too
    file = lib.rule_files.get(rule.id)
    where = file.name if file is not None else ""
    note = "; ".join(n for n in model.notes if n.startswith(f"rule {rule.id} "))
    own = kb.records[rule.record]
    if isinstance(own, Biomarker):
        return RuleCoverage(rule.id, where, release_dynamics(kb, model, own), note=note)
    acting, inert = term_dynamics(kb, lib, model, rule)
    acting += binding_dynamics(kb, lib, model)
    return RuleCoverage(rule.id, where, acting, inert, note, dict(rule.omit))


def lifecycle_coverage(lib: Library) -> dict[str, RuleCoverage]:
    """The records the exosome lifecycle names (model/data/lifecycle), each with the steps it
    stands for: interventions at those steps change release, loading or uptake."""
    found: dict[str, list[Dynamic]] = {}
    for record, step, what in lib.lifecycle.named_records():
        dynamic = Dynamic("Lifecycle", step, "", "", cargo=what)
        if dynamic not in found.setdefault(record, []):
            found[record].append(dynamic)
    return {r: RuleCoverage("lifecycle", "lifecycle.yaml", d) for r, d in found.items()}


def export_coverage(lib: Library) -> dict[str, RuleCoverage]:
    """The records of vesicular drug export (data/drug_export.yaml) and of the interventions
    that keep the drug out of vesicles: the exporting cells keep less of the drug."""
    found: dict[str, RuleCoverage] = {}
    for drug, entry in lib.drug_export.items():
        for record in entry.records:
            dynamic = Dynamic("Export", "drug_efflux", "up", entry.cell, cargo=drug)
            found[record] = RuleCoverage("drug_export", "drug_export.yaml", [dynamic])
        for record in entry.blocked_by:
            dynamic = Dynamic("Export", "drug_efflux", "down", entry.cell, cargo=drug)
            found[record] = RuleCoverage("drug_export", "drug_export.yaml", [dynamic])
    return found


def coverage(kb: KnowledgeBase, lib: Library) -> Coverage:
    """Every mechanism, therapy and biomarker record with its rules' dynamics (and the
    lifecycle steps it stands for) or its reason."""
    naming: dict[str, list[Rule]] = {}
    for rule in lib.rules.values():
        for rid in dict.fromkeys([rule.record, *rule.also]):
            naming.setdefault(rid, []).append(rule)
    lifecycle = lifecycle_coverage(lib) | export_coverage(lib)
    used: set[int] = set()  # inert_effects entries that give a reason
    records = []
    for rid, record in sorted(kb.records.items()):
        rules = [rule_coverage(kb, lib, rule, rid) for rule in naming.get(rid, [])]
        rules += [lifecycle[rid]] if rid in lifecycle else []
        simulated = any(r.dynamics for r in rules)
        reason = lib.not_simulated.get(rid)
        status: Status = (
            "simulated" if simulated else "not_simulated" if reason is not None else "unexplained"
        )
        if simulated:
            rules = [_with_reasons(kb, lib, rule, rid, used) for rule in rules]
        records.append(
            RecordCoverage(
                rid,
                record.kind,
                status,
                rules,
                reason.reason if reason is not None else "",
                reason.note if reason is not None else "",
                stale_reason=simulated and reason is not None,
            )
        )
    stale = [_entry_label(e) for i, e in enumerate(lib.inert_effects) if i not in used]
    return Coverage(records, stale)


# ------------------------------------------------------------ why inert terms change nothing


def _cell_type(label: str) -> str:
    """The cell type of a population label (``bc_her2.sensitive (recruited)@lung``)."""
    return _cell(label).split(" ", 1)[0].split(".", 1)[0]


def _entry_label(entry: InertReason) -> str:
    where = f" in {entry.cell}" if entry.cell else ""
    return f"{entry.phenotype}{where} of {entry.record or 'every record'}: {entry.reason}"


def inert_reason(
    kb: KnowledgeBase, lib: Library, record_id: str, phenotype: str, cell: str
) -> tuple[int, InertReason] | None:
    """The most specific entry of ``inert_effects`` for a phenotype of a record in a receiver
    cell type: one of the record before a general one, one of a cell before one of any cell
    (of a sub-type before its parent's)."""
    best: tuple[tuple[int, int], int, InertReason] | None = None
    lineage = kb.ancestors(cell) if cell in kb.cell_types else [cell]
    for i, entry in enumerate(lib.inert_effects):
        if entry.phenotype != phenotype or entry.record not in (None, record_id):
            continue
        if entry.cell is not None and entry.cell not in lineage:
            continue
        depth = len(lineage) - lineage.index(entry.cell) if entry.cell is not None else 0
        rank = (entry.record is not None, depth)
        if best is None or rank > best[0]:
            best = (rank, i, entry)
    return (best[1], best[2]) if best is not None else None


def _with_reasons(
    kb: KnowledgeBase, lib: Library, rule: RuleCoverage, record_id: str, used: set[int]
) -> RuleCoverage:
    """A simulated record's rule with a reason on each inert term: the rule's ``omit`` (an
    effect it leaves out is kept as a readable level), else the entry of ``inert_effects``;
    one whose ``by`` names no target of the rule's dynamics gives no reason."""
    carried = {d.target for d in rule.dynamics}
    inert = []
    for term in rule.inert:
        reason, note = "", ""
        if term.phenotype in rule.omitted:
            reason, note = "omitted", rule.omitted[term.phenotype]
        elif found := inert_reason(kb, lib, record_id, term.phenotype, _cell_type(term.cell)):
            i, entry = found
            used.add(i)
            if entry.by and not carried & set(entry.by):
                note = (
                    f"inert_effects.yaml: {entry.reason} by {', '.join(entry.by)}, but rule "
                    f"{rule.rule} changes no {' or '.join(entry.by)}"
                )
            else:
                reason, note = entry.reason, entry.note
        inert.append(replace(term, reason=reason, note=note))
    return replace(rule, inert=inert)
