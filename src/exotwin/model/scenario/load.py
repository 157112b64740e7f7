"""Scenario files: loading, validation against the graph and the library, typed errors."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from ...datafiles import Item, Problem, load_model_file
from ...errors import ScenarioError as ScenarioError
from ...errors import did_you_mean
from ...knowledge import KnowledgeBase
from ..rules.library import Library
from ..rules.parameters import oral_parameter
from .schema import (
    CargoKnockdown,
    CargoOverexpression,
    CarrierTreatment,
    CellPlacement,
    CellSelector,
    Check,
    DrugTreatment,
    ExosomeDose,
    Intervention,
    PopulationSpec,
    Readout,
    ReleaseInhibitor,
    Scenario,
    SignalBlocker,
    StepIntervention,
    Surgery,
)

Loc = tuple[str | int, ...]

REQUIRED_FIELDS = {
    "count": ("of",),
    "fraction": ("of", "among"),
    "exosomes": ("compartment",),  # no cargo: all exosomes (in plasma, blood cells' too)
    "tumour_derived": ("compartment",),
    "drug": ("drug", "compartment"),
    "activity": ("phenotype", "of"),
    "surface": ("cargo", "of"),
    "internalised": ("cargo", "of"),
    "killed": ("drug",),
    "offtarget_exposure": ("drug",),
    "ratio": ("numerator", "denominator"),
}


def packaged_scenarios(kind: str = "scenarios") -> dict[str, Path]:
    """Shipped scenario files by scenario id (the file stem): compartment ``scenarios`` or
    spatial ``tissue`` scenarios."""
    folder = Path(str(resources.files("exotwin.model") / "data" / kind))
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def resolve_scenario_path(name: str | Path) -> Path:
    """A path, or the id of a shipped scenario."""
    path = Path(name)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        return path
    shipped = {**packaged_scenarios(), **packaged_scenarios("tissue")}
    if str(name) in shipped:
        return shipped[str(name)]
    raise ScenarioError(
        [
            Problem(
                path,
                None,
                "",
                f"no scenario file or shipped scenario named {str(name)!r}"
                + did_you_mean(str(name), shipped, listed=50),
            )
        ]
    )


class _Checker:
    def __init__(self, kb: KnowledgeBase, lib: Library, item: Item) -> None:
        self.kb, self.lib, self.item = kb, lib, item
        self.problems: list[Problem] = []

    def add(self, loc: Loc, message: str) -> None:
        self.problems.append(self.item.problem(loc, message))

    def cell(self, loc: Loc, cell: str | None, state: str | None) -> None:
        if cell is not None and cell not in self.kb.cell_types:
            self.add((*loc, "cell"), f"unknown cell type {cell!r}")
        if state is not None and state not in self.kb.cell_states:
            self.add((*loc, "state"), f"unknown cell state {state!r}")

    def selector(self, loc: Loc, sel: CellSelector | None) -> None:
        if sel is not None:
            self.cell(loc, sel.cell, sel.state)

    def molecule(self, loc: Loc, name: str | None) -> None:
        if name is not None and self.kb.find_molecule(name) is None:
            self.add(loc, f"unknown cargo or molecule {name!r}")

    def drug(self, loc: Loc, name: str | None) -> None:
        molecule = self.kb.find_molecule(name) if name else None
        if name is not None and (molecule is None or molecule.id not in self.lib.drugs):
            self.add(loc, f"unknown drug {name!r} (known: {', '.join(self.lib.drugs)})")

    def oral(self, loc: Loc, item: DrugTreatment | CarrierTreatment) -> None:
        """A drug given orally needs its oral bioavailability (parameters.yaml)."""
        found = self.kb.find_molecule(item.drug)
        drug = found.id if found is not None and found.id in self.lib.drugs else None
        oral = isinstance(item, DrugTreatment) and item.route == "oral"
        if oral and drug is not None and oral_parameter(drug) not in self.lib.parameters:
            self.add((*loc, "route"), f"{drug} has no {oral_parameter(drug)} in parameters.yaml")

    def run(self, sc: Scenario) -> list[Problem]:
        """Every problem of a parsed scenario, in the order of its sections."""
        self.populations(sc)
        self.mechanisms(sc)
        arms = [a.name for a in sc.arms]
        self.arms(sc, arms)
        readouts = [r.name for r in sc.readouts]
        for i, readout in enumerate(sc.readouts):
            self.readout(i, readout, readouts)
        for i, check in enumerate(sc.checks):
            self.check(("checks", i), check, arms, readouts, sc.duration)
        self.parameters(sc.parameters)
        return self.problems

    def populations(self, sc: Scenario) -> None:
        """Cell types, states and surface molecules of the populations or tissue cells."""
        if sc.tissue is None:
            placed: Sequence[PopulationSpec | CellPlacement] = sc.populations
            where: tuple[str, ...] = ("populations",)
        else:
            placed, where = sc.tissue.cells, ("tissue", "cells")
        for i, pop in enumerate(placed):
            self.cell((*where, i), pop.cell, pop.state)
            for j, molecule in enumerate(pop.surface):
                self.molecule((*where, i, "surface", j), molecule)

    def mechanisms(self, sc: Scenario) -> None:
        """Rule ids, record ids and tags the scenario names."""
        mech = sc.mechanisms
        tags = {t for r in self.kb.records.values() for t in r.tags}
        for i, rule in enumerate(mech.rules):
            if rule not in self.lib.rules:
                self.add(("mechanisms", "rules", i), f"unknown rule id {rule!r}")
        for i, record in enumerate(mech.records):
            if record not in self.kb.records:
                self.add(("mechanisms", "records", i), f"unknown record id {record!r}")
        for i, tag in enumerate(mech.tags):
            if tag not in tags:
                self.add(("mechanisms", "tags", i), f"no record has the tag {tag!r}")
        for i, record in enumerate(sc.records):
            if record not in self.kb.records:
                self.add(("records", i), f"unknown record id {record!r}")

    def arms(self, sc: Scenario, arms: list[str]) -> None:
        """Unique arm names, the arms' own populations and their interventions."""
        for i, name in enumerate(arms):
            if arms.index(name) != i:
                self.add(("arms", i, "name"), f"duplicate arm {name!r}")
        for i, arm in enumerate(sc.arms):
            for j, pop in enumerate(arm.populations or []):
                self.cell(("arms", i, "populations", j), pop.cell, pop.state)
            for j, item in enumerate(arm.interventions):
                self.intervention(("arms", i, "interventions", j), item, sc.duration)
                if isinstance(item, StepIntervention) and item.band and sc.tissue is None:
                    loc = ("arms", i, "interventions", j, "band")
                    self.add(loc, "a band needs space: only a scenario with a tissue section")

    def intervention(self, loc: Loc, item: Intervention, duration: float) -> None:
        """The drug, cargo, cells or day an intervention names."""
        match item:
            case DrugTreatment() | CarrierTreatment():
                self.drug((*loc, "drug"), item.drug)
                self.oral(loc, item)
            case CargoKnockdown() | CargoOverexpression() | SignalBlocker():
                self.molecule((*loc, "cargo"), item.cargo)
            case ExosomeDose():
                self.molecule((*loc, "cargo"), item.cargo)
                self.selector((*loc, "donor"), item.donor)
                for k, down in enumerate(item.knockdown):
                    self.molecule((*loc, "knockdown", k, "cargo"), down.cargo)
            case ReleaseInhibitor():
                self.selector((*loc, "donors"), item.donors)
            case StepIntervention():
                self.selector((*loc, "donors"), item.donors)
                self.selector((*loc, "receivers"), item.receivers)
                if item.band is not None:
                    self.selector((*loc, "band", "of"), item.band.of)
                names = (item.machinery, item.agent, item.route)
                for name, message in self.lib.lifecycle.problems(item.step, *names):
                    self.add((*loc, name), message)
            case Surgery() if item.day > duration:
                self.add((*loc, "day"), f"surgery on day {item.day} is after the end")

    def readout(self, i: int, readout: Readout, readouts: list[str]) -> None:
        """The fields of readout ``i``, given the names of all the readouts."""
        loc = ("readouts", i)
        if readouts.index(readout.name) != i:
            self.add((*loc, "name"), f"duplicate readout {readout.name!r}")
        for name in REQUIRED_FIELDS[readout.kind]:
            if getattr(readout, name) is None:
                self.add((*loc, name), f"a {readout.kind} readout needs {name!r}")
        self.selector((*loc, "of"), readout.of)
        self.selector((*loc, "among"), readout.among)
        if readout.band is not None:
            self.selector((*loc, "band", "of"), readout.band.of)
        if readout.assay is not None and (readout.kind, readout.compartment) != (
            "exosomes",
            "plasma",
        ):
            self.add(
                (*loc, "assay"), "an assay reads exosomes readouts of plasma (a liquid biopsy)"
            )
        self.molecule((*loc, "cargo"), readout.cargo)
        self.drug((*loc, "drug"), readout.drug)
        if readout.phenotype and readout.phenotype not in self.kb.phenotypes:
            self.add((*loc, "phenotype"), f"unknown phenotype {readout.phenotype!r}")
        for name in ("numerator", "denominator"):
            ref = getattr(readout, name)
            if ref is not None and (ref not in readouts or ref == readout.name):
                self.add((*loc, name), f"unknown readout {ref!r} (define it before the ratio)")

    def check(
        self, loc: Loc, check: Check, arms: list[str], readouts: list[str], duration: float
    ) -> None:
        """The arms, readouts and days a check and the operand it compares with name."""
        if check.readout not in readouts:
            self.add((*loc, "readout"), f"unknown readout {check.readout!r}")
        self.arm((*loc, "arm"), check.arm, arms)
        if check.day > duration:
            self.add((*loc, "day"), f"day {check.day} is after the end ({duration})")
        other = check.than
        self.arm((*loc, "than", "arm"), other.arm, arms)
        if other.readout is not None and other.readout not in readouts:
            self.add((*loc, "than", "readout"), f"unknown readout {other.readout!r}")
        if other.day is not None and other.day > duration:
            self.add((*loc, "than", "day"), f"day {other.day} is after the end")
        self.arm((*loc, "relative_to"), check.relative_to, arms)
        self.arm((*loc, "than", "relative_to"), other.relative_to, arms)
        if other.value is not None and (other.arm or other.readout or other.day is not None):
            self.add((*loc, "than"), "compare with a value or with an arm/day/readout, not both")

    def arm(self, loc: Loc, name: str | None, arms: list[str]) -> None:
        if name is not None and name not in arms:
            self.add(loc, f"unknown arm {name!r} (arms: {', '.join(arms)})")

    def parameters(self, overrides: dict[str, float]) -> None:
        """Overridden parameters exist and lie within the ranges parameters.yaml gives."""
        for name, value in overrides.items():
            param = self.lib.parameters.get(name)
            if param is None:
                self.add(("parameters", name), f"unknown parameter {name!r}")
                continue
            low = param.low if param.low is not None else param.value
            high = param.high if param.high is not None else param.value
            if not low <= value <= high:
                self.add(
                    ("parameters", name),
                    (
                        f"{value} lies outside the range of {name!r} "
                        f"[{param.low}, {param.high}] given in "
                        f"{'lifecycle' if name.startswith('lifecycle.') else 'parameters'}.yaml"
                    ),
                )


def load_scenario(path: Path | str, kb: KnowledgeBase, lib: Library) -> Scenario:
    """Parse and validate a scenario file; raises :class:`ScenarioError` naming file and field."""
    path = resolve_scenario_path(path)
    scenario, raw = load_model_file(path, Scenario, ScenarioError)
    item = Item(scenario, path, raw, ())
    problems = _Checker(kb, lib, item).run(scenario)
    if not problems:
        problems = _compile_problems(kb, lib, scenario, item)
    if problems:
        raise ScenarioError(problems)
    return scenario


def _compile_problems(
    kb: KnowledgeBase, lib: Library, scenario: Scenario, item: Item
) -> list[Problem]:
    """Compile every arm: an intervention on something the arm does not hold is an error, and
    so is an ``activity`` readout that no arm simulates (it would read 1 whatever happens)."""
    from ..rules.compiler import compile_arm
    from ..rules.rows import ModelError
    from .readouts import tracks, untracked_reason

    problems, models = [], []
    for i, arm in enumerate(scenario.arms):
        try:
            models.append(compile_arm(kb, lib, scenario, arm))
        except ModelError as exc:
            problems.append(item.problem(("arms", i, *exc.where), str(exc)))
    if problems:
        return problems
    rates = scenario.tissue is None  # the tissue engine reads activity levels only
    for i, readout in enumerate(scenario.readouts):
        if readout.kind == "activity" and not any(tracks(kb, m, readout, rates) for m in models):
            loc = ("readouts", i, "phenotype")
            problems.append(item.problem(loc, untracked_reason(lib, models, readout)))
    return problems
