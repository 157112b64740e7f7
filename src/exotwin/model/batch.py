"""A batched solver: many patients of one compiled arm integrated as one vectorised system.

Patients share the arm's structure (populations, pools, rules) and differ in parameter values
and initial sizes. Their states form a (patients x variables) array; the right-hand side below
is ``simulate.System.rhs`` with a leading patient axis (aggregations become products with
0/1 matrices), and BDF integrates the block-diagonal system with a sparse Jacobian whose
colouring needs as many evaluations as one patient's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.integrate import solve_ivp
from scipy.sparse import block_diag

from ..knowledge import KnowledgeBase
from .compiler import CompiledModel
from .library import Library
from .simulate import (
    AVOGADRO_PER_UM_ML,
    LN2,
    SPARSE_ABOVE,
    SimulationError,
    System,
    Trajectory,
    _apply,
    _tolerances,
    event_bounds,
    jacobian_pattern,
    layout_of,
    onehot,
    simulate_arm,
    start_state,
)

Array = NDArray[np.float64]
STRUCTURE = (
    "pop_comp",
    "term_signal",
    "term_target",
    "term_up",
    "trans_src",
    "trans_dst",
    "sec_pop",
    "sec_pool",
    "sig_pool",
    "sig_pop",
    "pool_all",
    "pool_comp",
)


class BatchSystem:
    """Stacked per-patient arrays and the vectorised right-hand side."""

    def __init__(self, systems: list[System]) -> None:
        first = systems[0]
        for other in systems[1:]:
            if other.layout.size != first.layout.size or any(
                not np.array_equal(getattr(other, a), getattr(first, a)) for a in STRUCTURE
            ):
                raise ValueError("patients of a batch must share the compiled structure")
        self.systems, self.s0, self.batch = systems, first, len(systems)
        s = first

        def stack(name: str) -> Array:
            return np.stack([getattr(x, name) for x in systems]).astype(float)

        def constant(name: str) -> Array:
            return np.array([getattr(x.k, name) for x in systems])[:, None]

        self.base_growth = stack("base_growth")
        self.base_death = stack("base_death")
        self.secretion = stack("secretion")
        self.kill_rate = stack("kill_rate")
        self.capacity = stack("capacity")
        self.pool_volume = stack("pool_volume")
        self.pool_decay = stack("pool_decay")
        self.niche_rate = stack("niche_rate")
        self.sec_load = stack("sec_load")
        self.term_half = stack("term_half")
        self.term_hill = stack("term_hill")
        self.level_up = stack("level_up")
        self.fold_up = stack("fold_up")
        self.fold_down = stack("fold_down")
        self.target_base = stack("target_base")
        self.k = {
            name: constant(name)
            for name in (
                "activity_relaxation",
                "contact_signal",
                "internal_decay",
                "interstitial_volume_per_cell",
                "plasma_volume",
                "tumour_min_volume",
                "seeding_rate",
                "tumour_drainage",
                "uptake_half_saturation",
                "uptake_max",
            )
        }
        n_pop, n_comp = len(s.pop_comp), len(s.comps)
        n_pool, n_t = len(s.pool_comp), len(s.targets)
        self.pop_to_comp = onehot(s.pop_comp, n_comp)  # (P, C)
        self.trans = onehot(s.trans_dst, n_pop) - onehot(s.trans_src, n_pop)
        self.seed_to_pop = onehot(s.seed_dst, n_pop)
        self.sec_to_pool = onehot(s.sec_pool, n_pool)
        self.drain_to_pool = onehot(s.drain_dst, n_pool)
        self.niche_to_pool = onehot(s.niche_dst, n_pool)
        self.up_to_target = onehot(s.term_target[s.term_up], n_t)
        self.down_to_target = onehot(s.term_target[~s.term_up], n_t)
        has_all = s.all_pool_of_comp >= 0
        self.comp_to_all = np.zeros((n_comp, n_pool))
        self.comp_to_all[np.flatnonzero(has_all), s.all_pool_of_comp[has_all]] = 1.0
        self.seed_target = np.array([s.seed_rate_target[o] for o in s.seed_organ], dtype=int)
        self.drug_scale = {d: np.stack([x.drug_scale[d] for x in systems]) for d in s.drugs}

        def drug_param(d: str, name: str) -> Array:
            return np.array([getattr(x.drugs[d], name).value for x in systems])

        self.drug = {
            d: {
                n: drug_param(d, n)
                for n in ("half_life", "kill_max", "ec50", "hill", "tumour_exchange")
            }
            for d in s.drugs
        }
        self.binding = {
            d: (
                np.array([x.drugs[d].binding_sites.value for x in systems]),  # type: ignore[union-attr]
                np.array([x.drugs[d].binding_kd.value for x in systems]),  # type: ignore[union-attr]
            )
            for d, drug in s.drugs.items()
            if drug.binding_sites and drug.binding_kd
        }
        self.blocker_kd = [
            np.array([x.blockers[i][1] for x in systems])[:, None] for i in range(len(s.blockers))
        ]

    def _levels(self, y: Array, name: str) -> Array:
        """(patients, populations) drug concentration each population sees."""
        lay = self.s0.layout
        tumour = np.maximum(y[:, lay.drug(name, "tumour")] + y[:, lay.drug(name, "delivered")], 0)
        plasma = np.maximum(y[:, lay.drug(name, "plasma")], 0)
        return np.where(self.s0.in_tumour[None, :], tumour[:, None], plasma[:, None])

    def rhs(self, t: float, flat: Array) -> Array:
        s, lay, b = self.s0, self.s0.layout, self.batch
        y = flat.reshape(b, lay.size)
        n = np.maximum(y[:, : lay.pools], 0.0)
        pools = np.maximum(y[:, lay.pools : lay.signals], 0.0)
        internal = np.maximum(y[:, lay.signals : lay.activities], 0.0)
        dy = np.zeros_like(y)
        release, loading, blocked = s.factors(t)
        cells_comp = n @ self.pop_to_comp

        signal = internal.copy()
        for i, sources in s.contact:
            total = cells_comp[:, s.pop_comp[s.sig_pop[i]]]
            share = np.divide(n[:, sources].sum(axis=1), total, out=np.zeros(b), where=total > 0)
            signal[:, i] += self.k["contact_signal"][:, 0] * share
        signal = signal * blocked[s.sig_cargo_idx][None, :]
        for (name, _, mask), kd in zip(s.blockers, self.blocker_kd, strict=True):
            conc = self._levels(y, name)[:, s.sig_pop]
            signal = np.where(mask[None, :], signal * kd / (conc + kd), signal)

        if len(s.targets):
            x = (signal[:, s.term_signal] / self.term_half) ** self.term_hill
            up = x[:, s.term_up] @ self.up_to_target
            down = x[:, ~s.term_up] @ self.down_to_target
            base = self.target_base
            b_max = np.where(s.is_transition[None, :], self.level_up, base * self.fold_up)
            b_min = np.where(s.is_transition[None, :], 0.0, base / self.fold_down)
            value = base + (b_max - base) * (up / (1.0 + up))
            value = value + (b_min - value) * (down / (1.0 + down))
        else:
            value = np.zeros((b, 0))

        def per_pop(targets: tuple[NDArray[np.int_], NDArray[np.int_]], base: Array) -> Array:
            out = base.copy()
            out[:, targets[1]] = value[:, targets[0]]
            return out

        ones = np.ones_like(n)
        growth = per_pop(s.growth_targets, self.base_growth)
        death = per_pop(s.death_targets, self.base_death)
        killing = per_pop(s.killing_targets, ones)
        secreting = per_pop(s.secretion_targets, ones)

        cancer_total = (n * s.cancer[None, :]) @ self.pop_to_comp
        crowding = 1.0 - cancer_total[:, s.pop_comp] / self.capacity[:, s.pop_comp]
        dn = growth * n * crowding - death * n
        if len(s.trans_target):
            dn += (value[:, s.trans_target] * n[:, s.trans_src]) @ self.trans
        for name in s.drugs:
            p = self.drug[name]
            scale = self.drug_scale[name]
            conc = self._levels(y, name)
            h = p["hill"][:, None]
            ec50 = p["ec50"][:, None] * np.where(scale > 0, scale, 1.0)
            rate = np.where(
                (scale > 0) & s.not_plasma[None, :] & (conc > 0),
                p["kill_max"][:, None] * conc**h / (ec50**h + conc**h),
                0.0,
            )
            dn -= rate * n
            dy[:, lay.drug(name, "killed")] = (rate * n)[:, s.counts_kill].sum(axis=1)
        for killer, targets in s.killers:
            per_capita = (
                self.kill_rate[:, killer]
                * killing[:, killer]
                * n[:, killer]
                / (n[:, killer] + n[:, targets].sum(axis=1) + 1.0)
            )
            dn[:, targets] -= per_capita[:, None] * n[:, targets]
        if len(s.seed_src):
            safe = np.maximum(self.seed_target, 0)
            rates = np.where(
                self.seed_target[None, :] >= 0,
                value[:, safe] if len(s.targets) else 0.0,
                self.k["seeding_rate"],
            )
            dn += (rates * n[:, s.seed_src]) @ self.seed_to_pop
        dy[:, : lay.pools] = dn

        out = n * self.secretion * secreting * release[None, :]
        dpool = (out @ self.pop_to_comp) @ self.comp_to_all
        if len(s.sec_pop):
            dpool += (
                out[:, s.sec_pop] * self.sec_load * loading[s.sec_cargo][None, :]
            ) @ self.sec_to_pool
        cells = cells_comp[:, s.pool_comp]
        tumour_cells = cells_comp[:, s.tumour_comp]
        v_t = np.maximum(
            tumour_cells * self.k["interstitial_volume_per_cell"][:, 0],
            self.k["tumour_min_volume"][:, 0],
        )
        volume = np.where(s.pool_in_tumour[None, :], v_t[:, None], self.pool_volume)
        safe_all = np.maximum(s.pool_all, 0)
        c_all = np.where(s.pool_all[None, :] >= 0, pools[:, safe_all] / volume[:, safe_all], 0.0)
        per_cell = np.where(
            s.pool_uptake[None, :],
            self.k["uptake_max"] * (pools / volume) / (self.k["uptake_half_saturation"] + c_all),
            0.0,
        )
        removed = per_cell * cells + self.pool_decay * pools
        dpool -= removed
        if len(s.drain_src):
            dpool += (self.k["tumour_drainage"] * pools[:, s.drain_src]) @ self.drain_to_pool
        if len(s.niche_src):
            dpool += (self.niche_rate * pools[:, s.niche_src]) @ self.niche_to_pool
        dy[:, lay.pools : lay.signals] = dpool

        safe_pool = np.maximum(s.sig_pool, 0)
        gain = np.where(s.sig_pool[None, :] >= 0, per_cell[:, safe_pool], 0.0)
        dy[:, lay.signals : lay.activities] = gain - self.k["internal_decay"] * internal
        if len(s.activity_targets):
            safe_t = np.maximum(s.activity_targets, 0)
            level = np.where(
                s.activity_targets[None, :] >= 0, value[:, safe_t] if len(s.targets) else 1.0, 1.0
            )
            dy[:, lay.activities : lay.drugs] = self.k["activity_relaxation"] * (
                level - y[:, lay.activities : lay.drugs]
            )
        for name in s.drugs:
            self._drug(name, y, removed / volume, v_t, dy)
        return dy.reshape(-1)

    def _drug(self, name: str, y: Array, removal: Array, v_t: Array, dy: Array) -> None:
        s, lay = self.s0, self.s0.layout
        p = self.drug[name]
        kel = LN2 / (p["half_life"] / 24.0)
        cp, ct = y[:, lay.drug(name, "plasma")], y[:, lay.drug(name, "tumour")]
        loss_p = np.zeros(self.batch)
        loss_t = np.zeros(self.batch)
        if name in self.binding:
            sites, kd = self.binding[name]
            cargo = {s._cargo(c) for c in s.drugs[name].bound_by_cargo}
            for i, key in enumerate(s.pool_cargo_of):
                if key in cargo:
                    comp = s.comps[s.pool_comp[i]]
                    if comp in {"plasma", "culture"}:
                        c = np.maximum(cp, 0)
                        loss_p += removal[:, i] * sites / AVOGADRO_PER_UM_ML * c / (c + kd)
                    elif comp == "tumour":
                        c = np.maximum(ct, 0)
                        loss_t += removal[:, i] * sites / AVOGADRO_PER_UM_ML * c / (c + kd)
        dy[:, lay.drug(name, "plasma")] = -kel * cp - loss_p
        dy[:, lay.drug(name, "tumour")] = p["tumour_exchange"] * (cp - ct) - loss_t
        carrier = s._carrier(name)
        off = y[:, lay.drug(name, "offtarget")]
        if carrier is not None:
            x = y[:, lay.drug(name, "carrier")]
            kc = LN2 / (carrier.carrier_half_life.value / 24.0)
            f = carrier.tumour_fraction.value
            dy[:, lay.drug(name, "carrier")] = -kc * x
            dy[:, lay.drug(name, "delivered")] = (
                kc * f * x * self.k["plasma_volume"][:, 0] / v_t
                - kel * y[:, lay.drug(name, "delivered")]
            )
            dy[:, lay.drug(name, "offtarget")] = kc * (1 - f) * x - kel * off
        dy[:, lay.drug(name, "offtarget_auc")] = np.maximum(cp, 0) + np.maximum(off, 0)


def simulate_batch(
    kb: KnowledgeBase, libraries: list[Library], models: list[CompiledModel]
) -> list[Trajectory]:
    """Integrate patients (one library and compiled arm each, same structure) together."""
    systems = [System(kb, lib, model) for lib, model in zip(libraries, models, strict=True)]
    batch = BatchSystem(systems)
    lay, scenario = systems[0].layout, models[0].scenario
    y = np.stack([start_state(model) for model in models])
    grid = np.round(np.arange(0.0, scenario.duration + 1e-9, scenario.output_every), 9)
    events, bounds = event_bounds(systems[0])
    atol = np.concatenate([_tolerances(x, row) for x, row in zip(systems, y, strict=True)])
    pattern: Any = block_diag(
        [jacobian_pattern(systems[0], y[0], bounds)] * len(systems), format="csc"
    )
    times: list[float] = []
    states: list[Array] = []
    for k, start in enumerate(bounds[:-1]):
        end = bounds[k + 1]
        for kind, item in events.get(start, []):
            for system, row in zip(systems, y, strict=True):
                _apply(system, row, kind, item)
        last = k == len(bounds) - 2
        wanted = grid[(grid >= start) & ((grid < end) | (last & (grid <= end)))]
        solution = solve_ivp(
            batch.rhs,
            (start, end),
            y.reshape(-1),
            method="BDF",
            t_eval=np.union1d(wanted, [end]),
            rtol=1e-6,
            atol=atol,
            jac_sparsity=pattern,
        )
        if not solution.success or not np.all(np.isfinite(solution.y)):
            raise SimulationError(
                f"scenario {scenario.id!r}, batch of {len(systems)} patients: "
                f"the solve failed between day {start:g} and {end:g} "
                f"({solution.message})"
            )
        keep = np.isin(solution.t, wanted)
        times += list(solution.t[keep])
        states += list(solution.y.T[keep])
        y = solution.y[:, -1].reshape(len(systems), lay.size).copy()
        y[:, : lay.activities] = np.maximum(y[:, : lay.activities], 0.0)
    stacked = np.array(states).reshape(len(times), len(systems), lay.size)
    return [
        Trajectory(model, lay, np.array(times), stacked[:, i, :]) for i, model in enumerate(models)
    ]


def simulate_patients(
    kb: KnowledgeBase, libraries: list[Library], models: list[CompiledModel], batch_size: int = 50
) -> list[Trajectory]:
    """Patients of one arm, the fastest way: small models in batches, large ones (whose sparse
    solve grows with every patient added) one by one."""
    if not models:
        return []
    if layout_of(models[0]).size > SPARSE_ABOVE:  # one probe of the shared sparsity pattern
        probe = System(kb, libraries[0], models[0])
        pattern = jacobian_pattern(probe, start_state(models[0]), event_bounds(probe)[1])
        return [
            simulate_arm(kb, lib, model, pattern)
            for lib, model in zip(libraries, models, strict=True)
        ]
    found: list[Trajectory] = []
    for first in range(0, len(models), batch_size):
        found += simulate_batch(
            kb, libraries[first : first + batch_size], models[first : first + batch_size]
        )
    return found
