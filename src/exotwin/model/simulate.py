"""Integrate a compiled arm: cells, exosome pools, internalised signals, drugs, accumulators.

Units: time in days, cells as counts, exosomes as particles (concentrations per mL), drugs in
effective micromolar. Doses, surgery and intervention starts split the time axis into segments
integrated with LSODA (plasma clearance makes the system stiff).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy.integrate import solve_ivp

from ..errors import SimulationError as SimulationError
from ..knowledge import KnowledgeBase
from .compiler import ALL_EXOSOMES, CompiledModel, Population
from .library import Library
from .response import saturating
from .schema import NICHES, CarrierTreatment, CellSelector, Drug

DRUG_VARS = ("plasma", "tumour", "carrier", "delivered", "offtarget", "killed", "offtarget_auc")
LN2 = math.log(2.0)
AVOGADRO_PER_UM_ML = 6.02214076e14  # molecules per mL of a 1 uM solution


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


@dataclass(frozen=True)
class _Constants:
    """Parameter values the right-hand side reads at every evaluation."""

    activity_relaxation: float
    contact_signal: float
    internal_decay: float
    interstitial_volume_per_cell: float
    plasma_volume: float
    tumour_min_volume: float
    seeding_rate: float
    tumour_drainage: float
    uptake_half_saturation: float
    uptake_max: float


class System:
    """Precomputed index arrays and the vectorised right-hand side of one arm."""

    def __init__(self, kb: KnowledgeBase, lib: Library, model: CompiledModel) -> None:
        self.kb, self.model = kb, model
        self.layout = layout_of(model)
        over = model.scenario.parameters
        v = lambda name: lib.value(name, over)  # noqa: E731
        comps: list[str] = ["culture", "tumour", "plasma", *NICHES]
        self.comps = comps
        volume: dict[str, float] = {
            "culture": v("culture_volume"),
            "tumour": v("tumour_min_volume"),
            "plasma": v("plasma_volume"),
            **{n: v("niche_volume") for n in NICHES},
        }
        capacity: dict[str, float] = {
            "culture": v("culture_capacity"),
            "tumour": v("tumour_capacity"),
            "plasma": math.inf,
            **{n: v("niche_capacity") for n in NICHES},
        }
        decay: dict[str, float] = {
            "culture": v("culture_decay"),
            "tumour": v("tissue_decay") + v("tumour_drainage"),
            "plasma": v("plasma_clearance"),
            **{n: v("niche_decay") for n in NICHES},
        }
        pops = model.populations
        n_pop = len(pops)
        self.pop_comp = np.array([comps.index(p.compartment) for p in pops], dtype=int)
        self.cancer = np.array([p.cell in kb.descendants("cancer_cell") for p in pops], dtype=bool)
        self.capacity = np.array([capacity[c] for c in comps])
        self.base_growth = np.zeros(n_pop)
        self.base_death = np.zeros(n_pop)
        self.secretion = np.zeros(n_pop)
        self.kill_rate = np.zeros(n_pop)
        self.killers: list[tuple[int, NDArray[np.bool_]]] = []
        for p in pops:
            entry = lib.behaviour_of(kb, p.cell)
            self.base_growth[p.index] = v(entry.growth) if entry.growth else 0.0
            self.base_death[p.index] = v(entry.death) if entry.death else 0.0
            self.secretion[p.index] = v(entry.secretion)
            if entry.kill_rate:
                self.kill_rate[p.index] = v(entry.kill_rate)
                killable = {c for k in entry.kills for c in kb.descendants(k)}
                self.killers.append(
                    (
                        p.index,
                        np.array(
                            [q.cell in killable and q.compartment == p.compartment for q in pops]
                        ),
                    )
                )

        # drugs
        self.drugs: dict[str, Drug] = {d: lib.drugs[d] for d in model.drugs}
        self.drug_scale = {
            d: np.array([self._kill_scale(drug, p) for p in pops]) for d, drug in self.drugs.items()
        }
        self.in_tumour = np.array([p.compartment == "tumour" for p in pops])
        self.counts_kill = np.array([p.compartment in {"tumour", "culture"} for p in pops])
        self.not_plasma = np.array([p.compartment != "plasma" for p in pops])

        # pools
        n_pool = len(model.pools)
        self.pool_comp = np.zeros(n_pool, dtype=int)
        self.pool_cargo_of = [""] * n_pool
        for (key, comp), i in model.pools.items():
            self.pool_comp[i] = comps.index(comp)
            self.pool_cargo_of[i] = model.pool_cargo[key]
        self.pool_volume = np.array([volume[comps[c]] for c in self.pool_comp])
        self.tumour_comp = comps.index("tumour")
        self.pool_in_tumour = self.pool_comp == self.tumour_comp
        self.pool_decay = np.array([decay[comps[c]] for c in self.pool_comp])
        self.pool_all = np.array(
            [model.pools.get((ALL_EXOSOMES, comps[c]), -1) for c in self.pool_comp]
        )
        self.pool_uptake = np.array([comps[c] != "plasma" for c in self.pool_comp])
        self.all_pool_of_comp = np.array([model.pools.get((ALL_EXOSOMES, c), -1) for c in comps])
        drains = [
            (i, model.pools[(key, "plasma")])
            for (key, comp), i in model.pools.items()
            if comp == "tumour" and (key, "plasma") in model.pools
        ]
        self.drain_src = np.array([a for a, _ in drains], dtype=int)
        self.drain_dst = np.array([b for _, b in drains], dtype=int)
        seeds = [
            (i, model.pools[(key, organ)], v("plasma_clearance") * v(f"niche_fraction_{organ}"))
            for (key, comp), i in model.pools.items()
            if comp == "plasma"
            for organ in NICHES
            if (key, organ) in model.pools
        ]
        self.niche_src = np.array([a for a, _, _ in seeds], dtype=int)
        self.niche_dst = np.array([b for _, b, _ in seeds], dtype=int)
        self.niche_rate = np.array([r for _, _, r in seeds])
        sec = [
            (pop, model.pools[(key, pops[pop].compartment)], model.pool_cargo[key], load)
            for (pop, key), load in model.secretion.items()
            if (key, pops[pop].compartment) in model.pools
        ]
        self.cargo_names = sorted({c for _, _, c, _ in sec} | set(self.pool_cargo_of))
        self.sec_pop = np.array([a for a, _, _, _ in sec], dtype=int)
        self.sec_pool = np.array([b for _, b, _, _ in sec], dtype=int)
        self.sec_cargo = np.array([self.cargo_names.index(c) for _, _, c, _ in sec], dtype=int)
        self.sec_load = np.array([d for _, _, _, d in sec])

        # internal signals
        ordered = sorted(model.signals.items(), key=lambda kv: kv[1])
        self.sig_pop = np.array([pop for (_, pop), _ in ordered], dtype=int)
        self.sig_pool = np.array(
            [model.pools.get((key, pops[pop].compartment), -1) for (key, pop), _ in ordered],
            dtype=int,
        )
        self.sig_cargo = [model.pool_cargo[key] for (key, _), _ in ordered]
        self.sig_cargo_idx = np.array([self._cargo_index(c) for c in self.sig_cargo], dtype=int)
        # contact signals: membrane molecules of other populations in the receiver's compartment
        contact = [
            (
                i,
                [
                    q
                    for q, mols in model.surface.items()
                    if cargo in mols and pops[q].compartment == pops[p].compartment
                ],
            )
            for i, (cargo, p) in enumerate(zip(self.sig_cargo, self.sig_pop, strict=True))
        ]
        self.contact = [(i, np.array(src, dtype=int)) for i, src in contact if src]
        self.blockers = [
            (
                name,
                drug.block_kd.value,
                np.array(
                    [c in {self._cargo(x) for x in drug.blocks_cargo} for c in self.sig_cargo],
                    dtype=bool,
                ),
            )
            for name, drug in self.drugs.items()
            if drug.block_kd
        ]

        # rule terms grouped by behaviour target
        targets = sorted({t.target for t in model.terms}, key=str)
        self.targets = targets
        index = {t: i for i, t in enumerate(targets)}
        terms = model.terms
        self.term_signal = np.array([t.signal for t in terms], dtype=int)
        self.term_half = np.array([t.half_max for t in terms])
        self.term_hill = np.array([t.hill for t in terms])
        self.term_up = np.array([t.up for t in terms], dtype=bool)
        self.term_target = np.array([index[t.target] for t in terms], dtype=int)
        n_t = len(targets)
        self.level_up = np.zeros(n_t)
        self.level_down = np.zeros(n_t)
        self.has_up = np.zeros(n_t, dtype=bool)
        self.has_down = np.zeros(n_t, dtype=bool)
        for t in terms:
            i = index[t.target]
            if t.up:
                self.level_up[i] = max(self.level_up[i], t.level)
                self.has_up[i] = True
            else:
                self.level_down[i] = max(self.level_down[i], t.level)
                self.has_down[i] = True
        self.up_to_target = onehot(self.term_target[self.term_up], n_t)
        self.down_to_target = onehot(self.term_target[~self.term_up], n_t)
        kinds = [t[0] for t in targets]
        self.is_transition = np.array([k == "transition" for k in kinds], dtype=bool)
        self.fold_up = np.where(self.has_up & ~self.is_transition, self.level_up, 1.0)
        self.fold_down = np.where(self.has_down & ~self.is_transition, self.level_down, 1.0)
        self.target_base = np.zeros(n_t)
        for i, target in enumerate(targets):
            kind = target[0]
            if kind == "growth":
                self.target_base[i] = self.base_growth[target[1]]  # type: ignore[index]
            elif kind == "death":
                self.target_base[i] = self.base_death[target[1]]  # type: ignore[index]
            elif kind == "seeding":
                self.target_base[i] = v("seeding_rate")
            elif kind != "transition":
                self.target_base[i] = 1.0
        self.growth_targets = self._targets_of("growth")
        self.death_targets = self._targets_of("death")
        self.killing_targets = self._targets_of("killing")
        self.secretion_targets = self._targets_of("secretion")
        trans = [(i, t[1], t[2]) for i, t in enumerate(targets) if t[0] == "transition"]
        self.trans_target = np.array([a for a, _, _ in trans], dtype=int)
        self.trans_src = np.array([b for _, b, _ in trans], dtype=int)
        self.trans_dst = np.array([c for _, _, c in trans], dtype=int)
        self.activity_targets = np.array(
            [
                index.get(("activity", ph, pop), -1)
                for (ph, pop), _ in sorted(model.activities.items(), key=lambda kv: kv[1])
            ],
            dtype=int,
        )

        # metastatic seeding: tumour cancer populations -> their niche copies
        self.seed_rate_target = {o: index.get(("seeding", o), -1) for o in NICHES}
        seeding = [
            (p.index, dest.index, o)
            for p in pops
            if p.compartment == "tumour" and self.cancer[p.index]
            for o in NICHES
            if (dest := model.population(p.cell, p.state, o)) is not None
        ]
        self.seed_src = np.array([a for a, _, _ in seeding], dtype=int)
        self.seed_dst = np.array([b for _, b, _ in seeding], dtype=int)
        self.seed_organ = [o for _, _, o in seeding]
        self.k = _Constants(**{f.name: v(f.name) for f in fields(_Constants)})
        self.interventions = model.arm.interventions
        self.release_masks = [
            (item, np.array([item.donors is None or selects(kb, item.donors, p) for p in pops]))
            for item in self.interventions
            if item.type == "release_inhibitor"
        ]

    def behaviour_values(self, signal: NDArray[np.float64]) -> NDArray[np.float64]:
        """Every behaviour target's value (PhysiCell semantics) for signals (..., n_signals).

        One function for both solvers: the compartment model passes one signal vector, the
        tissue passes one row per cell.
        """
        n_t = len(self.targets)
        if not n_t:
            return np.zeros((*signal.shape[:-1], 0))
        s = (signal[..., self.term_signal] / self.term_half) ** self.term_hill
        up = s[..., self.term_up] @ self.up_to_target
        down = s[..., ~self.term_up] @ self.down_to_target
        base = self.target_base
        b_max = np.where(self.is_transition, self.level_up, base * self.fold_up)
        b_min = np.where(self.is_transition, 0.0, base / self.fold_down)
        value = base + (b_max - base) * saturating(up)
        return value + (b_min - value) * saturating(down)

    def _targets_of(self, kind: str) -> tuple[NDArray[np.int_], NDArray[np.int_]]:
        found = [(i, t[1]) for i, t in enumerate(self.targets) if t[0] == kind]
        return (
            np.array([a for a, _ in found], dtype=int),
            np.array([b for _, b in found], dtype=int),
        )

    def _cargo(self, name: str) -> str:
        molecule = self.kb.find_molecule(name)
        return molecule.id if molecule else name

    def _cargo_index(self, cargo: str) -> int:
        if cargo not in self.cargo_names:
            self.cargo_names.append(cargo)
        return self.cargo_names.index(cargo)

    def _kill_scale(self, drug: Drug, pop: Population) -> float:
        """EC50 multiplier of a population for a drug; 0 when the drug does not kill it."""
        killable = {c for k in drug.kills for c in self.kb.descendants(k)}
        if pop.cell not in killable:
            return 0.0
        state, resistant = pop.state, False
        while state is not None:
            entry = self.kb.cell_states[state]
            names = {m.id for n in entry.resistant_to if (m := self.kb.find_molecule(n))}
            if drug.id in names or set(entry.resistant_to) & set(drug.groups):
                resistant = True
            state = entry.parent
        return drug.resistance_fold.value if resistant else 1.0

    # ------------------------------------------------------------ time-dependent factors

    def factors(
        self, t: float
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """Release factor per population; loading and signal factors per cargo index."""
        release = np.ones(len(self.model.populations))
        loading = np.ones(len(self.cargo_names))
        signal = np.ones(len(self.cargo_names))
        for inhibitor, mask in self.release_masks:
            if t >= inhibitor.start:
                release[mask] *= 1.0 - inhibitor.efficacy
        for item in self.interventions:
            if item.type == "cargo_knockdown" and t >= item.start:
                loading[self._cargo_index(self._cargo(item.cargo))] *= 1.0 - item.efficacy
            elif item.type == "cargo_overexpression":
                loading[self._cargo_index(self._cargo(item.cargo))] *= item.fold
            elif item.type == "signal_blocker" and t >= item.start:
                signal[self._cargo_index(self._cargo(item.cargo))] *= 1.0 - item.efficacy
        return release, loading, signal

    def _drug_levels(self, y: NDArray[np.float64], name: str) -> NDArray[np.float64]:
        """Concentration each population sees (tumour interstitium or plasma/medium)."""
        lay = self.layout
        tumour = max(y[lay.drug(name, "tumour")] + y[lay.drug(name, "delivered")], 0.0)
        plasma = max(y[lay.drug(name, "plasma")], 0.0)
        return np.where(self.in_tumour, tumour, plasma)

    # ------------------------------------------------------------ right-hand side

    def rhs(self, t: float, y: NDArray[np.float64]) -> NDArray[np.float64]:
        lay = self.layout
        n = np.maximum(y[: lay.pools], 0.0)
        pools = np.maximum(y[lay.pools : lay.signals], 0.0)
        internal = np.maximum(y[lay.signals : lay.activities], 0.0)
        dy = np.zeros_like(y)
        release, loading, blocked = self.factors(t)

        # signals as receivers see them: inhibitors and antibodies block some cargo
        signal = internal.copy()
        if self.contact:  # membrane molecules sensed by contact, diluted among all cells
            cells = np.bincount(self.pop_comp, n, minlength=len(self.comps))
            for i, sources in self.contact:
                total = cells[self.pop_comp[self.sig_pop[i]]]
                if total > 0:
                    signal[i] += self.k.contact_signal * n[sources].sum() / total
        signal = signal * blocked[self.sig_cargo_idx]
        for name, kd, mask in self.blockers:
            conc = self._drug_levels(y, name)[self.sig_pop]
            signal = np.where(mask, signal * kd / (conc + kd), signal)

        value = self.behaviour_values(signal)
        n_t = len(self.targets)

        growth = self.base_growth.copy()
        growth[self.growth_targets[1]] = value[self.growth_targets[0]]
        death = self.base_death.copy()
        death[self.death_targets[1]] = value[self.death_targets[0]]
        killing = np.ones(len(n))
        killing[self.killing_targets[1]] = value[self.killing_targets[0]]
        secreting = np.ones(len(n))
        secreting[self.secretion_targets[1]] = value[self.secretion_targets[0]]

        # cells
        cancer_total = np.bincount(self.pop_comp, n * self.cancer, minlength=len(self.comps))
        crowding = 1.0 - cancer_total[self.pop_comp] / self.capacity[self.pop_comp]
        dn = growth * n * crowding - death * n
        if len(self.trans_target):
            flux = value[self.trans_target] * n[self.trans_src]
            np.subtract.at(dn, self.trans_src, flux)
            np.add.at(dn, self.trans_dst, flux)
        for name, drug in self.drugs.items():
            scale = self.drug_scale[name]
            conc = self._drug_levels(y, name)
            h = drug.hill.value
            ec50 = drug.ec50.value * np.where(scale > 0, scale, 1.0)
            rate = np.where(
                (scale > 0) & self.not_plasma & (conc > 0),
                drug.kill_max.value * conc**h / (ec50**h + conc**h),
                0.0,
            )
            dn -= rate * n
            dy[lay.drug(name, "killed")] = float((rate * n)[self.counts_kill].sum())
        for killer, targets in self.killers:
            if n[killer] > 0:
                per_capita = (
                    self.kill_rate[killer]
                    * killing[killer]
                    * n[killer]
                    / (n[killer] + n[targets].sum() + 1.0)
                )
                dn[targets] -= per_capita * n[targets]
        if len(self.seed_src):
            rates = np.array(
                [
                    value[i] if (i := self.seed_rate_target[o]) >= 0 else self.k.seeding_rate
                    for o in self.seed_organ
                ]
            )
            np.add.at(dn, self.seed_dst, rates * n[self.seed_src])
        dy[: lay.pools] = dn

        # exosome pools: secretion, uptake, decay, transport
        out = n * self.secretion * secreting * release
        dpool = np.zeros(len(pools))
        per_comp = np.bincount(self.pop_comp, out, minlength=len(self.comps))
        has_all = self.all_pool_of_comp >= 0
        np.add.at(dpool, self.all_pool_of_comp[has_all], per_comp[has_all])
        if len(self.sec_pop):
            np.add.at(
                dpool, self.sec_pool, out[self.sec_pop] * self.sec_load * loading[self.sec_cargo]
            )
        cells = np.bincount(self.pop_comp, n, minlength=len(self.comps))[self.pool_comp]
        volume = self.pool_volumes(n)
        c_all = np.where(self.pool_all >= 0, pools[self.pool_all] / volume, 0.0)
        per_cell = np.where(
            self.pool_uptake,
            self.k.uptake_max * (pools / volume) / (self.k.uptake_half_saturation + c_all),
            0.0,
        )
        removed = per_cell * cells + self.pool_decay * pools
        dpool -= removed
        if len(self.drain_src):
            np.add.at(dpool, self.drain_dst, self.k.tumour_drainage * pools[self.drain_src])
        if len(self.niche_src):
            np.add.at(dpool, self.niche_dst, self.niche_rate * pools[self.niche_src])
        dy[lay.pools : lay.signals] = dpool

        # internalised cargo per receiver cell
        gain = np.where(self.sig_pool >= 0, per_cell[np.maximum(self.sig_pool, 0)], 0.0)
        dy[lay.signals : lay.activities] = gain - self.k.internal_decay * internal

        # activity levels relax towards their rule-modulated value
        if len(self.activity_targets):
            level = np.where(
                self.activity_targets >= 0,
                value[np.maximum(self.activity_targets, 0)] if n_t else 1.0,
                1.0,
            )
            dy[lay.activities : lay.drugs] = self.k.activity_relaxation * (
                level - y[lay.activities : lay.drugs]
            )

        # drugs: elimination, tumour exchange, carriers, binding to exosomes
        for name, drug in self.drugs.items():
            self._drug_rhs(name, drug, y, removed / volume, self.tumour_volume(n), dy)
        return dy

    def tumour_volume(self, n: NDArray[np.float64]) -> float:
        """Interstitial volume of the tumour: it grows and shrinks with its cells."""
        cells = float(n[self.pop_comp == self.tumour_comp].sum())
        return max(cells * self.k.interstitial_volume_per_cell, self.k.tumour_min_volume)

    def pool_volumes(self, n: NDArray[np.float64]) -> NDArray[np.float64]:
        volume = self.pool_volume.copy()
        volume[self.pool_in_tumour] = self.tumour_volume(n)
        return volume

    def _drug_rhs(
        self,
        name: str,
        drug: Drug,
        y: NDArray[np.float64],
        removal: NDArray[np.float64],
        tumour_volume: float,
        dy: NDArray[np.float64],
    ) -> None:
        """PK of one drug. Exosomes bearing a cargo it binds (``bound_by_cargo``) carry bound
        drug away as they are taken up or cleared: a loss of removal x sites x occupancy."""
        lay = self.layout
        kel = LN2 / (drug.half_life.value / 24.0)
        cp, ct = y[lay.drug(name, "plasma")], y[lay.drug(name, "tumour")]
        loss_plasma = loss_tumour = 0.0
        if drug.binding_sites is not None and drug.binding_kd is not None:
            cargo = {self._cargo(c) for c in drug.bound_by_cargo}
            sites = drug.binding_sites.value / AVOGADRO_PER_UM_ML
            kd = drug.binding_kd.value
            for i, key in enumerate(self.pool_cargo_of):
                if key in cargo:
                    comp = self.comps[self.pool_comp[i]]
                    if comp in {"plasma", "culture"}:
                        loss_plasma += removal[i] * sites * max(cp, 0.0) / (max(cp, 0.0) + kd)
                    elif comp == "tumour":
                        loss_tumour += removal[i] * sites * max(ct, 0.0) / (max(ct, 0.0) + kd)
        dy[lay.drug(name, "plasma")] = -kel * cp - loss_plasma
        dy[lay.drug(name, "tumour")] = drug.tumour_exchange.value * (cp - ct) - loss_tumour
        carrier = self._carrier(name)
        if carrier is not None:
            x = y[lay.drug(name, "carrier")]
            kc = LN2 / (carrier.carrier_half_life.value / 24.0)
            f = carrier.tumour_fraction.value
            concentrate = self.k.plasma_volume / tumour_volume  # dose share -> tumour conc.
            dy[lay.drug(name, "carrier")] = -kc * x
            dy[lay.drug(name, "delivered")] = (
                kc * f * x * concentrate - kel * y[lay.drug(name, "delivered")]
            )
            dy[lay.drug(name, "offtarget")] = (
                kc * (1 - f) * x - kel * y[lay.drug(name, "offtarget")]
            )
        dy[lay.drug(name, "offtarget_auc")] = max(cp, 0.0) + max(
            y[lay.drug(name, "offtarget")], 0.0
        )

    def _carrier(self, drug: str) -> CarrierTreatment | None:
        for item in self.interventions:
            if item.type == "exosome_carrier" and self._cargo(item.drug) == drug:
                return item
        return None


def onehot(index: NDArray[np.int_], size: int) -> NDArray[np.float64]:
    """Matrix summing terms (rows) into their targets (columns)."""
    matrix = np.zeros((len(index), size))
    matrix[np.arange(len(index)), index] = 1.0
    return matrix


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


def _impulses(system: System, duration: float) -> dict[float, list[tuple[str, object]]]:
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


Change = tuple[int, Literal["add", "set", "scale"], float]


def impulse_changes(system: System, kind: str, item: object) -> list[Change]:
    """What an event does to the state: (variable, add|set|scale, amount) in order."""
    lay, model = system.layout, system.model
    changes: list[Change] = []
    if kind == "drug":
        name = system._cargo(item.drug)  # type: ignore[attr-defined]
        if item.concentration is not None:  # type: ignore[attr-defined]  # medium change resets it
            changes.append((lay.drug(name, "plasma"), "set", item.concentration))  # type: ignore[attr-defined]
        else:
            amount = item.dose * system.drugs[name].concentration_per_dose.value  # type: ignore[attr-defined]
            changes.append((lay.drug(name, "plasma"), "add", amount))
    elif kind == "exosome_carrier":
        name = system._cargo(item.drug)  # type: ignore[attr-defined]
        amount = item.dose * system.drugs[name].concentration_per_dose.value  # type: ignore[attr-defined]
        changes.append((lay.drug(name, "carrier"), "add", amount))
    elif kind == "exosome_dose":
        comp = item.compartment  # type: ignore[attr-defined]
        if item.cargo is not None:  # type: ignore[attr-defined]
            loads = {system._cargo(item.cargo): 1.0}  # type: ignore[attr-defined]
        else:
            loads = model.dose_cargo.get(model.arm.interventions.index(item), {})  # type: ignore[arg-type]
        for key, load in loads.items():
            changes.append((lay.pools + model.pools[(key, comp)], "add", item.exosomes * load))  # type: ignore[attr-defined]
        changes.append((lay.pools + model.pools[(ALL_EXOSOMES, comp)], "add", item.exosomes))  # type: ignore[attr-defined]
    elif kind == "surgery":
        keep = 1.0 - item.fraction_removed  # type: ignore[attr-defined]
        comp = item.compartment  # type: ignore[attr-defined]
        changes += [(p.index, "scale", keep) for p in model.populations if p.compartment == comp]
        changes += [
            (lay.pools + idx, "scale", keep) for (_, c), idx in model.pools.items() if c == comp
        ]
    return changes


def _apply(system: System, y: NDArray[np.float64], kind: str, item: object) -> None:
    for index, operation, amount in impulse_changes(system, kind, item):
        if operation == "add":
            y[index] += amount
        elif operation == "set":
            y[index] = amount
        else:
            y[index] *= amount


def start_state(model: CompiledModel) -> NDArray[np.float64]:
    """Day 0 before any dose: the initial cells, empty pools, activities at baseline (1)."""
    lay = layout_of(model)
    y = np.zeros(lay.size)
    y[: lay.pools] = model.initial
    y[lay.activities : lay.drugs] = 1.0
    return y


def event_bounds(system: System) -> tuple[dict[float, list[tuple[str, object]]], list[float]]:
    """The events by day, and the days that split the integration into segments."""
    duration = system.model.scenario.duration
    events = _impulses(system, duration)
    return events, sorted({0.0, duration, *events})


def _tolerances(system: System, y0: NDArray[np.float64]) -> NDArray[np.float64]:
    lay = system.layout
    atol = np.full(lay.size, 1e-9)
    atol[: lay.pools] = 1e-3
    atol[lay.pools : lay.signals] = 1e-2
    atol[lay.signals : lay.activities] = 1e-6
    atol[lay.activities : lay.drugs] = 1e-8
    return np.maximum(atol, 1e-9 * np.abs(y0))


def simulate_arm(
    kb: KnowledgeBase, lib: Library, model: CompiledModel, pattern: Any = None
) -> Trajectory:
    """Integrate one arm over the scenario's duration; raises :class:`SimulationError`.

    ``pattern``: the Jacobian sparsity of a large model, when the caller already probed it
    for another patient of the same structure (see :func:`jacobian_pattern`).
    """
    system = System(kb, lib, model)
    lay = system.layout
    scenario = model.scenario
    y = start_state(model)
    grid = np.round(np.arange(0.0, scenario.duration + 1e-9, scenario.output_every), 9)
    events, bounds = event_bounds(system)
    atol = _tolerances(system, y)
    solver: dict[str, object] = {"method": "LSODA"}
    if lay.size > SPARSE_ABOVE:  # large models: BDF with a sparse, colour-grouped Jacobian
        if pattern is None:
            pattern = jacobian_pattern(system, y, bounds)
        solver = {"method": "BDF", "jac_sparsity": pattern}
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
            system.rhs, (start, end), y, t_eval=t_eval, rtol=1e-6, atol=atol, **solver
        )
        if not solution.success or not np.all(np.isfinite(solution.y)):
            raise _diverged(model, system, solution, start, end)
        keep = np.isin(solution.t, wanted)
        times += list(solution.t[keep])
        states += list(solution.y.T[keep])
        y = solution.y[:, -1].copy()
        y[: lay.activities] = np.maximum(y[: lay.activities], 0.0)
    return Trajectory(model, lay, np.array(times), np.array(states))


SPARSE_ABOVE = 120  # state variables; below this, LSODA's dense Jacobian is cheaper


def jacobian_pattern(system: System, y0: NDArray[np.float64], times: list[float]) -> Any:
    """Which variables each derivative depends on, probed at random positive states.

    Each variable is perturbed in turn at two states, at the first and the last time (an
    intervention switched on later is off at the first and on at the last); any change of a
    derivative marks an entry.
    """
    from scipy.sparse import csc_matrix

    lay = system.layout
    typical = np.ones(lay.size)
    typical[: lay.pools] = 1e8
    typical[lay.pools : lay.signals] = 1e9
    typical[lay.signals : lay.activities] = 100.0
    rng = np.random.default_rng(0)
    pattern = np.eye(lay.size, dtype=bool)
    for t in sorted({min(times), max(times)}):
        for _ in range(2):
            y = np.maximum(np.abs(y0), typical) * (0.5 + rng.random(lay.size))
            base = system.rhs(t, y)
            for j in range(lay.size):
                probe = y.copy()
                probe[j] *= 1.0 + 1e-4
                pattern[:, j] |= system.rhs(t, probe) != base
    return csc_matrix(pattern)


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
    model: CompiledModel, system: System, solution: object, start: float, end: float
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
