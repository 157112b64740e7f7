"""SBML Level 3 export of a compiled arm, printed from the model's own equations.

The equations (:mod:`exotwin.model.ode.equations`) run once on formulas instead of numbers: every
flux row becomes a reaction with its kinetic law, cells, exosome pools, internalised cargo and
drug concentrations are species in their compartments, every parameter of the arm is an SBML
parameter with its value, unit and provenance, and doses and surgery are events. Activity
levels and counters (cells killed, off-target exposure) are parameters with rate rules. One
export serves every patient of an arm: a cohort sets parameter values and initial amounts.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import SbmlError as SbmlError
from ...io import atomic_write_text
from ..rules.rows import CompiledModel
from ..rules.table import COMPARTMENTS, DRUG_VARS
from .algebra import Formula, Symbolic, number
from .equations import Flux, change_amount, derive, fluxes
from .solve import Trajectory, apply_event, nominal, starting_state, variable_names

SPECIES_DRUG_VARS = {"plasma", "tumour", "carrier", "delivered", "offtarget"}
SBO = {  # systems biology ontology terms of each kind of flux
    "growth": "SBO:0000393",  # production
    "seeding": "SBO:0000393",
    "release": "SBO:0000393",
    "cargo_release": "SBO:0000393",
    "internalisation": "SBO:0000393",
    "carrier_delivery": "SBO:0000393",
    "carrier_offtarget": "SBO:0000393",
    "transition": "SBO:0000182",  # conversion
    "recruitment": "SBO:0000393",  # production (cells brought in from outside the model)
    "transport": "SBO:0000185",  # transport reaction
    "tumour_exchange": "SBO:0000185",
}
DEGRADATION = "SBO:0000179"
UNITS = {  # parameter units exotwin writes that SBML can state
    "1/day": "per_day",
    "mL": "mL",
    "1": "dimensionless",
    "cells": "item",
    "h": "hour",
}


def sid(text: str) -> str:
    """An SBML identifier for a name."""
    cleaned = re.sub(r"\W", "_", text)
    return cleaned if cleaned[:1].isalpha() else f"p_{cleaned}"


class _Writer:
    def __init__(self, model: CompiledModel) -> None:
        import libsbml

        self.libsbml, self.model = libsbml, model
        self.doc = libsbml.SBMLDocument(3, 2)
        self.sbml = self.doc.createModel()
        self.sbml.setId(sid(f"{model.scenario.id}_{model.arm.name}"))
        self.sbml.setName(f"{model.scenario.title} ({model.arm.name})")
        self._units()
        self.species: set[int] = set()
        self.param_ids = _unique_ids(model.parameters.names)

    def _units(self) -> None:
        ls, m = self.libsbml, self.sbml
        for ident, kind, exponent, multiplier in (
            ("day", ls.UNIT_KIND_SECOND, 1, 86400.0),
            ("hour", ls.UNIT_KIND_SECOND, 1, 3600.0),
            ("per_day", ls.UNIT_KIND_SECOND, -1, 86400.0),
            ("mL", ls.UNIT_KIND_LITRE, 1, 1e-3),
        ):
            unit = m.createUnitDefinition()
            unit.setId(ident)
            part = unit.createUnit()
            part.initDefaults()
            part.setKind(kind)
            part.setExponent(exponent)
            part.setMultiplier(multiplier)
        m.setTimeUnits("day")
        m.setSubstanceUnits("item")
        m.setExtentUnits("item")

    def _math(self, text: str) -> Any:
        ast = self.libsbml.parseL3Formula(text)
        if ast is None:
            raise SbmlError(f"cannot parse generated formula: {text[:200]}")
        return ast

    # ------------------------------------------------------------ declarations

    def declare(self, y0: Any, theta: Any) -> None:
        m, model = self.sbml, self.model
        comps = sorted({c for c in self._compartment_of_variables() if c}, key=COMPARTMENTS.index)
        volume = {
            "culture": "culture_volume",
            "tumour": "tumour_min_volume",
            "plasma": "plasma_volume",
        }
        for comp in comps:
            c = m.createCompartment()
            c.setId(comp)
            c.setSpatialDimensions(3)
            c.setUnits("mL")
            c.setConstant(comp != "tumour")
            c.setSBOTerm("SBO:0000290")
            value = model.parameters.entries[
                model.parameters.index(volume.get(comp, "niche_volume"))
            ]
            c.setSize(value.value)
        for i, (name, entry) in enumerate(
            zip(model.parameters.names, model.parameters.entries, strict=True)
        ):
            p = m.createParameter()
            p.setId(self.param_ids[i])
            p.setName(name)
            p.setValue(float(theta[i]))
            p.setConstant(True)
            p.setSBOTerm("SBO:0000002")
            if entry.unit in UNITS:
                p.setUnits(UNITS[entry.unit])
            p.setNotes(_notes(f"{entry.unit}; source: {entry.source}"))
        names = variable_names(model)
        where = self._compartment_of_variables()
        for i, name in enumerate(names):
            if where[i]:
                self.species.add(i)
                s = m.createSpecies()
                s.setId(f"x{i}")
                s.setName(name)
                s.setCompartment(where[i])
                s.setInitialAmount(float(y0[i]))
                s.setHasOnlySubstanceUnits(True)
                s.setBoundaryCondition(False)
                s.setConstant(False)
                s.setSBOTerm("SBO:0000240")
            else:
                p = m.createParameter()
                p.setId(f"x{i}")
                p.setName(name)
                p.setValue(float(y0[i]))
                p.setConstant(False)

    def _compartment_of_variables(self) -> list[str]:
        """Each state variable's compartment, or "" for variables that are not species."""
        model, lay = self.model, self.model.layout
        where = [p.compartment for p in model.populations]
        where += [comp for (_, comp), _ in sorted(model.pools.items(), key=lambda kv: kv[1])]
        where += [
            model.populations[p].compartment
            for (_, p), _ in sorted(model.signals.items(), key=lambda kv: kv[1])
        ]
        where += [""] * (lay.drugs - lay.activities)
        outside = (
            "culture" if any(p.compartment == "culture" for p in model.populations) else "plasma"
        )
        for _ in model.drugs:
            for var in DRUG_VARS:
                inside = "tumour" if var in {"tumour", "delivered"} else outside
                where.append(inside if var in SPECIES_DRUG_VARS else "")
        return where

    # ------------------------------------------------------------ equations

    def equations(self) -> None:
        model, lay = self.model, self.model.layout
        be = Symbolic()
        theta = np.array([[Formula(p) for p in self.param_ids]], dtype=object)
        y = np.array(
            [[Formula(f"x{i}", deps=frozenset({f"x{i}"})) for i in range(lay.size)]], dtype=object
        )
        derived = derive(model, be, theta)
        found = fluxes(model, be, derived, Formula("time"), y)
        for ident, formula in be.rules:
            self._assignment(ident, formula)
        if "tumour" in {c.getId() for c in self.sbml.getListOfCompartments()}:
            tumour = next(i for i, (r, _) in enumerate(be.rules) if r.startswith("v_tumour"))
            self._compartment_rule("tumour", be.rules[tumour][0])
        rates: dict[int, list[str]] = {}
        for flux in found:
            self._reactions(flux, rates)
        for variable, parts in sorted(rates.items()):
            rule = self.sbml.createRateRule()
            rule.setVariable(f"x{variable}")
            rule.setMath(self._math(" + ".join(parts)))
        self._events(theta, be)

    def _assignment(self, ident: str, formula: Formula) -> None:
        p = self.sbml.createParameter()
        p.setId(ident)
        p.setConstant(False)
        rule = self.sbml.createAssignmentRule()
        rule.setVariable(ident)
        rule.setMath(self._math(formula.text))

    def _compartment_rule(self, compartment: str, ident: str) -> None:
        rule = self.sbml.createAssignmentRule()
        rule.setVariable(compartment)
        rule.setMath(self._math(ident))

    def _reactions(self, flux: Flux, rates: dict[int, list[str]]) -> None:
        """One reaction per row between species; rows into other variables feed rate rules."""
        sources, targets = flux.rows(flux.source), flux.rows(flux.target)
        for row in range(len(sources)):
            rate = flux.rate[0, row]
            if isinstance(rate, float) and rate == 0.0:
                continue
            text = rate.text if isinstance(rate, Formula) else number(float(rate))
            source, target = int(sources[row]), int(targets[row])
            if target >= 0 and target not in self.species:
                rates.setdefault(target, []).append(f"({text})")
                continue
            ident, repeat = f"{flux.name}_{row}", 1
            while self.sbml.getReaction(sid(ident)) is not None:  # a flux of several parts
                ident, repeat = f"{flux.name}_{row}_{repeat}", repeat + 1  # (killers)
            self._reaction(ident, flux.name, text, source, target, rate)

    def _reaction(
        self, ident: str, kind: str, text: str, source: int, target: int, rate: Any
    ) -> None:
        r = self.sbml.createReaction()
        r.setId(sid(ident))
        r.setReversible(kind == "tumour_exchange")
        r.setSBOTerm(SBO.get(kind, DEGRADATION))
        involved = set()
        for index, add in ((source, r.createReactant), (target, r.createProduct)):
            if index >= 0:
                ref = add()
                ref.setSpecies(f"x{index}")
                ref.setStoichiometry(1.0)
                ref.setConstant(True)
                involved.add(f"x{index}")
        deps = rate.deps if isinstance(rate, Formula) else frozenset()
        for species in sorted(deps - involved):
            if int(species[1:]) in self.species:
                r.createModifier().setSpecies(species)
        law = r.createKineticLaw()
        law.setMath(self._math(text))

    def _events(self, theta: Any, be: Symbolic) -> None:
        """Doses, medium changes and surgery after day 0 (day-0 ones are in the initial state)."""
        formulas = {"add": "x{i} + ({v})", "set": "{v}", "scale": "x{i} * ({v})"}
        for count, event in enumerate(e for e in self.model.rows.events if e.day > 0):
            merged: dict[str, str] = {}
            for change in event.changes:
                amount = change_amount(change, theta, be)[0]
                text = amount.text if isinstance(amount, Formula) else number(float(amount))
                variable = f"x{change.variable}"
                formula = formulas[change.operation].format(i=change.variable, v=text)
                if variable in merged:  # later changes act on top of earlier ones
                    formula = re.sub(rf"\b{variable}\b", f"({merged[variable]})", formula)
                merged[variable] = formula
            if not merged:
                continue
            ev = self.sbml.createEvent()
            ev.setId(f"ev{count}")
            ev.setUseValuesFromTriggerTime(True)
            trigger = ev.createTrigger()
            trigger.setInitialValue(False)
            trigger.setPersistent(True)
            trigger.setMath(self._math(f"time >= {number(event.day)}"))
            for variable, formula in merged.items():
                assignment = ev.createEventAssignment()
                assignment.setVariable(variable)
                assignment.setMath(self._math(formula))


def parameter_ids(model: CompiledModel) -> list[str]:
    """The SBML ids of the arm's parameters, in the order of its parameter values."""
    return _unique_ids(model.parameters.names)


def _unique_ids(names: tuple[str, ...]) -> list[str]:
    found: list[str] = []
    for name in names:
        ident = sid(name)
        while ident in found:
            ident += "_"
        found.append(ident)
    return found


def _notes(text: str) -> str:
    from html import escape

    return f'<body xmlns="http://www.w3.org/1999/xhtml"><p>{escape(text)}</p></body>'


def initial_state(model: CompiledModel, theta: Any = None, y0: Any = None) -> Any:
    """The state at day 0 after day-0 doses, exactly as the solver starts."""
    theta = nominal(model) if theta is None else np.atleast_2d(theta)
    y = starting_state(model, theta, y0)
    for event in model.rows.events:
        if event.day == 0:
            apply_event(model, event, theta, y)
    return y[0]


# libSBML's unit-consistency check grows faster than the model: 0.2 s at 221 reactions, more
# than ten minutes at 8,339 (tnbc-default-all-mechanisms). Larger exports are checked for
# every other kind of consistency; their units are those of the smaller models they repeat.
UNIT_CHECK_MAX_REACTIONS = 2000


def to_sbml(model: CompiledModel) -> str:
    """The arm as an SBML Level 3 Version 2 document, validated by libSBML (units too, up to
    ``UNIT_CHECK_MAX_REACTIONS`` reactions)."""
    writer = _Writer(model)
    writer.declare(initial_state(model), model.parameters.values)
    writer.equations()
    units = writer.doc.getModel().getNumReactions() <= UNIT_CHECK_MAX_REACTIONS
    problems = check(writer.doc, units=units)
    if problems:
        raise SbmlError("; ".join(problems[:5]))
    return writer.libsbml.writeSBMLToString(writer.doc)


def check(doc: Any, units: bool = True) -> list[str]:
    """libSBML's consistency checks (with units): the messages of errors, none if valid."""
    import libsbml

    doc.setConsistencyChecks(libsbml.LIBSBML_CAT_UNITS_CONSISTENCY, units)
    doc.checkConsistency()
    return [
        doc.getError(i).getMessage().strip()
        for i in range(doc.getNumErrors())
        if doc.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR
    ]


def write_sbml(model: CompiledModel, out: Path) -> None:
    atomic_write_text(out, to_sbml(model))


# libroadrunner's default JIT (MCJIT, LLVM's code generation at its aggressive level) spends
# more than 15 CPU-minutes in one pass (MachineCSE) on the default TNBC model; its LLJIT
# backend without optimisation compiles it in about 45 CPU-s. Exports with more reactions
# than this load that way (libroadrunner's documented Config.LLVM_BACKEND and
# Config.LLJIT_OPTIMIZATION_LEVEL settings).
FAST_JIT_MIN_REACTIONS = 2000


def needs_fast_jit(text: str) -> bool:
    """Whether exported SBML has more than ``FAST_JIT_MIN_REACTIONS`` reactions."""
    return text.count("<reaction ") > FAST_JIT_MIN_REACTIONS


def load_roadrunner(
    text: str, rtol: float = 1e-10, atol: float = 1e-12, fast_jit: bool | None = None
) -> Any:
    """A libroadrunner instance of exported SBML (this compiles the model), with tolerances.

    ``fast_jit`` compiles with LLJIT and no LLVM optimisation (by default for exports of more
    than ``FAST_JIT_MIN_REACTIONS`` reactions); libroadrunner's global settings are restored.
    """
    import roadrunner
    from roadrunner import Config

    if fast_jit is None:
        fast_jit = needs_fast_jit(text)
    keys = (Config.LLVM_BACKEND, Config.LLJIT_OPTIMIZATION_LEVEL)
    before = [Config.getValue(key) for key in keys]
    if fast_jit:
        Config.setValue(Config.LLVM_BACKEND, Config.LLJIT)
        Config.setValue(Config.LLJIT_OPTIMIZATION_LEVEL, Config.NONE)
    try:
        rr = roadrunner.RoadRunner(text)
    finally:
        for key, value in zip(keys, before, strict=True):
            Config.setValue(key, value)
    integrator = rr.getIntegrator()
    integrator.setValue("relative_tolerance", rtol)
    integrator.setValue("absolute_tolerance", atol)
    integrator.setValue("maximum_num_steps", 200000)
    return rr


def run_roadrunner(rr: Any, model: CompiledModel, theta: Any = None, y0: Any = None) -> Trajectory:
    """Simulate a loaded model from day 0 at the scenario's output times; ``theta`` and ``y0``
    (one patient's parameter values and initial amounts) replace the exported ones."""
    layout, scenario = model.layout, model.scenario
    points = round(scenario.duration / scenario.output_every) + 1
    rr.reset()
    if theta is not None or y0 is not None:
        values = model.parameters.values if theta is None else theta
        for ident, value in zip(parameter_ids(model), values, strict=True):
            rr.setValue(ident, float(value))
        for i, value in enumerate(initial_state(model, values, y0)):
            rr.setValue(f"x{i}", float(value))
    rr.timeCourseSelections = ["time", *(f"x{i}" for i in range(layout.size))]
    data = np.asarray(rr.simulate(0.0, scenario.duration, points))
    return Trajectory(model, layout, data[:, 0], data[:, 1:])


def simulate_sbml(
    text: str, model: CompiledModel, rtol: float = 1e-10, atol: float = 1e-12
) -> Trajectory:
    """Simulate exported SBML with libroadrunner at the scenario's output times."""
    return run_roadrunner(load_roadrunner(text, rtol, atol), model)
