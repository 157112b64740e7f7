"""Integrate a compiled arm: cells, exosome pools, internalised signals, drugs, accumulators.

Units: time in days, cells as counts, exosomes as particles (concentrations per mL), drugs in
effective micromolar. Doses, surgery and intervention starts split the time axis into segments
integrated with LSODA (plasma clearance makes the system stiff).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.integrate import solve_ivp

from ..datafiles import ExotwinError
from ..knowledge import KnowledgeBase
from .compiler import ALL_EXOSOMES, CompiledModel, Population
from .library import Library
from .response import behaviour, hill_sum
from .schema import NICHES, CellSelector, Drug

DRUG_VARS = ("plasma", "tumour", "carrier", "delivered", "offtarget", "killed", "offtarget_auc")
LN2 = math.log(2.0)


class SimulationError(ExotwinError, RuntimeError):
    """The solver failed or the state diverged; names the arm, time and variables."""


@dataclass
class Layout:
    """Offsets of each block of the state vector."""

    pops: int
    pools: int
    signals: int
    activities: int
    drugs: int
    size: int
    drug_index: dict[str, int] = field(default_factory=dict)

    def drug(self, drug: str, var: str) -> int:
        return self.drugs + 7 * self.drug_index[drug] + DRUG_VARS.index(var)


def layout_of(model: CompiledModel) -> Layout:
    p = len(model.populations)
    q = p + len(model.pools)
    s = q + len(model.signals)
    a = s + len(model.activities)
    return Layout(
        0, p, q, s, a, a + 7 * len(model.drugs), {d: i for i, d in enumerate(model.drugs)}
    )


@dataclass
class Trajectory:
    model: CompiledModel
    layout: Layout
    times: NDArray[np.float64]
    states: NDArray[np.float64]  # (times, variables)


class _System:
    """Precomputed rates and the right-hand side of one arm."""

    def __init__(self, kb: KnowledgeBase, lib: Library, model: CompiledModel) -> None:
        self.kb, self.lib, self.model = kb, lib, model
        self.layout = layout_of(model)
        over = model.scenario.parameters
        v = lambda name: lib.value(name, over)  # noqa: E731
        self.v = v
        self.volume = {
            "culture": v("culture_volume"),
            "tumour": v("tumour_volume"),
            "plasma": v("plasma_volume"),
            **{n: v("niche_volume") for n in NICHES},
        }
        self.capacity = {
            "culture": v("culture_capacity"),
            "tumour": v("tumour_capacity"),
            **{n: v("niche_capacity") for n in NICHES},
        }
        self.decay = {
            "culture": v("culture_decay"),
            "tumour": v("tissue_decay") + v("tumour_drainage"),
            "plasma": v("plasma_clearance"),
            **{n: v("niche_decay") for n in NICHES},
        }
        self.niche_fraction = {n: v(f"niche_fraction_{n}") for n in NICHES}
        pops = model.populations
        self.cancer = np.array([p.cell in kb.descendants("cancer_cell") for p in pops])
        self.comp_of = [p.compartment for p in pops]
        self.in_comp = {c: np.array([p.compartment == c for p in pops]) for c in self.volume}
        self.base_growth = np.zeros(len(pops))
        self.base_death = np.zeros(len(pops))
        self.secretion = np.zeros(len(pops))
        self.kill_rate = np.zeros(len(pops))
        self.kill_targets: list[NDArray[np.bool_]] = []
        for p in pops:
            entry = lib.behaviour_of(kb, p.cell)
            self.base_growth[p.index] = v(entry.growth) if entry.growth else 0.0
            self.base_death[p.index] = v(entry.death) if entry.death else 0.0
            self.secretion[p.index] = v(entry.secretion)
            self.kill_rate[p.index] = v(entry.kill_rate) if entry.kill_rate else 0.0
            killable = {c for k in entry.kills for c in kb.descendants(k)}
            self.kill_targets.append(
                np.array([q.cell in killable and q.compartment == p.compartment for q in pops])
            )
        self.drugs: dict[str, Drug] = {d: lib.drugs[d] for d in model.drugs}
        self.drug_sensitivity = {
            d: np.array([self._kill_scale(drug, p) for p in pops]) for d, drug in self.drugs.items()
        }
        self.pool_keys = defaultdict(dict)  # type: ignore[var-annotated]
        for (key, comp), index in model.pools.items():
            self.pool_keys[key][comp] = index
        self.sec_terms = [
            (pop, model.pools[(key, self.comp_of[pop])], model.pool_cargo[key], load)
            for (pop, key), load in model.secretion.items()
            if (key, self.comp_of[pop]) in model.pools
        ]
        self.all_pool = {c: model.pools.get((ALL_EXOSOMES, c)) for c in self.volume}
        self.signal_src = [
            (model.pools.get((key, self.comp_of[pop])), pop, model.pool_cargo[key])
            for (key, pop), _ in sorted(model.signals.items(), key=lambda kv: kv[1])
        ]
        self.blockers = [
            [
                (name, drug.block_kd.value)
                for name, drug in self.drugs.items()
                if drug.block_kd and cargo in {self._cargo(c) for c in drug.blocks_cargo}
            ]
            for _, _, cargo in self.signal_src
        ]
        self.interventions = model.arm.interventions

    def _kill_scale(self, drug: Drug, pop: Population) -> float:
        """EC50 multiplier of a population for a drug; 0 when the drug does not kill it."""
        killable = {c for k in drug.kills for c in self.kb.descendants(k)}
        if pop.cell not in killable:
            return 0.0
        state, resistant = pop.state, False
        while state is not None:
            entry = self.kb.cell_states[state]
            if drug.id in {
                m.id for n in entry.resistant_to if (m := self.kb.find_molecule(n))
            } or set(entry.resistant_to) & set(drug.groups):
                resistant = True
            state = entry.parent
        return drug.resistance_fold.value if resistant else 1.0

    # ------------------------------------------------------------ time-dependent factors

    def factors(self, t: float) -> tuple[NDArray[np.float64], dict[str, float], dict[str, float]]:
        """Release factor per population, loading factor and signal factor per cargo."""
        release = np.ones(len(self.model.populations))
        loading: dict[str, float] = defaultdict(lambda: 1.0)
        signal: dict[str, float] = defaultdict(lambda: 1.0)
        for item in self.interventions:
            if item.type == "release_inhibitor" and t >= item.start:
                for p in self.model.populations:
                    if item.donors is None or selects(self.kb, item.donors, p):
                        release[p.index] *= 1.0 - item.efficacy
            elif item.type == "cargo_knockdown" and t >= item.start:
                loading[self._cargo(item.cargo)] *= 1.0 - item.efficacy
            elif item.type == "cargo_overexpression":
                loading[self._cargo(item.cargo)] *= item.fold
            elif item.type == "signal_blocker" and t >= item.start:
                signal[self._cargo(item.cargo)] *= 1.0 - item.efficacy
        return release, loading, signal

    def _cargo(self, name: str) -> str:
        molecule = self.kb.find_molecule(name)
        return molecule.id if molecule else name

    def concentration(self, y: NDArray[np.float64], drug: str, comp: str) -> float:
        lay = self.layout
        if comp == "tumour":
            return max(y[lay.drug(drug, "tumour")] + y[lay.drug(drug, "delivered")], 0.0)
        return max(y[lay.drug(drug, "plasma")], 0.0)

    # ------------------------------------------------------------ right-hand side

    def rhs(self, t: float, y: NDArray[np.float64]) -> NDArray[np.float64]:
        m, lay = self.model, self.layout
        n = np.maximum(y[: lay.pools], 0.0)
        pools = np.maximum(y[lay.pools : lay.signals], 0.0)
        internal = np.maximum(y[lay.signals : lay.activities], 0.0)
        dy = np.zeros_like(y)
        release, loading, blocked = self.factors(t)

        # signals as the receivers see them (inhibitors and antibodies block some cargo)
        signal = internal.copy()
        for i, (_, pop, cargo) in enumerate(self.signal_src):
            factor = blocked[cargo]
            for name, kd in self.blockers[i]:
                conc = self.concentration(y, name, self.comp_of[pop])
                factor *= kd / (conc + kd)
            signal[i] *= factor

        # rule terms, grouped by behaviour target (PhysiCell semantics)
        up: dict[tuple[str | int, ...], float] = defaultdict(float)
        down: dict[tuple[str | int, ...], float] = defaultdict(float)
        level_up: dict[tuple[str | int, ...], float] = {}
        level_down: dict[tuple[str | int, ...], float] = {}
        for term in m.terms:
            s = hill_sum([(signal[term.signal], term.half_max, term.hill)])
            if term.up:
                up[term.target] += s
                level_up[term.target] = max(level_up.get(term.target, 0.0), term.level)
            else:
                down[term.target] += s
                level_down[term.target] = max(level_down.get(term.target, 0.0), term.level)

        def value(target: tuple[str | int, ...], base: float) -> float:
            if target not in up and target not in down:
                return base
            if target[0] == "transition":
                return behaviour(0.0, level_up.get(target, 0.0), 0.0, up[target], down[target])
            fold_up = level_up.get(target, 1.0)
            fold_down = level_down.get(target, 1.0)
            return behaviour(base, base * fold_up, base / fold_down, up[target], down[target])

        # cells: growth, death, transitions, drug and immune killing, seeding
        cancer_total = {c: float(n[self.in_comp[c] & self.cancer].sum()) for c in self.capacity}
        dn = dy[: lay.pools]
        for p in m.populations:
            i, comp = p.index, p.compartment
            growth = value(("growth", i), self.base_growth[i])
            if growth:
                dn[i] += growth * n[i] * (1.0 - cancer_total.get(comp, 0.0) / self.capacity[comp])
            dn[i] -= value(("death", i), self.base_death[i]) * n[i]
        for target in {*up, *down}:
            if target[0] == "transition":
                _, src, dst = target
                flux = value(target, 0.0) * n[src]  # type: ignore[index]
                dn[src] -= flux  # type: ignore[index]
                dn[dst] += flux  # type: ignore[index]
        for name, drug in self.drugs.items():
            killed = 0.0
            for p in m.populations:
                scale = self.drug_sensitivity[name][p.index]
                if scale == 0.0 or p.compartment == "plasma":
                    continue
                conc = self.concentration(y, name, p.compartment)
                ec50 = drug.ec50.value * scale
                h = drug.hill.value
                rate = drug.kill_max.value * conc**h / (ec50**h + conc**h) if conc > 0 else 0.0
                dn[p.index] -= rate * n[p.index]
                if p.compartment in {"tumour", "culture"}:
                    killed += rate * n[p.index]
            dy[lay.drug(name, "killed")] = killed
        for p in m.populations:
            if self.kill_rate[p.index] and n[p.index] > 0:
                activity = value(("killing", p.index), 1.0)
                targets = self.kill_targets[p.index]
                per_capita = (
                    self.kill_rate[p.index]
                    * activity
                    * n[p.index]
                    / (n[p.index] + n[targets].sum() + 1.0)
                )
                dn[targets] -= per_capita * n[targets]
        if any(p.compartment == "tumour" for p in m.populations):
            for organ in NICHES:
                rate = value(("seeding", organ), self.v("seeding_rate"))
                for p in m.populations:
                    if p.compartment == "tumour" and self.cancer[p.index]:
                        dest = m.population(p.cell, p.state, organ)
                        if dest is not None:
                            dn[dest.index] += rate * n[p.index]

        # exosome pools: secretion, uptake, decay, transport
        dpool = dy[lay.pools : lay.signals]
        secretion = np.array([value(("secretion", p.index), 1.0) for p in m.populations])
        out = n * self.secretion * secretion * release
        for comp, idx in self.all_pool.items():
            if idx is not None:
                dpool[idx] += out[self.in_comp[comp]].sum()
        for pop, idx, cargo, load in self.sec_terms:
            dpool[idx] += out[pop] * load * loading[cargo]
        uptake_max = self.v("uptake_max")
        half_sat = self.v("uptake_half_saturation")
        per_cell = np.zeros(len(pools))
        for (_, comp), idx in m.pools.items():
            if comp == "plasma":
                continue
            vol = self.volume[comp]
            all_idx = self.all_pool[comp]
            c_all = pools[all_idx] / vol if all_idx is not None else 0.0
            per_cell[idx] = uptake_max * (pools[idx] / vol) / (half_sat + c_all)
            dpool[idx] -= per_cell[idx] * n[self.in_comp[comp]].sum()
        for (key, comp), idx in m.pools.items():
            dpool[idx] -= self.decay[comp] * pools[idx]
            if comp == "tumour" and (key, "plasma") in m.pools:
                dpool[m.pools[(key, "plasma")]] += self.v("tumour_drainage") * pools[idx]
            if comp == "plasma":
                for organ in NICHES:
                    if (key, organ) in m.pools:
                        dpool[m.pools[(key, organ)]] += (
                            self.decay["plasma"] * self.niche_fraction[organ] * pools[idx]
                        )

        # internalised cargo per receiver cell
        decay = self.v("internal_decay")
        for i, (pool, _, _) in enumerate(self.signal_src):
            gain = per_cell[pool] if pool is not None else 0.0
            dy[lay.signals + i] = gain - decay * internal[i]

        # activity levels relax towards their rule-modulated value
        relax = self.v("activity_relaxation")
        for (phenotype, pop), i in m.activities.items():
            level = value(("activity", phenotype, pop), 1.0)
            dy[lay.activities + i] = relax * (level - y[lay.activities + i])

        # drugs: elimination, tumour exchange, carriers, binding to exosomes
        for name, drug in self.drugs.items():
            kel = LN2 / (drug.half_life.value / 24.0)
            cp, ct = y[lay.drug(name, "plasma")], y[lay.drug(name, "tumour")]
            bind = drug.binding_rate.value if drug.binding_rate else 0.0
            bound_plasma = bound_tumour = 0.0
            for cargo in drug.bound_by_cargo:
                key = self._cargo(cargo)
                for comp, idx in self.pool_keys.get(key, {}).items():
                    conc = pools[idx] / self.volume[comp]
                    if comp in {"plasma", "culture"}:
                        bound_plasma += bind * conc
                    elif comp == "tumour":
                        bound_tumour += bind * conc
            exchange = drug.tumour_exchange.value
            dy[lay.drug(name, "plasma")] = -kel * cp - bound_plasma * cp
            dy[lay.drug(name, "tumour")] = exchange * (cp - ct) - bound_tumour * ct
            carrier = self._carrier(name)
            x = y[lay.drug(name, "carrier")]
            if carrier is not None:
                kc = LN2 / (carrier.carrier_half_life.value / 24.0)
                f = carrier.tumour_fraction.value
                dy[lay.drug(name, "carrier")] = -kc * x
                dy[lay.drug(name, "delivered")] = kc * f * x - kel * y[lay.drug(name, "delivered")]
                dy[lay.drug(name, "offtarget")] = (
                    kc * (1 - f) * x - kel * y[lay.drug(name, "offtarget")]
                )
            dy[lay.drug(name, "offtarget_auc")] = max(cp, 0.0) + max(
                y[lay.drug(name, "offtarget")], 0.0
            )
        return dy

    def _carrier(self, drug: str):  # type: ignore[no-untyped-def]
        for item in self.interventions:
            if item.type == "exosome_carrier" and self._cargo(item.drug) == drug:
                return item
        return None


def selects(kb: KnowledgeBase, selector: CellSelector, pop: Population) -> bool:
    """Whether a population falls under a selector (cell and state include sub-types)."""
    if selector.cell and pop.cell not in kb.descendants(selector.cell):
        return False
    if selector.state and (pop.state is None or pop.state not in kb.descendants(selector.state)):
        return False
    return not (selector.compartment and pop.compartment != selector.compartment)


# ------------------------------------------------------------ integration


def _dose_times(schedule_start: float, every: float | None, doses: int) -> list[float]:
    return [schedule_start + k * (every or 0.0) for k in range(doses if every else 1)]


def _impulses(system: _System, duration: float) -> dict[float, list[tuple[str, object]]]:
    """Events by time: drug and carrier doses, exosome doses, surgery, intervention starts."""
    events: dict[float, list[tuple[str, object]]] = defaultdict(list)
    for item in system.interventions:
        if item.type in {"drug", "exosome_carrier", "exosome_dose"}:
            sched = item.schedule  # type: ignore[union-attr]
            for time in _dose_times(sched.start, sched.every, sched.doses):
                if time <= duration:
                    events[time].append((item.type, item))
        elif item.type == "surgery":
            events[item.day].append(("surgery", item))
        elif getattr(item, "start", 0.0):
            events[item.start].append(("start", item))  # type: ignore[union-attr]
    return events


def _apply(system: _System, y: NDArray[np.float64], kind: str, item: object) -> None:
    lay, model = system.layout, system.model
    if kind == "drug":
        name = system._cargo(item.drug)  # type: ignore[attr-defined]
        drug = system.drugs[name]
        if item.concentration is not None:  # type: ignore[attr-defined]
            y[lay.drug(name, "plasma")] += item.concentration  # type: ignore[attr-defined]
        else:
            y[lay.drug(name, "plasma")] += item.dose * drug.concentration_per_dose.value  # type: ignore[attr-defined]
    elif kind == "exosome_carrier":
        drug = system.drugs[system._cargo(item.drug)]  # type: ignore[attr-defined]
        y[lay.drug(drug.id, "carrier")] += item.dose * drug.concentration_per_dose.value  # type: ignore[attr-defined]
    elif kind == "exosome_dose":
        comp = item.compartment  # type: ignore[attr-defined]
        if item.cargo is not None:  # type: ignore[attr-defined]
            loads = {system._cargo(item.cargo): 1.0}  # type: ignore[attr-defined]
        else:
            loads = model.dose_cargo.get(model.arm.interventions.index(item), {})  # type: ignore[arg-type]
        for key, load in loads.items():
            y[lay.pools + model.pools[(key, comp)]] += item.exosomes * load  # type: ignore[attr-defined]
        y[lay.pools + model.pools[(ALL_EXOSOMES, comp)]] += item.exosomes  # type: ignore[attr-defined]
    elif kind == "surgery":
        keep = 1.0 - item.fraction_removed  # type: ignore[attr-defined]
        comp = item.compartment  # type: ignore[attr-defined]
        for p in model.populations:
            if p.compartment == comp:
                y[p.index] *= keep
        for (_, c), idx in model.pools.items():
            if c == comp:
                y[lay.pools + idx] *= keep


def _tolerances(system: _System, y0: NDArray[np.float64]) -> NDArray[np.float64]:
    lay = system.layout
    atol = np.full(lay.size, 1e-9)
    atol[: lay.pools] = 1e-3
    atol[lay.pools : lay.signals] = 1e-2
    atol[lay.signals : lay.activities] = 1e-6
    atol[lay.activities : lay.drugs] = 1e-8
    return np.maximum(atol, 1e-9 * np.abs(y0))


def simulate_arm(kb: KnowledgeBase, lib: Library, model: CompiledModel) -> Trajectory:
    """Integrate one arm over the scenario's duration; raises :class:`SimulationError`."""
    system = _System(kb, lib, model)
    lay = system.layout
    scenario = model.scenario
    y = np.zeros(lay.size)
    y[: lay.pools] = model.initial
    y[lay.activities : lay.drugs] = 1.0  # activity levels start at baseline
    grid = np.round(np.arange(0.0, scenario.duration + 1e-9, scenario.output_every), 9)
    events = _impulses(system, scenario.duration)
    bounds = sorted({0.0, scenario.duration, *events})
    atol = _tolerances(system, y)
    times: list[float] = []
    states: list[NDArray[np.float64]] = []
    for k, start in enumerate(bounds[:-1]):
        end = bounds[k + 1]
        for kind, item in events.get(start, []):
            _apply(system, y, kind, item)
        last = k == len(bounds) - 2
        wanted = grid[(grid >= start) & ((grid < end) | (last & (grid <= end)))]
        t_eval = np.union1d(wanted, [end])
        solution = solve_ivp(
            system.rhs, (start, end), y, method="LSODA", t_eval=t_eval, rtol=1e-6, atol=atol
        )
        if not solution.success or not np.all(np.isfinite(solution.y)):
            raise _diverged(model, system, solution, start, end)
        keep = np.isin(solution.t, wanted)
        times += list(solution.t[keep])
        states += list(solution.y.T[keep])
        y = solution.y[:, -1].copy()
        y[: lay.activities] = np.maximum(y[: lay.activities], 0.0)
    return Trajectory(model, lay, np.array(times), np.array(states))


def variable_names(model: CompiledModel) -> list[str]:
    """A readable name for every state variable (for error messages and exports)."""
    lay = layout_of(model)
    names = [f"cells {p.label}" for p in model.populations]
    names += [f"exosomes {k}@{c}" for (k, c) in sorted(model.pools, key=model.pools.__getitem__)]
    names += [
        f"internal {k} in {model.populations[p].label}"
        for (k, p) in sorted(model.signals, key=model.signals.__getitem__)
    ]
    names += [
        f"activity {ph} in {model.populations[p].label}"
        for (ph, p) in sorted(model.activities, key=model.activities.__getitem__)
    ]
    names += [f"{d} {v}" for d in model.drugs for v in DRUG_VARS]
    assert len(names) == lay.size
    return names


def _diverged(
    model: CompiledModel, system: _System, solution: object, start: float, end: float
) -> SimulationError:
    t = getattr(solution, "t", np.array([start]))
    ys = getattr(solution, "y", np.zeros((system.layout.size, 0)))
    when = float(t[-1]) if len(t) else start
    names = variable_names(model)
    state = ys[:, -1] if ys.shape[1] else np.zeros(system.layout.size)
    worst = sorted(
        range(len(state)), key=lambda i: -abs(state[i]) if np.isfinite(state[i]) else -math.inf
    )[:3]
    bad = [names[i] for i in range(len(state)) if not np.isfinite(state[i])][:3]
    shown = ", ".join(f"{names[i]}={state[i]:.3g}" for i in worst)
    message = getattr(solution, "message", "non-finite state")
    return SimulationError(
        f"scenario {model.scenario.id!r}, arm {model.arm.name!r}: the solve failed between day "
        f"{start:g} and {end:g} at day {when:.4g} ({message}); "
        + (f"non-finite: {', '.join(bad)}; " if bad else "")
        + f"largest: {shown}"
    )
