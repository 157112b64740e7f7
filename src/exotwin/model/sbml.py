"""SBML Level 3 export of a compiled arm, and simulation of it with libroadrunner.

The export restates the solver's right-hand side (``simulate.System.rhs``) as SBML: every
state variable is a parameter with a rate rule, intermediate quantities are assignment rules,
doses and surgery are events. Exchange tools (COPASI, Tellurium, libRoadRunner) read it; a
test cross-simulates it against exotwin's own trajectories.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SbmlError as SbmlError
from ..io import atomic_write_text
from ..knowledge import KnowledgeBase
from .compiler import CompiledModel
from .library import Library
from .simulate import (
    LN2,
    System,
    Trajectory,
    _apply,
    _impulses,
    impulse_changes,
    layout_of,
    start_state,
    variable_names,
)


def _num(value: float) -> str:
    if math.isinf(value):
        return "INF"
    return repr(float(value))


def _sum(terms: Sequence[str]) -> str:
    return " + ".join(terms) if terms else "0"


class _Writer:
    def __init__(self, kb: KnowledgeBase, lib: Library, model: CompiledModel) -> None:
        import libsbml

        self.libsbml = libsbml
        self.system = System(kb, lib, model)
        self.model = model
        self.doc = libsbml.SBMLDocument(3, 2)
        self.sbml = self.doc.createModel()
        self.sbml.setId(_sid(f"{model.scenario.id}_{model.arm.name}"))
        self.sbml.setName(f"{model.scenario.title} ({model.arm.name})")
        self.sbml.setTimeUnits("dimensionless")
        comp = self.sbml.createCompartment()
        comp.setId("body")
        comp.setConstant(True)
        comp.setSize(1.0)
        self.names = variable_names(model)

    # ------------------------------------------------------------ building blocks

    def parameter(self, ident: str, value: float | None, constant: bool, name: str = "") -> None:
        p = self.sbml.createParameter()
        p.setId(ident)
        p.setConstant(constant)
        if value is not None:
            p.setValue(float(value))
        if name:
            p.setName(name)

    def _math(self, formula: str) -> object:
        ast = self.libsbml.parseL3Formula(formula)
        if ast is None:
            raise SbmlError(f"cannot parse generated formula: {formula[:200]}")
        return ast

    def assign(self, ident: str, formula: str) -> str:
        self.parameter(ident, None, False)
        rule = self.sbml.createAssignmentRule()
        rule.setVariable(ident)
        rule.setMath(self._math(formula))
        return ident

    def rate(self, ident: str, formula: str) -> None:
        rule = self.sbml.createRateRule()
        rule.setVariable(ident)
        rule.setMath(self._math(formula))

    # ------------------------------------------------------------ the model

    def build(self, y0: np.ndarray) -> None:
        s, m = self.system, self.model
        lay = s.layout
        for i, name in enumerate(self.names):
            self.parameter(f"x{i}", float(y0[i]), False, name)
        n = [self.assign(f"n{i}", f"max(x{i}, 0)") for i in range(lay.pools)]
        pool = [
            self.assign(f"e{i}", f"max(x{lay.pools + i}, 0)")
            for i in range(lay.signals - lay.pools)
        ]
        internal = [
            self.assign(f"q{i}", f"max(x{lay.signals + i}, 0)")
            for i in range(lay.activities - lay.signals)
        ]
        comps = s.comps
        cells_in = [
            self.assign(
                f"cells_{c}", _sum([n[p.index] for p in m.populations if s.pop_comp[p.index] == k])
            )
            for k, c in enumerate(comps)
        ]
        cancer_in = [
            self.assign(
                f"cancer_{c}",
                _sum(
                    [
                        n[p.index]
                        for p in m.populations
                        if s.pop_comp[p.index] == k and s.cancer[p.index]
                    ]
                ),
            )
            for k, c in enumerate(comps)
        ]
        tumour = comps.index("tumour")
        v_t = self.assign(
            "v_tumour",
            f"max({cells_in[tumour]} * {_num(s.k.interstitial_volume_per_cell)}, "
            f"{_num(s.k.tumour_min_volume)})",
        )

        def drug_level(name: str, compartment_index: int) -> str:
            if compartment_index == tumour:
                return f"max(x{lay.drug(name, 'tumour')} + x{lay.drug(name, 'delivered')}, 0)"
            return f"max(x{lay.drug(name, 'plasma')}, 0)"

        # time-dependent intervention factors
        def switch(start: float, factor: float) -> str:
            return (
                f"piecewise({_num(factor)}, time >= {_num(start)}, 1)"
                if start > 0
                else _num(factor)
            )

        release = []
        for p in m.populations:
            factors = [
                switch(item.start, 1.0 - item.efficacy)
                for item, mask in s.release_masks
                if mask[p.index]
            ]
            release.append(" * ".join(factors) or "1")
        loading = {c: "1" for c in s.cargo_names}
        blocked = {c: "1" for c in s.cargo_names}
        for item in m.arm.interventions:
            if item.type == "cargo_knockdown":
                c = s._cargo(item.cargo)
                loading[c] = f"{loading.get(c, '1')} * {switch(item.start, 1.0 - item.efficacy)}"
            elif item.type == "cargo_overexpression":
                c = s._cargo(item.cargo)
                loading[c] = f"{loading.get(c, '1')} * {_num(item.fold)}"
            elif item.type == "signal_blocker":
                c = s._cargo(item.cargo)
                blocked[c] = f"{blocked.get(c, '1')} * {switch(item.start, 1.0 - item.efficacy)}"

        # signals
        signal = []
        for i in range(len(internal)):
            expr = internal[i]
            for j, sources in s.contact:
                if j == i:
                    total = cells_in[s.pop_comp[s.sig_pop[i]]]
                    expr = (
                        f"({expr} + piecewise({_num(s.k.contact_signal)} * "
                        f"({_sum([n[q] for q in sources])}) / {total}, {total} > 0, 0))"
                    )
            expr = f"{expr} * ({blocked.get(s.sig_cargo[i], '1')})"
            for name, kd, mask in s.blockers:
                if mask[i]:
                    conc = drug_level(name, s.pop_comp[s.sig_pop[i]])
                    expr = f"{expr} * {_num(kd)} / ({conc} + {_num(kd)})"
            signal.append(self.assign(f"sig{i}", expr))

        # behaviour values per target
        value = []
        for t in range(len(s.targets)):
            ups = [
                f"({signal[s.term_signal[k]]} / {_num(s.term_half[k])})^{_num(s.term_hill[k])}"
                for k in range(len(s.term_signal))
                if s.term_target[k] == t and s.term_up[k]
            ]
            downs = [
                f"({signal[s.term_signal[k]]} / {_num(s.term_half[k])})^{_num(s.term_hill[k])}"
                for k in range(len(s.term_signal))
                if s.term_target[k] == t and not s.term_up[k]
            ]
            up = self.assign(f"up{t}", _sum(ups))
            down = self.assign(f"down{t}", _sum(downs))
            base = s.target_base[t]
            if s.is_transition[t]:
                b_max, b_min = s.level_up[t], 0.0
            else:
                b_max, b_min = base * s.fold_up[t], base / s.fold_down[t]
            first = self.assign(
                f"u{t}", f"{_num(base)} + ({_num(b_max)} - {_num(base)}) * {up} / (1 + {up})"
            )
            value.append(
                self.assign(
                    f"val{t}", f"{first} + ({_num(b_min)} - {first}) * {down} / (1 + {down})"
                )
            )

        def per_pop(targets: tuple[np.ndarray, np.ndarray], base: Sequence[float]) -> list[str]:
            found = dict(zip(targets[1].tolist(), targets[0].tolist(), strict=True))
            return [value[found[i]] if i in found else _num(base[i]) for i in range(len(n))]

        growth = per_pop(s.growth_targets, s.base_growth.tolist())
        death = per_pop(s.death_targets, s.base_death.tolist())
        killing = per_pop(s.killing_targets, [1.0] * len(n))
        secreting = per_pop(s.secretion_targets, [1.0] * len(n))

        # cells
        dn: list[list[str]] = [[] for _ in n]
        for p in m.populations:
            i, k = p.index, s.pop_comp[p.index]
            capacity = s.capacity[k]
            crowd = "1" if math.isinf(capacity) else f"(1 - {cancer_in[k]} / {_num(capacity)})"
            dn[i].append(f"{growth[i]} * {n[i]} * {crowd}")
            dn[i].append(f"- {death[i]} * {n[i]}")
        for t, src, dst in zip(s.trans_target, s.trans_src, s.trans_dst, strict=True):
            dn[src].append(f"- {value[t]} * {n[src]}")
            dn[dst].append(f"+ {value[t]} * {n[src]}")
        for name, drug in s.drugs.items():
            h = drug.hill.value
            kills = []
            for p in m.populations:
                scale = s.drug_scale[name][p.index]
                if scale == 0 or not s.not_plasma[p.index]:
                    continue
                conc = drug_level(name, s.pop_comp[p.index])
                ec50 = drug.ec50.value * scale
                rate = f"{_num(drug.kill_max.value)} * {conc}^{_num(h)} / ({_num(ec50)}^{_num(h)} + {conc}^{_num(h)})"
                dn[p.index].append(f"- {rate} * {n[p.index]}")
                if s.counts_kill[p.index]:
                    kills.append(f"{rate} * {n[p.index]}")
            self.rate(f"x{lay.drug(name, 'killed')}", _sum(kills))
        for killer, targets in s.killers:
            victim_index = [int(v) for v in np.flatnonzero(targets)]
            victims = _sum([n[v] for v in victim_index])
            per_capita = (
                f"{_num(s.kill_rate[killer])} * {killing[killer]} * {n[killer]} / "
                f"({n[killer]} + {victims} + 1)"
            )
            for v in victim_index:
                dn[v].append(f"- {per_capita} * {n[v]}")
        for src, dst, organ in zip(s.seed_src, s.seed_dst, s.seed_organ, strict=True):
            target = s.seed_rate_target[organ]
            rate = value[target] if target >= 0 else _num(s.k.seeding_rate)
            dn[dst].append(f"+ {rate} * {n[src]}")
        for i in range(len(n)):
            self.rate(f"x{i}", " ".join(dn[i]).lstrip("+ ") or "0")

        # exosome pools
        out = [
            f"{n[i]} * {_num(s.secretion[i])} * {secreting[i]} * {release[i]}"
            for i in range(len(n))
        ]
        volumes = []
        for i in range(len(pool)):
            volumes.append(v_t if s.pool_in_tumour[i] else _num(s.pool_volume[i]))
        per_cell = []
        for i in range(len(pool)):
            if not s.pool_uptake[i]:
                per_cell.append(self.assign(f"pc{i}", "0"))
                continue
            all_idx = s.pool_all[i]
            c_all = f"{pool[all_idx]} / {volumes[i]}" if all_idx >= 0 else "0"
            per_cell.append(
                self.assign(
                    f"pc{i}",
                    f"{_num(s.k.uptake_max)} * ({pool[i]} / {volumes[i]}) / "
                    f"({_num(s.k.uptake_half_saturation)} + {c_all})",
                )
            )
        removed = [
            self.assign(
                f"rm{i}",
                f"{per_cell[i]} * {cells_in[s.pool_comp[i]]} + {_num(s.pool_decay[i])} * {pool[i]}",
            )
            for i in range(len(pool))
        ]
        dpool: list[list[str]] = [[f"- {removed[i]}"] for i in range(len(pool))]
        for k, idx in enumerate(s.all_pool_of_comp):
            if idx >= 0:
                members = [out[p.index] for p in m.populations if s.pop_comp[p.index] == k]
                if members:
                    dpool[idx].append(f"+ ({_sum(members)})")
        for pop, idx, cargo, load in zip(
            s.sec_pop, s.sec_pool, s.sec_cargo, s.sec_load, strict=True
        ):
            dpool[idx].append(f"+ {out[pop]} * {_num(load)} * ({loading[s.cargo_names[cargo]]})")
        for src, dst in zip(s.drain_src, s.drain_dst, strict=True):
            dpool[dst].append(f"+ {_num(s.k.tumour_drainage)} * {pool[src]}")
        for src, dst, rate in zip(s.niche_src, s.niche_dst, s.niche_rate, strict=True):
            dpool[dst].append(f"+ {_num(rate)} * {pool[src]}")
        for i in range(len(pool)):
            self.rate(f"x{lay.pools + i}", " ".join(dpool[i]))

        # internal signals and activities
        for i in range(len(internal)):
            gain = per_cell[s.sig_pool[i]] if s.sig_pool[i] >= 0 else "0"
            self.rate(f"x{lay.signals + i}", f"{gain} - {_num(s.k.internal_decay)} * {internal[i]}")
        for i, t in enumerate(s.activity_targets):
            level = value[t] if t >= 0 else "1"
            self.rate(
                f"x{lay.activities + i}",
                f"{_num(s.k.activity_relaxation)} * ({level} - x{lay.activities + i})",
            )

        # drugs
        for name, drug in s.drugs.items():
            self._drug(name, drug, removed, volumes, v_t)

    def _drug(
        self, name: str, drug: object, removed: list[str], volumes: list[str], v_t: str
    ) -> None:
        s, lay = self.system, self.system.layout
        kel = LN2 / (drug.half_life.value / 24.0)  # type: ignore[attr-defined]
        cp, ct = f"x{lay.drug(name, 'plasma')}", f"x{lay.drug(name, 'tumour')}"
        loss_p, loss_t = [], []
        if drug.binding_sites is not None and drug.binding_kd is not None:  # type: ignore[attr-defined]
            from .simulate import AVOGADRO_PER_UM_ML

            cargo = {s._cargo(c) for c in drug.bound_by_cargo}  # type: ignore[attr-defined]
            sites = drug.binding_sites.value / AVOGADRO_PER_UM_ML  # type: ignore[attr-defined]
            kd = _num(drug.binding_kd.value)  # type: ignore[attr-defined]
            for i, key in enumerate(s.pool_cargo_of):
                if key in cargo:
                    comp = s.comps[s.pool_comp[i]]
                    if comp in {"plasma", "culture"}:
                        loss_p.append(
                            f"{removed[i]} / {volumes[i]} * {_num(sites)} * max({cp}, 0) / (max({cp}, 0) + {kd})"
                        )
                    elif comp == "tumour":
                        loss_t.append(
                            f"{removed[i]} / {volumes[i]} * {_num(sites)} * max({ct}, 0) / (max({ct}, 0) + {kd})"
                        )
        self.rate(cp, f"- {_num(kel)} * {cp} - ({_sum(loss_p)})")
        self.rate(ct, f"{_num(drug.tumour_exchange.value)} * ({cp} - {ct}) - ({_sum(loss_t)})")  # type: ignore[attr-defined]
        carrier = s._carrier(name)
        x, td, off = (f"x{lay.drug(name, v)}" for v in ("carrier", "delivered", "offtarget"))
        if carrier is not None:
            kc = LN2 / (carrier.carrier_half_life.value / 24.0)
            f = carrier.tumour_fraction.value
            self.rate(x, f"- {_num(kc)} * {x}")
            self.rate(
                td, f"{_num(kc * f)} * {x} * {_num(s.k.plasma_volume)} / {v_t} - {_num(kel)} * {td}"
            )
            self.rate(off, f"{_num(kc * (1 - f))} * {x} - {_num(kel)} * {off}")
        else:
            for var in (x, td, off):
                self.rate(var, "0")
        self.rate(f"x{lay.drug(name, 'offtarget_auc')}", f"max({cp}, 0) + max({off}, 0)")

    def add_events(self, y0: np.ndarray) -> None:
        """Doses, medium changes and surgery after day 0 (day-0 ones are in ``y0``)."""
        s = self.system
        events = _impulses(s, self.model.scenario.duration)
        count = 0
        for time, items in sorted(events.items()):
            if time == 0:
                continue
            assignments: list[tuple[str, str]] = []
            for kind, item in items:
                assignments += self._assignments(kind, item)
            if not assignments:
                continue
            event = self.sbml.createEvent()
            event.setId(f"ev{count}")
            count += 1
            event.setUseValuesFromTriggerTime(True)
            trigger = event.createTrigger()
            trigger.setInitialValue(False)
            trigger.setPersistent(True)
            trigger.setMath(self._math(f"time >= {_num(time)}"))
            for variable, formula in _merge(assignments).items():
                assignment = event.createEventAssignment()
                assignment.setVariable(variable)
                assignment.setMath(self._math(formula))

    def _assignments(self, kind: str, item: object) -> list[tuple[str, str]]:
        """The event's state changes (shared with the solver) as SBML assignments."""
        formulas = {"add": "x{i} + {v}", "set": "{v}", "scale": "x{i} * {v}"}
        return [
            (f"x{index}", formulas[operation].format(i=index, v=_num(amount)))
            for index, operation, amount in impulse_changes(self.system, kind, item)
        ]


def _merge(assignments: list[tuple[str, str]]) -> dict[str, str]:
    """Assignments of one event, one per variable: later ones apply on top of earlier ones
    (two doses of exosomes at once both add to the all-exosomes pool)."""
    merged: dict[str, str] = {}
    for variable, formula in assignments:
        if variable in merged:
            formula = re.sub(rf"\b{variable}\b", f"({merged[variable]})", formula)
        merged[variable] = formula
    return merged


def initial_state(system: System) -> np.ndarray:
    """The state at day 0 after day-0 doses, exactly as ``simulate_arm`` starts."""
    y = start_state(system.model)
    for kind, item in _impulses(system, system.model.scenario.duration).get(0.0, []):
        _apply(system, y, kind, item)
    return y


def to_sbml(kb: KnowledgeBase, lib: Library, model: CompiledModel) -> str:
    """The arm as an SBML Level 3 Version 2 document (validated by libSBML)."""
    writer = _Writer(kb, lib, model)
    y0 = initial_state(writer.system)
    writer.build(y0)
    writer.add_events(y0)
    doc = writer.doc
    doc.checkConsistency()
    errors = [
        doc.getError(i)
        for i in range(doc.getNumErrors())
        if doc.getError(i).getSeverity() >= writer.libsbml.LIBSBML_SEV_ERROR
    ]
    if errors:
        raise SbmlError("; ".join(e.getMessage().strip() for e in errors[:5]))
    return writer.libsbml.writeSBMLToString(doc)


def write_sbml(kb: KnowledgeBase, lib: Library, model: CompiledModel, out: Path) -> None:
    atomic_write_text(out, to_sbml(kb, lib, model))


def load_roadrunner(text: str, rtol: float = 1e-10, atol: float = 1e-12) -> Any:
    """A libroadrunner instance of exported SBML (this compiles the model), with tolerances."""
    import roadrunner

    rr = roadrunner.RoadRunner(text)
    integrator = rr.getIntegrator()
    integrator.setValue("relative_tolerance", rtol)
    integrator.setValue("absolute_tolerance", atol)
    integrator.setValue("maximum_num_steps", 200000)
    return rr


def run_roadrunner(rr: Any, model: CompiledModel) -> Trajectory:
    """Simulate a loaded model from day 0 at the scenario's output times."""
    layout = layout_of(model)
    scenario = model.scenario
    points = round(scenario.duration / scenario.output_every) + 1
    rr.resetAll()
    rr.timeCourseSelections = ["time", *(f"x{i}" for i in range(layout.size))]
    data = np.asarray(rr.simulate(0.0, scenario.duration, points))
    return Trajectory(model, layout, data[:, 0], data[:, 1:])


def simulate_sbml(
    text: str, model: CompiledModel, rtol: float = 1e-10, atol: float = 1e-12
) -> Trajectory:
    """Simulate exported SBML with libroadrunner at the scenario's output times."""
    return run_roadrunner(load_roadrunner(text, rtol, atol), model)


def _sid(text: str) -> str:
    cleaned = "".join(c if c.isalnum() else "_" for c in text)
    return cleaned if cleaned[:1].isalpha() else f"m_{cleaned}"
