"""Scenario files: loading, validation against the graph and the library, typed errors."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from ...datafiles import Item, Problem, yaml_message
from ...errors import ScenarioError as ScenarioError
from ...errors import did_you_mean
from ...knowledge import KnowledgeBase
from ...yaml_lines import line_of, load_lined
from ..rules.library import Library
from .schema import CellSelector, Scenario

REQUIRED_FIELDS = {
    "count": ("of",),
    "fraction": ("of", "among"),
    "exosomes": ("cargo", "compartment"),
    "drug": ("drug", "compartment"),
    "activity": ("phenotype", "of"),
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

    def add(self, loc: tuple[str | int, ...], message: str) -> None:
        self.problems.append(self.item.problem(loc, message))

    def cell(self, loc: tuple[str | int, ...], cell: str | None, state: str | None) -> None:
        if cell is not None and cell not in self.kb.cell_types:
            self.add((*loc, "cell"), f"unknown cell type {cell!r}")
        if state is not None and state not in self.kb.cell_states:
            self.add((*loc, "state"), f"unknown cell state {state!r}")

    def selector(self, loc: tuple[str | int, ...], sel: CellSelector | None) -> None:
        if sel is not None:
            self.cell(loc, sel.cell, sel.state)

    def molecule(self, loc: tuple[str | int, ...], name: str | None) -> None:
        if name is not None and self.kb.find_molecule(name) is None:
            self.add(loc, f"unknown cargo or molecule {name!r}")

    def drug(self, loc: tuple[str | int, ...], name: str | None) -> None:
        molecule = self.kb.find_molecule(name) if name else None
        if name is not None and (molecule is None or molecule.id not in self.lib.drugs):
            self.add(loc, f"unknown drug {name!r} (known: {', '.join(self.lib.drugs)})")

    def run(self, sc: Scenario) -> list[Problem]:
        if sc.tissue is None:
            for i, pop in enumerate(sc.populations):
                self.cell(("populations", i), pop.cell, pop.state)
                for j, molecule in enumerate(pop.surface):
                    self.molecule(("populations", i, "surface", j), molecule)
        else:
            for i, placed in enumerate(sc.tissue.cells):
                self.cell(("tissue", "cells", i), placed.cell, placed.state)
                for j, molecule in enumerate(placed.surface):
                    self.molecule(("tissue", "cells", i, "surface", j), molecule)
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
        arms = [a.name for a in sc.arms]
        for i, name in enumerate(arms):
            if arms.index(name) != i:
                self.add(("arms", i, "name"), f"duplicate arm {name!r}")
        loc: tuple[str | int, ...]
        for i, arm in enumerate(sc.arms):
            for j, pop in enumerate(arm.populations or []):
                self.cell(("arms", i, "populations", j), pop.cell, pop.state)
            for j, item in enumerate(arm.interventions):
                loc = ("arms", i, "interventions", j)
                if item.type in {"drug", "exosome_carrier"}:
                    self.drug((*loc, "drug"), item.drug)  # type: ignore[union-attr]
                if item.type in {
                    "cargo_knockdown",
                    "cargo_overexpression",
                    "signal_blocker",
                    "exosome_dose",
                }:
                    self.molecule((*loc, "cargo"), getattr(item, "cargo", None))
                if item.type == "release_inhibitor":
                    self.selector((*loc, "donors"), item.donors)
                if item.type == "exosome_dose":
                    self.selector((*loc, "donor"), item.donor)
                if item.type == "surgery" and item.day > sc.duration:
                    self.add((*loc, "day"), f"surgery on day {item.day} is after the end")
        readouts = [r.name for r in sc.readouts]
        for i, readout in enumerate(sc.readouts):
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
            self.molecule((*loc, "cargo"), readout.cargo)
            self.drug((*loc, "drug"), readout.drug)
            if readout.phenotype and readout.phenotype not in self.kb.phenotypes:
                self.add((*loc, "phenotype"), f"unknown phenotype {readout.phenotype!r}")
            for name in ("numerator", "denominator"):
                ref = getattr(readout, name)
                if ref is not None and (ref not in readouts or ref == readout.name):
                    self.add((*loc, name), f"unknown readout {ref!r} (define it before the ratio)")
        for i, check in enumerate(sc.checks):
            loc = ("checks", i)
            if check.readout not in readouts:
                self.add((*loc, "readout"), f"unknown readout {check.readout!r}")
            if check.arm not in arms:
                self.add((*loc, "arm"), f"unknown arm {check.arm!r} (arms: {', '.join(arms)})")
            if check.day > sc.duration:
                self.add((*loc, "day"), f"day {check.day} is after the end ({sc.duration})")
            other = check.than
            if other.arm is not None and other.arm not in arms:
                self.add(
                    (*loc, "than", "arm"), f"unknown arm {other.arm!r} (arms: {', '.join(arms)})"
                )
            if other.readout is not None and other.readout not in readouts:
                self.add((*loc, "than", "readout"), f"unknown readout {other.readout!r}")
            if other.day is not None and other.day > sc.duration:
                self.add((*loc, "than", "day"), f"day {other.day} is after the end")
            for where, ref in (
                ((*loc, "relative_to"), check.relative_to),
                ((*loc, "than", "relative_to"), other.relative_to),
            ):
                if ref is not None and ref not in arms:
                    self.add(where, f"unknown arm {ref!r} (arms: {', '.join(arms)})")
            if other.value is not None and (other.arm or other.readout or other.day is not None):
                self.add(
                    (*loc, "than"), "compare with a value or with an arm/day/readout, not both"
                )
        for name, value in sc.parameters.items():
            param = self.lib.parameters.get(name)
            if param is None:
                self.add(("parameters", name), f"unknown parameter {name!r}")
            elif (
                not (param.low if param.low is not None else param.value)
                <= value
                <= (param.high if param.high is not None else param.value)
            ):
                self.add(
                    ("parameters", name),
                    (
                        f"{value} lies outside the range of {name!r} "
                        f"[{param.low}, {param.high}] given in parameters.yaml"
                    ),
                )
        return self.problems


def load_scenario(path: Path | str, kb: KnowledgeBase, lib: Library) -> Scenario:
    """Parse and validate a scenario file; raises :class:`ScenarioError` naming file and field."""
    path = resolve_scenario_path(path)
    try:
        raw = load_lined(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([Problem(path, None, "", f"cannot read: {exc}")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ScenarioError(
            [Problem(path, line, "", f"YAML syntax: {yaml_message(exc)}")]
        ) from None
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            if err["type"] in {"union_tag_invalid", "union_tag_not_found"}:
                loc += ("type",)
            line, field = line_of(raw, loc)
            got = err.get("input")
            shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
            problems.append(Problem(path, line, ".".join(map(str, field)), err["msg"] + shown))
        raise ScenarioError(problems) from None
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
    """Compile every arm: an intervention on something the arm does not hold is an error."""
    from ..rules.compiler import compile_arm
    from ..rules.rows import ModelError

    problems = []
    for i, arm in enumerate(scenario.arms):
        try:
            compile_arm(kb, lib, scenario, arm)
        except ModelError as exc:
            problems.append(item.problem(("arms", i, *exc.where), str(exc)))
    return problems
