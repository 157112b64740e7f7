"""The model library: parameters, drugs, cell behaviours and rules, validated against the graph."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import TypeAdapter

from ...datafiles import Item, Problem, parse_sections, yaml_files
from ...errors import ModelDataError as ModelDataError
from ...knowledge import KnowledgeBase, Record
from ...knowledge.schema import Biomarker, Therapy
from .lifecycle import LIFECYCLE_FILE, Lifecycle, load_lifecycle, packaged_lifecycle
from .parameters import declaration_problems, oral_parameter
from .reasons import InertReason, NotSimulated
from .schema import (
    CellBehaviour,
    Drug,
    DrugExport,
    ExosomeHoming,
    Memory,
    Organotropism,
    Param,
    ParameterEntry,
    ResistanceProtein,
    Rule,
)


def packaged_model_dir() -> Path:
    return Path(str(resources.files("exotwin.model") / "data"))


_SECTIONS: dict[str, TypeAdapter[Any]] = {
    "parameters": TypeAdapter(ParameterEntry),
    "drugs": TypeAdapter(Drug),
    "rules": TypeAdapter(Rule),
    "cells": TypeAdapter(CellBehaviour),
    "resistance": TypeAdapter(ResistanceProtein),
    "organotropism": TypeAdapter(Organotropism),
    "exosome_homing": TypeAdapter(ExosomeHoming),
    "drug_export": TypeAdapter(DrugExport),
    "not_simulated": TypeAdapter(NotSimulated),
    "inert_effects": TypeAdapter(InertReason),
}


@dataclass
class Library:
    """Everything the compiler needs besides the graph and the scenario."""

    parameters: dict[str, ParameterEntry] = field(default_factory=dict)
    drugs: dict[str, Drug] = field(default_factory=dict)
    rules: dict[str, Rule] = field(default_factory=dict)
    cells: dict[str, CellBehaviour] = field(default_factory=dict)
    rule_files: dict[str, Path] = field(default_factory=dict)
    resistance: dict[str, ResistanceProtein] = field(default_factory=dict)  # by molecule id
    organotropism: dict[str, Organotropism] = field(default_factory=dict)  # by cell type
    homing: dict[str, ExosomeHoming] = field(default_factory=dict)  # by record id
    drug_export: dict[str, DrugExport] = field(default_factory=dict)  # by drug molecule id
    not_simulated: dict[str, NotSimulated] = field(default_factory=dict)  # record -> reason
    inert_effects: list[InertReason] = field(default_factory=list)  # activity levels, and why
    lifecycle: Lifecycle = field(default_factory=packaged_lifecycle)  # its values: parameters

    def value(self, name: str, overrides: dict[str, float] | None = None) -> float:
        """A parameter's value under a scenario's overrides. One that ``includes`` another
        keeps its own part where the scenario overrides only the included one."""
        if overrides and name in overrides:
            return overrides[name]
        param = self.parameters[name]
        included = param.includes
        if overrides and included is not None and included in overrides:
            return param.value + (overrides[included] - self.parameters[included].value)
        return param.value

    def rule_param(self, rule: Rule, name: str) -> Param:
        """A rule's own parameter, else the library default ``rule_<name>``."""
        own: Param | None = getattr(rule, name)
        return own if own is not None else self.parameters[f"rule_{name}"]

    def behaviour_of(self, kb: KnowledgeBase, cell: str) -> CellBehaviour:
        """The base behaviour entry of the nearest ancestor of a cell type."""
        for ancestor in kb.ancestors(cell):
            if ancestor in self.cells:
                return self.cells[ancestor]
        return CellBehaviour(cell="cell")


def _unique(items: Iterable[Item], problems: list[Problem], key: str = "id") -> dict[str, Item]:
    seen: dict[str, Item] = {}
    for item in items:
        ident = getattr(item.value, key)
        if ident in seen:
            problems.append(item.problem((key,), f"duplicate {item.loc[0]} entry {ident!r}"))
        seen.setdefault(ident, item)
    return seen


def _check_rule(kb: KnowledgeBase, item: Item, problems: list[Problem]) -> None:
    rule: Rule = item.value
    record = kb.records.get(rule.record)
    if record is None:
        problems.append(item.problem(("record",), f"unknown record id {rule.record!r}"))
        return
    if isinstance(record, Therapy) and not (record.cargo and record.recipient):
        problems.append(
            item.problem(
                ("record",),
                (
                    f"therapy record {rule.record!r} compiles only when it names cargo and a "
                    "recipient (its exosomes then act like a mechanism's)"
                ),
            )
        )
        return
    for i, other in enumerate(rule.also):
        if other not in kb.records:
            problems.append(item.problem(("also", i), f"unknown record id {other!r}"))
    if rule.donor_state is not None:
        donor = record.source_cell if isinstance(record, Biomarker) else record.donor
        if rule.donor_state not in kb.cell_states:
            problems.append(
                item.problem(("donor_state",), f"unknown cell state {rule.donor_state!r}")
            )
        elif (
            donor is not None
            and donor.state
            and rule.donor_state not in kb.descendants(donor.state)
        ):
            problems.append(
                item.problem(
                    ("donor_state",),
                    (
                        f"{rule.donor_state!r} does not narrow the record's donor state {donor.state!r}"
                    ),
                )
            )
    if rule.decoy is not None and kb.find_molecule(rule.decoy.binds) is None:
        problems.append(item.problem(("decoy", "binds"), f"unknown molecule {rule.decoy.binds!r}"))
    if rule.background is not None and not isinstance(record, Biomarker):
        problems.append(
            item.problem(("background",), "a healthy plasma background is a biomarker rule's")
        )
    _check_effects(record, item, problems)


def _check_effects(record: Record, item: Item, problems: list[Problem]) -> None:
    """The effects a rule names (``effects``, ``omit``) are its record's, each named once."""
    rule: Rule = item.value
    have = {e.phenotype for e in record.effects} if not isinstance(record, Biomarker) else set()
    named: list[tuple[tuple[str | int, ...], str]] = [
        *((("effects", i), p) for i, p in enumerate(rule.effects)),
        *((("omit", p), p) for p in rule.omit),
    ]
    for loc, phenotype in named:
        if phenotype not in have:
            problems.append(
                item.problem(
                    loc,
                    f"record {rule.record!r} has no effect {phenotype!r} (it has {sorted(have)})",
                )
            )
        elif loc[0] == "effects" and phenotype in rule.omit:
            problems.append(item.problem(loc, f"{phenotype!r} is both compiled and in omit"))


def _reasons(kb: KnowledgeBase, items: list[Item], problems: list[Problem]) -> dict[str, Item]:
    """Records without dynamics and why (``not_simulated``), one entry per known record."""
    reasons = _unique((i for i in items if i.loc[0] == "not_simulated"), problems, key="record")
    for item in reasons.values():
        if item.value.record not in kb.records:
            problems.append(item.problem(("record",), f"unknown record id {item.value.record!r}"))
    return reasons


def _inert_reasons(
    kb: KnowledgeBase, items: list[Item], problems: list[Problem]
) -> list[InertReason]:
    """Why effects of simulated records are activity levels (``inert_effects``): known
    phenotype, cell type and record, one entry per (record, phenotype, cell), and ``by`` given
    exactly where the reason is that another target carries the effect."""
    found: dict[tuple[str | None, str, str | None], Item] = {}
    for item in _section(items, "inert_effects"):
        entry: InertReason = item.value
        if entry.phenotype not in kb.phenotypes:
            problems.append(item.problem(("phenotype",), f"unknown phenotype {entry.phenotype!r}"))
        if entry.cell is not None and entry.cell not in kb.cell_types:
            problems.append(item.problem(("cell",), f"unknown cell type {entry.cell!r}"))
        if entry.record is not None and entry.record not in kb.records:
            problems.append(item.problem(("record",), f"unknown record id {entry.record!r}"))
        carried = entry.reason in {"counted_elsewhere", "relayed"}
        if carried and not entry.by:
            problems.append(
                item.problem(("by",), f"{entry.reason} needs by: the rule's target that carries it")
            )
        elif entry.by and not carried:
            problems.append(
                item.problem(
                    ("by",), f"by is for counted_elsewhere and relayed, not {entry.reason}"
                )
            )
        key = (entry.record, entry.phenotype, entry.cell)
        if key in found:
            problems.append(
                item.problem(
                    ("phenotype",),
                    f"duplicate inert_effects entry for {entry.phenotype!r}"
                    f" (record {entry.record or 'any'}, cell {entry.cell or 'any'})",
                )
            )
        found.setdefault(key, item)
    return [item.value for item in found.values()]


def _check_drug(kb: KnowledgeBase, item: Item, problems: list[Problem]) -> None:
    drug: Drug = item.value
    molecule = kb.find_molecule(drug.id)
    if molecule is None or molecule.type != "drug":
        problems.append(item.problem(("id",), f"{drug.id!r} is not a drug molecule of the graph"))
    for field_name in ("blocks_cargo", "bound_by_cargo"):
        for i, name in enumerate(getattr(drug, field_name)):
            if kb.find_molecule(name) is None:
                problems.append(item.problem((field_name, i), f"unknown molecule {name!r}"))
    if drug.bound_by_cargo and (drug.binding_sites is None or drug.binding_kd is None):
        problems.append(item.problem(("bound_by_cargo",), "needs binding_sites and binding_kd"))
    if drug.blocks_cargo and drug.block_kd is None:
        problems.append(item.problem(("block_kd",), "blocks_cargo needs a block_kd"))
    for i, cell in enumerate(drug.blocks_in):
        if cell not in kb.cell_types:
            problems.append(item.problem(("blocks_in", i), f"unknown cell type {cell!r}"))
    for i, cell in enumerate(drug.kills):
        if cell not in kb.cell_types:
            problems.append(item.problem(("kills", i), f"unknown cell type {cell!r}"))


def _check_resistance(
    kb: KnowledgeBase, items: list[Item], problems: list[Problem]
) -> dict[str, ResistanceProtein]:
    """Resistance proteins by molecule id; each names known molecules, drugs and a state that
    resists exactly its substrates."""
    found: dict[str, ResistanceProtein] = {}
    for item in items:
        entry: ResistanceProtein = item.value
        molecule = kb.find_molecule(entry.protein)
        if molecule is None:
            problems.append(item.problem(("protein",), f"unknown molecule {entry.protein!r}"))
            continue
        state = kb.cell_states.get(entry.state)
        if state is None:
            problems.append(item.problem(("state",), f"unknown cell state {entry.state!r}"))
        elif {_id(kb, n) for n in state.resistant_to} != {_id(kb, n) for n in entry.substrates}:
            problems.append(
                item.problem(
                    ("state",),
                    f"state {entry.state!r} resists {sorted(state.resistant_to)}, not exactly "
                    f"the substrates {sorted(entry.substrates)}",
                )
            )
        found[molecule.id] = entry
    return found


def _organotropism(
    kb: KnowledgeBase, items: list[Item], problems: list[Problem]
) -> dict[str, Organotropism]:
    found: dict[str, Organotropism] = {}
    for item in items:
        entry: Organotropism = item.value
        if entry.cell not in kb.cell_types:
            problems.append(item.problem(("cell",), f"unknown cell type {entry.cell!r}"))
        found[entry.cell] = entry
    return found


def _homing(
    kb: KnowledgeBase, items: list[Item], problems: list[Problem]
) -> dict[str, ExosomeHoming]:
    """Exosome homing by record id: a known record, one entry per record."""
    found: dict[str, ExosomeHoming] = {}
    for item in items:
        entry: ExosomeHoming = item.value
        if entry.record not in kb.records:
            problems.append(item.problem(("record",), f"unknown record {entry.record!r}"))
        elif entry.record in found:
            problems.append(
                item.problem(("record",), f"duplicate exosome_homing entry {entry.record!r}")
            )
        found.setdefault(entry.record, entry)
    return found


def _drug_export(
    kb: KnowledgeBase, items: list[Item], drugs: dict[str, Item], problems: list[Problem]
) -> dict[str, DrugExport]:
    """Vesicular drug export by drug molecule id: a drug of the library, a known cell type and
    known records, one entry per drug."""
    found: dict[str, DrugExport] = {}
    known = {_id(kb, name) for name in drugs}
    for item in items:
        entry: DrugExport = item.value
        drug = _id(kb, entry.drug)
        if drug not in known:
            problems.append(item.problem(("drug",), f"{entry.drug!r} is not a drug of the library"))
        elif drug in found:
            problems.append(item.problem(("drug",), f"duplicate drug_export entry {entry.drug!r}"))
        if entry.cell not in kb.cell_types:
            problems.append(item.problem(("cell",), f"unknown cell type {entry.cell!r}"))
        for key in ("records", "blocked_by"):
            for i, record in enumerate(getattr(entry, key)):
                if record not in kb.records:
                    problems.append(item.problem((key, i), f"unknown record {record!r}"))
        if entry.share.value >= 1 or (entry.share.high or 0) >= 1:
            problems.append(item.problem(("share",), "a share of the efflux must be below 1"))
        found.setdefault(drug, entry)
    return found


def organ_weight(
    lib: Library, kb: KnowledgeBase, cell: str, organ: str
) -> tuple[str, float, str] | None:
    """The seeding weight of an organ for a cell type (nearest ancestor's entry): (entry's
    cell, weight, source), or None when no ancestor has one."""
    for ancestor in kb.ancestors(cell):
        entry = lib.organotropism.get(ancestor)
        if entry is not None and organ in entry.weights:
            return entry.cell, entry.weights[organ], entry.source  # type: ignore[index]
    return None


def _id(kb: KnowledgeBase, name: str) -> str:
    molecule = kb.find_molecule(name)
    return molecule.id if molecule is not None else name


_NOT_LIBRARY = {
    "scenarios",
    "scenarios_pending",
    "cohorts",
    "tissue",
    "lifecycle",
}  # folders of other files


def _parts(path: Path, roots: list[Path]) -> tuple[str, ...]:
    root = next(r for r in roots if path == r or r in path.parents)
    return path.relative_to(root).parts


def load_library(kb: KnowledgeBase, paths: Iterable[Path | str] | None = None) -> Library:
    """Load parameters, drugs, cells and rules (the packaged set when no path is given)."""
    roots = [Path(p) for p in paths] if paths is not None else [packaged_model_dir()]
    problems: list[Problem] = []
    items = _library_items(roots, problems)
    reasons = _reasons(kb, items, problems)
    inert = _inert_reasons(kb, items, problems)
    tables = _tables(items, problems)
    oral = {oral_parameter(_id(kb, name)) for name in tables.drugs}  # read by an oral dose
    _check_parameters(tables.parameters, tables.cells, roots[0], problems, tables.rules, oral)
    _check_entries(kb, tables, problems)
    proteins = _check_resistance(kb, _section(items, "resistance"), problems)
    organs = _organotropism(kb, _section(items, "organotropism"), problems)
    homing = _homing(kb, _section(items, "exosome_homing"), problems)
    exports = _drug_export(kb, _section(items, "drug_export"), tables.drugs, problems)
    if problems:
        raise ModelDataError(problems)
    lifecycle = _lifecycle(roots[0])
    return Library(
        resistance=proteins,
        organotropism=organs,
        homing=homing,
        drug_export=exports,
        parameters=_values(tables.parameters) | _entries(lifecycle.parameters()),
        drugs={_id(kb, name): item.value for name, item in tables.drugs.items()},
        rules=_values(tables.rules),
        cells=_values(tables.cells),
        rule_files={name: item.file for name, item in tables.rules.items()},
        not_simulated=_values(reasons),
        inert_effects=inert,
        lifecycle=lifecycle,
    )


def _lifecycle(root: Path) -> Lifecycle:
    """The lifecycle of a library folder (``lifecycle/lifecycle.yaml``), else the packaged one."""
    path = root / LIFECYCLE_FILE.relative_to(LIFECYCLE_FILE.parents[1])
    return load_lifecycle(path) if path.is_file() else packaged_lifecycle()


def _entries(params: dict[str, Param]) -> dict[str, ParameterEntry]:
    """The lifecycle's rates and shares as library parameters (overridable, with ranges)."""
    return {
        name: ParameterEntry(id=name, description="exosome lifecycle", **p.model_dump())
        for name, p in params.items()
    }


class _Tables(NamedTuple):
    """The sections whose entries have unique ids, by id (items keep their file and line)."""

    parameters: dict[str, Item]
    drugs: dict[str, Item]
    rules: dict[str, Item]
    cells: dict[str, Item]


def _library_items(roots: list[Path], problems: list[Problem]) -> list[Item]:
    """Every entry of the library's YAML files under ``roots`` (not scenarios, cohorts or
    tissue files)."""
    files = [f for f in yaml_files(roots) if not _NOT_LIBRARY & set(_parts(f, roots))]
    return [item for path in files for item in parse_sections(path, _SECTIONS, problems)]


def _section(items: list[Item], name: str) -> list[Item]:
    return [item for item in items if item.loc[0] == name]


def _tables(items: list[Item], problems: list[Problem]) -> _Tables:
    """Parameters, drugs, rules (by id) and cells (by cell type); a duplicate is a problem."""
    return _Tables(
        *(
            _unique(_section(items, name), problems, "cell" if name == "cells" else "id")
            for name in _Tables._fields
        )
    )


def _check_entries(kb: KnowledgeBase, tables: _Tables, problems: list[Problem]) -> None:
    """Rules, drugs and cells against the graph (cells also against the parameters)."""
    for item in tables.rules.values():
        _check_rule(kb, item, problems)
        _check_induction(kb, item, tables, problems)
    for item in tables.drugs.values():
        _check_drug(kb, item, problems)
    for item in tables.cells.values():
        _check_cell(kb, item, tables.parameters, problems)


def _check_induction(
    kb: KnowledgeBase, item: Item, tables: _Tables, problems: list[Problem]
) -> None:
    """A rule's ``induced_by``: a drug of the library (or a group its drugs name), parameters
    of parameters.yaml, and loading only of a named cargo (a cargo-unspecified pool stands
    for all the donors' exosomes: a drug raises its release)."""
    rule: Rule = item.value
    drugs = {_id(kb, name): entry.value for name, entry in tables.drugs.items()}
    groups = {g for drug in drugs.values() for g in drug.groups}
    record = kb.records.get(rule.record)
    cargo = record.analyte if isinstance(record, Biomarker) else getattr(record, "cargo", [])
    placeholder = any((m := kb.find_molecule(c)) is not None and m.placeholder for c in cargo)
    for i, entry in enumerate(rule.induced_by):
        if _id(kb, entry.drug) not in drugs and entry.drug not in groups:
            problems.append(
                item.problem(
                    ("induced_by", i, "drug"),
                    f"{entry.drug!r} is neither a drug of drugs.yaml nor a group of its drugs",
                )
            )
        for name in ("fold", "ec50"):
            ref = getattr(entry, name)
            if ref is not None and ref not in tables.parameters:
                problems.append(item.problem(("induced_by", i, name), f"unknown parameter {ref!r}"))
        if entry.raises == "loading" and placeholder:
            problems.append(
                item.problem(
                    ("induced_by", i, "raises"),
                    "the record's cargo is unspecified (all the donors' exosomes): "
                    "a drug can raise their release, not their loading",
                )
            )


def _values(entries: dict[str, Item]) -> dict[str, Any]:
    return {name: item.value for name, item in entries.items()}


_CELL_PARAMETERS = (  # named by cells.yaml
    "growth",
    "growth_in_culture",
    "death",
    "secretion",
    "kill_rate",
    "speed",
    "recruitment",
)


def _check_parameters(
    params: dict[str, Item],
    cells: dict[str, Item],
    root: Path,
    problems: list[Problem],
    rules: dict[str, Item] | None = None,
    oral: set[str] | None = None,
) -> None:
    """Declared parameters: present, in their units, and read by something (a cell type's
    behaviour, a rule's ``induced_by``, or an oral dose of a drug: ``oral``)."""
    referenced = set(oral or ()) | {
        ref
        for item in cells.values()
        for name in _CELL_PARAMETERS
        if (ref := getattr(item.value, name)) is not None
    }
    referenced |= {
        ref
        for item in cells.values()
        for act in item.value.acts_on
        if act.memory is not None
        for ref in (act.memory.priming, act.memory.loss)
    }
    referenced |= {
        ref
        for item in (rules or {}).values()
        for entry in item.value.induced_by
        for ref in (entry.fold, entry.ec50)
        if ref is not None
    }
    for name, message in declaration_problems(_values(params), referenced).items():
        if name in params:
            problems.append(
                params[name].problem(("unit",) if "must be in" in message else ("id",), message)
            )
        else:
            problems.append(Problem(root, None, "parameters", message))
    for item in params.values():
        if (wrong := _inclusion_problem(item.value, params)) is not None:
            problems.append(item.problem(("includes",), wrong))


def _inclusion_problem(param: ParameterEntry, params: dict[str, Item]) -> str | None:
    """Why a parameter's ``includes`` is wrong: the included one must exist, not include
    another itself, share the unit and lie at or below the range (own part never negative)."""
    if param.includes is None:
        return None
    if param.includes not in params or param.includes == param.id:
        return f"includes {param.includes!r}: expected the id of another parameter"
    included: ParameterEntry = params[param.includes].value
    if included.includes is not None:
        return f"includes {param.includes!r}, which includes {included.includes!r} in turn"
    if included.unit != param.unit:
        return f"includes {param.includes!r} in {included.unit!r}, expected {param.unit!r}"
    low = param.low if param.low is not None else param.value
    if low < included.value:
        return (
            f"includes {param.includes!r} ({included.value:g}), above its low {low:g}: "
            "its own part would be negative"
        )
    return None


def _check_cell(
    kb: KnowledgeBase, item: Item, params: dict[str, Item], problems: list[Problem]
) -> None:
    entry: CellBehaviour = item.value
    if entry.cell not in kb.cell_types:
        problems.append(item.problem(("cell",), f"unknown cell type {entry.cell!r}"))
    for name in _CELL_PARAMETERS:
        ref = getattr(entry, name)
        if ref is not None and ref not in params:
            problems.append(item.problem((name,), f"unknown parameter {ref!r}"))
    for k, act in enumerate(entry.acts_on):
        if act.cell not in kb.cell_types:
            problems.append(item.problem(("acts_on", k, "cell"), f"unknown cell type {act.cell!r}"))
        for name in ("phenotype", "through"):
            phenotype = getattr(act, name)
            if phenotype is not None and phenotype not in kb.phenotypes:
                problems.append(
                    item.problem(("acts_on", k, name), f"unknown phenotype {phenotype!r}")
                )
        if act.ligand is not None and kb.find_molecule(act.ligand) is None:
            problems.append(
                item.problem(("acts_on", k, "ligand"), f"unknown molecule {act.ligand!r}")
            )
        for record in act.records:
            if record not in kb.records:
                problems.append(
                    item.problem(("acts_on", k, "records"), f"unknown record {record!r}")
                )
        if act.memory is not None:
            _check_memory(item, k, act.memory, params, problems)


def _check_memory(
    item: Item, k: int, memory: Memory, params: dict[str, Item], problems: list[Problem]
) -> None:
    """An act's priming and memory-loss rates: parameters of parameters.yaml, in 1/day."""
    for name in ("priming", "loss"):
        ref = getattr(memory, name)
        if ref not in params:
            message = f"unknown parameter {ref!r}"
        elif (unit := params[ref].value.unit) != "1/day":
            message = f"parameter {ref!r} is in {unit!r}, expected 1/day"
        else:
            continue
        problems.append(item.problem(("acts_on", k, "memory", name), message))
