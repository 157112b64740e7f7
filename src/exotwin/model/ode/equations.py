"""The model's equations, written once over a batch axis.

Everything here is ordinary arithmetic on arrays whose last axis is the model's own (variables,
rows, targets) and whose leading axes are a batch: patients in a cohort, one patient in a
single run, cells in the tissue. The backend (:mod:`exotwin.model.ode.algebra`) decides whether
the arithmetic runs on numbers (the solvers) or on formulas (the SBML export).

:func:`derive` computes what depends on parameters only; :func:`fluxes` gives every rate of
the right-hand side as a :class:`Flux` (a set of rows that move one variable into another).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from ..rules.response import behaviour, emax, hill_terms, ic50_kill
from ..rules.rows import CompiledModel, DrugRows, Factor, HomingRows, PoolRows
from ..rules.table import COMPARTMENTS, Bools, Change, Ints
from .algebra import Backend, Numeric, Segments

Array = Any  # numbers or formulas, with leading batch axes
LN2 = math.log(2.0)
AVOGADRO_PER_UM_ML = 6.02214076e14  # molecules per mL of a 1 uM solution
HOURS_PER_DAY = 24.0
TUMOUR = COMPARTMENTS.index("tumour")
CROWDED = np.array([c != "plasma" for c in COMPARTMENTS])  # cancer cells fill a capacity
NUMERIC = Numeric()


class Flux(NamedTuple):
    """Rows of one kind of process: each moves ``rate`` from ``source`` into ``target``
    (state variable indices; -1 where the amount comes from or goes to outside the model)."""

    name: str
    rate: Array  # (..., rows)
    source: Ints | int | None  # None: from outside; an int: the same variable for every row
    target: Ints | int | None

    def rows(self, side: Ints | int | None) -> Ints:
        """Variable index per row of one side (-1: outside the model)."""
        count = np.shape(self.rate)[-1]
        if side is None:
            return np.full(count, -1)
        if isinstance(side, int | np.integer):
            return np.full(count, int(side))
        return side


@dataclass(frozen=True)
class Derived:
    """Quantities of the parameters alone, computed once per parameter set."""

    theta: Array
    compartment: dict[str, Array]  # volume, capacity, crowded, decay: (..., compartments)
    cells: dict[str, Array]  # growth, death, secretion: (..., populations); killer rates
    rules: dict[str, Array]  # half, hill (..., terms); base, b_max, b_min (..., targets)
    pools: dict[str, Array]  # load, transport, decay
    drugs: dict[str, dict[str, Array]]
    factors: dict[str, list[Array]]  # one value per intervention factor
    cache: dict[Any, Any] = field(default_factory=dict)  # time factors by interventions begun


def derive(model: CompiledModel, be: Backend, theta: Array) -> Derived:
    """Everything that depends on parameters alone (``theta``: (..., parameters))."""
    rows = model.rows
    p = lambda i: theta[..., i]  # noqa: E731
    c = rows.compartments
    lead = theta.shape[:-1]

    def per_compartment(culture: Array, tumour: Array, plasma: Array, niche: Array) -> Array:
        return be.stack([culture, tumour, plasma] + [niche] * (len(COMPARTMENTS) - 3))

    compartment = {
        "volume": per_compartment(
            p(c.culture_volume), p(c.tumour_min_volume), p(c.plasma_volume), p(c.niche_volume)
        ),
        "capacity": per_compartment(
            p(c.culture_capacity),
            p(c.tumour_capacity),
            math.inf * be.ones(lead),
            p(c.niche_capacity),
        ),
        "decay": per_compartment(
            p(c.culture_decay),
            p(c.tissue_decay) + p(c.tumour_drainage),
            p(c.plasma_clearance),
            p(c.niche_decay),
        ),
    }
    return Derived(
        theta,
        compartment,
        _cell_constants(model, be, theta),
        _rule_constants(model, be, theta),
        _pool_constants(model, be, theta, compartment["decay"]),
        {d.name: _drug_constants(d, theta) for d in rows.drugs},
        {
            kind: [_factor_value(f, theta) for f in getattr(rows.factors, kind)]
            for kind in ("release", "loading", "block", "route", "sorting", "export")
        },
    )


def _cell_constants(model: CompiledModel, be: Backend, theta: Array) -> dict[str, Array]:
    cells = model.rows.cells
    growth = be.gather_max(theta, cells.growth.index, cells.growth.default)
    return {
        "growth": growth,
        "death": be.gather_max(theta, cells.death.index, cells.death.default),
        "secretion": be.gather_max(theta, cells.secretion.index, cells.secretion.default),
        "killing": be.ones(growth.shape),  # multipliers: 1 without a rule
        "secreting": be.ones(growth.shape),
        "surviving": be.ones(growth.shape),
    }


def _rule_constants(model: CompiledModel, be: Backend, theta: Array) -> dict[str, Array]:
    rules = model.rows.rules
    base = be.gather_max(theta, rules.base.index, rules.base.default)
    level_up = be.gather_max(theta, rules.level_up.index, rules.level_up.default)
    level_down = be.gather_max(theta, rules.level_down.index, rules.level_down.default)
    fold_up = be.where(rules.has_up & ~rules.transition, level_up, 1.0)
    fold_down = be.where(rules.has_down & ~rules.transition, level_down, 1.0)
    return {
        # a signal of exosomes of unspecified cargo reaches half response at the half-maximal
        # copies of its active component: half_max over the share of exosomes carrying it
        "half": theta[..., rules.half_max]
        / be.gather_max(theta, rules.share.index, rules.share.default),
        "hill": theta[..., rules.hill],
        "base": base,
        "b_max": be.where(rules.transition, level_up, base * fold_up),
        "b_min": be.where(rules.transition, 0.0, base / fold_down),
    }


def _pool_constants(
    model: CompiledModel, be: Backend, theta: Array, decay: Array
) -> dict[str, Array]:
    pools = model.rows.pools
    fraction = be.where(
        pools.transport_fraction >= 0, theta[..., np.maximum(pools.transport_fraction, 0)], 1.0
    )
    if model.rows.homing.fold >= 0:  # homing organs compete for the clearance with more weight
        fraction = _homing_shares(be, pools, model.rows.homing, theta, fraction)
    transport = theta[..., pools.transport_rate] * fraction
    fixed = be.where(into_tumour(pools), 0.0, transport)  # the tumour's share follows its cells
    leaving = be.segment_sum(fixed, Segments.of(pools.transport_source, len(pools.compartment)))
    c = model.rows.compartments
    plasma = theta[..., c.plasma_background_ev] * theta[..., c.plasma_volume]
    share = be.where(
        pools.background_share >= 0, theta[..., np.maximum(pools.background_share, 0)], 1.0
    )
    routes = model.rows.routes
    capacity = theta[..., routes.share]
    total = sum(capacity[..., r] for r in range(len(routes.share)))
    return {
        # uptake routes: share of the capacity, half-saturation, cytoplasmic delivery relative
        # to the nominal mix (docs/biogenesis.md)
        "route_weight": capacity / total[..., None],
        "route_half": theta[..., routes.half_saturation]
        * theta[..., [model.rows.exchange.uptake_half_saturation]],
        "route_signal": theta[..., routes.cytoplasm] / routes.reference,
        # blood cells keep plasma at its measured EV level: the amount at steady state, and
        # the production that holds it against clearance
        "background": plasma[..., None] * share,
        "background_input": plasma[..., None] * share * theta[..., [c.plasma_clearance]],
        "load": be.maximum(
            be.gather_max(theta, pools.cargo_load.index, pools.cargo_load.default),
            theta[..., [model.rows.exchange.basal_loading]]
            * be.gather_max(theta, pools.cargo_basal.index, pools.cargo_basal.default),
        ),
        "transport": transport,
        "decay": decay[..., pools.compartment] - leaving,  # what is lost, not moved elsewhere
        "total_loss": decay[..., pools.compartment],
    }


def into_tumour(pools: PoolRows) -> Bools:
    """The transport rows that end in the tumour (plasma clearance into the primary tumour):
    their rate is per cell of the tumour."""
    dest = np.maximum(pools.transport_dest, 0)
    return (pools.transport_dest >= 0) & (pools.compartment[dest] == TUMOUR)


def _homing_shares(
    be: Backend, pools: PoolRows, homing: HomingRows, theta: Array, fraction: Array
) -> Array:
    """Plasma clearance as competing sinks: a destination the exosomes home to weighs
    ``exosome_homing_fold`` times its share; each share is its weight over the weights of all
    sinks (the niches' and the rest of the body's, 1 - their sum), so the shares stay below 1
    and are unchanged for exosomes that home nowhere."""
    extra = be.where(homing.rows, theta[..., [homing.fold]] - 1.0, 0.0)
    gained = be.segment_sum(
        fraction * extra, Segments.of(pools.transport_source, len(pools.compartment))
    )
    return fraction * (1.0 + extra) / (1.0 + gained[..., pools.transport_source])


def _drug_constants(drug: DrugRows, theta: Array) -> dict[str, Array]:
    p = {name: theta[..., i] for name, i in drug.param.items()}
    out = {**p, "kel": LN2 / (p["half_life"] / HOURS_PER_DAY)}
    if drug.in_vitro is not None:  # in a dish the medium holds what a medium change set
        out["kel"] = 0.0 * out["kel"]
        out["assay_time"] = theta[..., drug.in_vitro[0]]
        out["quiescent"] = theta[..., drug.in_vitro[1]]
    if drug.binding is not None:
        out["sites"] = theta[..., drug.binding[0]] / AVOGADRO_PER_UM_ML
        out["kd"] = theta[..., drug.binding[1]]
    if (c := drug.carrier) is not None:
        out["kc"] = LN2 / (theta[..., c.half_life] / HOURS_PER_DAY)
        out["share"] = theta[..., c.tumour_fraction]
        out["free"] = theta[..., c.free_share]
        # the amount a dose holds per uM of its effective concentration (mL): dose unit x body
        # size = mg, / molar mass = umol, / effective uM per dose unit (concentration_per_dose)
        body = theta[..., c.body] if c.body >= 0 else 1.0
        out["dose_volume"] = body * 1.0e6 / (theta[..., c.molar_mass] * theta[..., c.per_dose])
    return out


def _factor_value(factor: Factor, theta: Array) -> Array:
    """The factor an intervention scales its rows by: its parameter, or one minus it; at a
    lifecycle step, one minus efficacy x share, relative to the vesicles still made, or the
    change in the share of MVBs released (docs/biogenesis.md)."""
    value = theta[..., factor.param]
    if not factor.complement:
        return value
    if factor.fate is not None:
        scaled, other = theta[..., factor.fate[0]], theta[..., factor.fate[1]]
        kept = 1.0 - value
        ratio = (scaled + other) / (kept * scaled + other)
        return kept * ratio if factor.fate[2] else ratio
    if factor.share >= 0:
        value = value * theta[..., factor.share]
    kept = 1.0 - value
    if factor.bulk >= 0:
        kept = kept / (1.0 - theta[..., factor.param] * theta[..., factor.bulk])
    return kept


def change_amount(change: Change, theta: Array, be: Backend) -> Array:
    """The amount of an event's state change for each parameter set."""
    amount: Array = 1.0
    for i in change.factors:
        amount = amount * theta[..., i]
    if change.largest:
        index = np.array([list(change.largest)])
        amount = amount * be.gather_max(theta, index, np.zeros(1))[..., 0]
    return 1.0 - amount if change.complement else amount


# ------------------------------------------------------------ time-dependent factors


def time_factors(model: CompiledModel, be: Backend, derived: Derived, t: Any) -> dict[str, Array]:
    """Release factor per population, loading and blocking factors per cargo, and the share
    of each uptake route left per route and population, at time ``t``."""
    key = None
    if isinstance(be, Numeric):  # piecewise constant: the same until another one begins
        factors = model.rows.factors
        kinds = (
            factors.release,
            factors.loading,
            factors.block,
            factors.route,
            factors.sorting,
            factors.export,
        )
        key = tuple(t >= f.start for kind in kinds for f in kind)
        if key in derived.cache:
            return derived.cache[key]  # type: ignore[no-any-return]
    lead = derived.theta.shape[:-1]
    sizes = {
        "release": len(model.populations),
        "loading": len(model.cargo),
        "block": len(model.cargo),
        "route": len(model.rows.routes.share) * len(model.populations),
        "sorting": len(model.cargo),
        "export": len(model.rows.drugs),
    }
    out = {}
    for kind, size in sizes.items():
        factor = be.ones((*lead, size))
        for item, value in zip(
            getattr(model.rows.factors, kind), derived.factors[kind], strict=True
        ):
            scale: Any = be.after(t, item.start, value)
            scale = scale[..., None] if np.ndim(scale) else scale
            factor = be.put(factor, item.rows, factor[..., item.rows] * scale)
        out[kind] = factor
    if key is not None:
        derived.cache[key] = out
    return out


# ------------------------------------------------------------ state-dependent quantities


@dataclass(frozen=True)
class Cells:
    """Cell counts and what follows from them alone."""

    n: Array  # (..., populations), non-negative
    per_compartment: Array  # (..., compartments)
    cancer_per_compartment: Array
    tumour_volume: Array  # (...,) interstitial volume of the tumour, mL


def cells_of(model: CompiledModel, be: Backend, derived: Derived, y: Array) -> Cells:
    lay, rows = model.layout, model.rows.cells
    n = be.positive(y[..., : lay.pools])
    to_compartment = Segments.of(rows.compartment, len(COMPARTMENTS))
    total = be.named(be.segment_sum(n, to_compartment), "cells_")
    cancer = be.named(be.segment_sum(n * rows.cancer, to_compartment), "cancer_")
    per_cell = derived.theta[..., model.rows.compartments.interstitial_volume_per_cell]
    volume = tumour_volume(
        be, total[..., TUMOUR], per_cell, derived.compartment["volume"][..., TUMOUR]
    )
    volume = be.named(be.stack([volume]), "v_tumour")[..., 0]
    return Cells(n, total, cancer, volume)


def tumour_volume(be: Backend, cells: Array, per_cell: Array, floor: Array) -> Array:
    """Interstitial volume of the tumour: it grows and shrinks with its cells (mL)."""
    return be.maximum(cells * per_cell, floor)


def compartment_volumes(be: Backend, derived: Derived, cells: Cells) -> Array:
    """Volume of each compartment (mL): fixed, except the tumour's, which follows its cells."""
    fixed = derived.compartment["volume"]
    lead = np.broadcast_shapes(fixed.shape[:-1], np.shape(cells.tumour_volume))
    if fixed.shape[:-1] != lead:
        fixed = fixed * be.ones((*lead, fixed.shape[-1]))
    return be.put(fixed, TUMOUR, cells.tumour_volume)


def background_state(model: CompiledModel, be: Backend, theta: Array) -> Array:
    """The plasma pools' healthy baseline (amounts) a state starts from: (..., variables)."""
    derived = derive(model, be, theta)
    y = 0.0 * be.ones((*theta.shape[:-1], model.layout.size))
    index = model.layout.pools + model.rows.pools.background
    return be.put(y, index, derived.pools["background"])


def volumes_over_time(model: CompiledModel, states: Array) -> Array:
    """Compartment volumes (times, compartments) along a trajectory at nominal parameters."""
    derived = derive(model, NUMERIC, model.parameters.values[None, :])
    return compartment_volumes(NUMERIC, derived, cells_of(model, NUMERIC, derived, states))


def drug_levels(
    model: CompiledModel,
    be: Backend,
    drug: DrugRows,
    y: Array,
    derived: Derived | None = None,
    cells: Cells | None = None,
) -> Array:
    """Concentration each population sees: tumour interstitium (with carrier-delivered drug)
    for tumour populations, plasma or medium for the others. Given ``derived`` and ``cells``,
    a drug that exosomes bind (``bound_by_cargo``) is what they leave free at equilibrium."""
    tumour = be.positive(y[..., drug.var["tumour"]] + y[..., drug.var["delivered"]])
    plasma = be.positive(y[..., drug.var["plasma"]])
    if drug.binding is not None and derived is not None and cells is not None:
        volume = compartment_volumes(be, derived, cells)
        sites, kd = derived.drugs[drug.name]["sites"], derived.drugs[drug.name]["kd"]
        for pools, name in ((drug.bound_tumour, "tumour"), (drug.bound_plasma, "plasma")):
            if not len(pools):
                continue
            amount = be.positive(y[..., model.layout.pools + pools])
            bound = sites * (amount / volume[..., model.rows.pools.compartment[pools]]).sum(-1)
            if name == "tumour":
                tumour = free_share(be, tumour, bound, kd)
            else:
                plasma = free_share(be, plasma, bound, kd)
    return be.where(model.rows.cells.in_tumour, tumour[..., None], plasma[..., None])


def free_share(be: Backend, total: Array, sites: Array, kd: Array) -> Array:
    """Free drug where ``sites`` (uM) bind it at equilibrium: the drug less the bound root of
    x^2 - (total + sites + kd) x + total sites = 0, in the form that cancels nothing."""
    spread = (total - sites) ** 2 + kd * (kd + 2.0 * (total + sites))
    bound = be.divide_or_zero(2.0 * total * sites, total + sites + kd + spread**0.5)
    return be.positive(total - bound)


def surface_display(model: CompiledModel, theta: Array, sorting: Array) -> Array:
    """Per cargo, its display on the membrane relative to baseline: a share of a displayed
    cargo is sorted into ILVs (``surface_sorted_share``); what sorting machinery no longer
    sorts (``sorting``: the share still sorted) stays on the surface (a conserved amount)."""
    if model.rows.factors.sorted_share < 0:  # no sorting factor: all ones
        return sorting
    sorted_share = theta[..., [model.rows.factors.sorted_share]]
    return (1.0 - sorted_share * sorting) / (1.0 - sorted_share)


def signals_of(
    model: CompiledModel,
    be: Backend,
    derived: Derived,
    y: Array,
    cells: Cells,
    factors: dict[str, Array],
) -> Array:
    """Each internal signal as its receivers sense it: internalised cargo plus contact with
    cells displaying it, less what inhibitors and antibodies block."""
    return _sensed(model, be, derived, y, cells, factors)[0]


def _sensed(
    model: CompiledModel,
    be: Backend,
    derived: Derived,
    y: Array,
    cells: Cells,
    factors: dict[str, Array],
) -> tuple[Array, list[Array]]:
    """:func:`signals_of`, and the stimulus of each held signal (``rows.signals.memory``):
    a relayed signal that its receivers hold is their state, which its stimulus primes."""
    lay, rows = model.layout, model.rows.signals
    held = {int(i) for i, _, _ in rows.memory}
    stimulus: list[Array] = []
    signal = be.positive(y[..., lay.signals : lay.activities])
    strength = derived.theta[..., model.rows.exchange.contact_signal]
    receiver_compartment = model.rows.cells.compartment[rows.pop]
    display = surface_display(model, derived.theta, factors["sorting"])
    for i, sources in rows.contact:
        total = cells.per_compartment[..., receiver_compartment[i]]
        share = be.divide_or_zero(cells.n[..., sources].sum(axis=-1), total)
        shown = strength * share * display[..., rows.cargo[i]]
        signal = be.put(signal, i, signal[..., i] + shown)
    if rows.relay:  # other cells of the compartment (acts_on)
        signal = _relays(model, be, derived, cells, signal, held, stimulus)
    signal = signal * factors["block"][..., rows.cargo]
    for blocker in rows.blockers:
        drug = next(d for d in model.rows.drugs if d.name == blocker.drug)
        conc = drug_levels(model, be, drug, y, derived, cells)[..., rows.pop[blocker.signals]]
        kd = derived.theta[..., blocker.kd][..., None]
        blocked = signal[..., blocker.signals] * (kd / (conc + kd))
        signal = be.put(signal, blocker.signals, blocked)
    if rows.decoys:
        signal = _decoyed(model, be, derived, y, cells, signal)
    return be.named(signal, "sig"), stimulus


def _priming_fluxes(
    model: CompiledModel, be: Backend, derived: Derived, y: Array, stimulus: list[Array]
) -> list[Flux]:
    """Held signals (acts_on ``memory``): primed at their rate towards their stimulus while it
    exceeds them, lost at their memory-loss rate, so priming outlasts its signal."""
    memory = model.rows.signals.memory
    if not memory:
        return []
    held, rise, loss = (np.array(column) for column in zip(*memory, strict=True))
    level = be.positive(y[..., model.layout.signals + held])
    rate = derived.theta[..., rise] * be.positive(be.stack(stimulus) - level)
    rate = rate - derived.theta[..., loss] * level
    return [Flux("priming", rate, None, model.layout.signals + held)]


def _relays(
    model: CompiledModel,
    be: Backend,
    derived: Derived,
    cells: Cells,
    signal: Array,
    held: set[int],
    stimulus: list[Array],
) -> Array:
    """Each relayed signal plus the share of its compartment's cells that relay it (weighted
    by their own signal where they relay one); a held signal's share is its stimulus instead.
    Rows go in order, in batches none of whose rows reads another's result (one gather and
    one put per batch instead of a put per row: ~2,000 fewer operations in the default
    model's compiled right-hand side)."""
    batch: list[tuple[int, Array, Array]] = []
    written: set[int] = set()
    for row in model.rows.signals.relay:
        if {int(r) for r in row[2] if r >= 0} & written:
            signal = _relay_batch(model, be, derived, cells, signal, batch, held, stimulus)
            batch, written = [], set()
        batch.append(row)
        written |= {int(row[0])} - held
    return _relay_batch(model, be, derived, cells, signal, batch, held, stimulus)


def _relay_batch(
    model: CompiledModel,
    be: Backend,
    derived: Derived,
    cells: Cells,
    signal: Array,
    batch: list[tuple[int, Array, Array]],
    held: set[int],
    stimulus: list[Array],
) -> Array:
    """:func:`_relays` for rows that read none of each other's results, all at once. A
    relayed signal passes its acting cells' signal on once: their cell-weighted mean signal
    times their share f of the compartment's cells over ``feedback_half_share``, at most the
    signal they hold themselves (reached at that share; a presence signal is their share f)."""
    rows = model.rows.signals
    targets = np.array([i for i, _, _ in batch])
    total = cells.per_compartment[..., model.rows.cells.compartment[rows.pop[targets]]]
    scale = derived.theta[..., [rows.relay_share]]
    sources = np.concatenate([s for _, s, _ in batch])
    relayed = np.concatenate([r for _, _, r in batch])
    counts = [len(s) for _, s, _ in batch]
    row = np.repeat(np.arange(len(targets)), counts)
    present = be.divide_or_zero(_per_row(be, cells.n[..., sources], row, counts), total)
    held_by_acting = signal[..., np.maximum(relayed, 0)] / be.maximum(present[..., row], scale)
    weight = be.where(relayed >= 0, held_by_acting, 1.0)
    share = be.divide_or_zero(_per_row(be, cells.n[..., sources] * weight, row, counts), total)
    stimulus.extend(share[..., k] for k, t in enumerate(targets) if int(t) in held)
    kept = np.array([k for k, t in enumerate(targets) if int(t) not in held], dtype=int)
    if kept.size:
        signal = be.put(signal, targets[kept], signal[..., targets[kept]] + share[..., kept])
    return signal


def _per_row(be: Backend, x: Array, row: Ints, counts: list[int]) -> Array:
    """Per relay row, the sum of its sources' ``x`` (rows with one source each: ``x``)."""
    if all(c == 1 for c in counts):
        return x
    return be.segment_sum(x, Segments(row, len(counts)))


UM_PER_SITE_PER_ML = 1e9 / 6.02214076e23  # one binding site per mL, in uM


def _decoyed(
    model: CompiledModel, be: Backend, derived: Derived, y: Array, cells: Cells, signal: Array
) -> Array:
    """Ligand signals (contact and exosomal PD-L1) less what decoy exosomes occupy: the free
    share Kd / (Kd + sites x C); the decoy's own signal in a receiver is what it occupies."""
    volume = compartment_volumes(be, derived, cells)
    for decoy in model.rows.signals.decoys:
        amount = be.positive(y[..., model.layout.pools + decoy.pool])
        conc = amount / volume[..., model.rows.pools.compartment[decoy.pool]]
        sites = derived.theta[..., [decoy.sites]] * conc * UM_PER_SITE_PER_ML
        kd = derived.theta[..., [decoy.kd]]
        ligand = signal[..., decoy.signals]
        signal = be.put(signal, decoy.signals, ligand * (kd / (kd + sites)))
        own = decoy.own >= 0
        if own.any():
            occupied = (ligand * (sites / (kd + sites)))[..., own]
            signal = be.put(signal, decoy.own[own], occupied)
    return signal


def behaviour_values(model: CompiledModel, be: Backend, derived: Derived, signal: Array) -> Array:
    """Every behaviour target's value for signals (..., signals): PhysiCell's rule semantics.

    One function for every solver: a batch of patients, one patient, or one row per cell.
    """
    rules, constants = model.rows.rules, derived.rules
    s = hill_terms(signal[..., rules.signal], constants["half"], constants["hill"])
    up = be.segment_sum(s[..., rules.up], rules.up_to_target)
    down = be.segment_sum(s[..., ~rules.up], rules.down_to_target)
    value = behaviour(constants["base"], constants["b_max"], constants["b_min"], up, down)
    return be.named(value, "val")


# ------------------------------------------------------------ the right-hand side


def fluxes(model: CompiledModel, be: Backend, derived: Derived, t: Any, y: Array) -> list[Flux]:
    """Every rate of the model at time ``t`` and state ``y`` (..., variables)."""
    factors = time_factors(model, be, derived, t)
    cells = cells_of(model, be, derived, y)
    if model.rows.induced:  # drugs raising their donors' release or loading
        factors = induced_factors(model, be, derived, y, cells, factors)
    signal, stimulus = _sensed(model, be, derived, y, cells, factors)
    value = behaviour_values(model, be, derived, signal)
    rates = _population_rates(model, be, derived, value)
    pools = pools_of(
        model, be, derived, y, cells, factors["route"] if model.rows.factors.route else None
    )
    left = _division_left(model, be, derived, y, cells)
    found = _cell_fluxes(
        model, be, derived, cells, value, rates, left, niche_of(model, be, y, cells)
    )
    for d, drug in enumerate(model.rows.drugs):
        kept = retained(be, derived, drug, rates["secretion"] * factors["release"], factors, d)
        found += _drug_fluxes(model, be, derived, drug, y, cells, pools, rates["survival"], kept)
    found += _exosome_fluxes(model, be, derived, y, cells, pools, rates["secretion"], factors)
    found += _priming_fluxes(model, be, derived, y, stimulus)
    return found + _activity_fluxes(model, be, derived, y, value)


def induced_factors(
    model: CompiledModel,
    be: Backend,
    derived: Derived,
    y: Array,
    cells: Cells,
    factors: dict[str, Array],
) -> dict[str, Array]:
    """``factors`` with the release of each donor population, and the loading of each cargo
    row (``induced``), raised by the drugs they are exposed to (rule ``induced_by``): by
    1 + (fold - 1) C^h / (C^h + EC50^h), C the drug level the donors see, h the drug's Hill
    power, EC50 the drug's (or the induction's own) times its resistance fold in donors that
    resist it, as for its kill."""
    release = factors["release"]
    lead = release.shape[:-1]
    loading = be.ones((*lead, len(model.rows.pools.cargo_pop)))
    for item in model.rows.induced:
        drug = model.rows.drugs[item.drug]
        k = derived.drugs[drug.name]
        level = drug_levels(model, be, drug, y, derived, cells)[..., item.pops]
        ec50 = k["ec50"] if item.ec50 < 0 else derived.theta[..., item.ec50]
        potency = ec50[..., None] * be.where(item.resistant, k["resistance_fold"][..., None], 1.0)
        fold = derived.theta[..., [item.fold]]
        raised = 1.0 + emax(level, fold - 1.0, potency, k["hill"][..., None])
        if item.loading:
            loading = be.put(loading, item.rows, loading[..., item.rows] * raised)
        else:
            release = be.put(release, item.rows, release[..., item.rows] * raised)
    return {**factors, "release": release, "induced": loading}


def niche_of(model: CompiledModel, be: Backend, y: Array, cells: Cells) -> Array:
    """Per compartment, the premetastatic niche: the cell-weighted mean activity of its niche
    populations (1 where it has none)."""
    rows = model.rows.cells
    if not len(rows.niche_pop):
        return 1.0
    n = cells.n[..., rows.niche_pop]
    level = y[..., model.layout.activities + rows.niche_activity]
    organ = Segments.of(rows.compartment[rows.niche_pop], len(COMPARTMENTS))
    raised = be.segment_sum(n * (level - 1.0), organ)
    return be.named(1.0 + be.divide_or_zero(raised, be.segment_sum(n, organ)), "niche_")


def _population_rates(
    model: CompiledModel, be: Backend, derived: Derived, value: Array
) -> dict[str, Array]:
    """Per population, the base rate or, where a rule acts, the rule-modulated value."""
    rates = {}
    for kind, name in (
        ("growth", "growth"),
        ("death", "death"),
        ("survival", "surviving"),
        ("killing", "killing"),
        ("secretion", "secreting"),
    ):
        rate = derived.cells[name]
        targets, pops = getattr(model.rows.behaviour, kind)
        if len(pops):
            rate = be.put(rate, pops, value[..., targets])
        rates[kind] = rate
    return rates


def _division_left(
    model: CompiledModel, be: Backend, derived: Derived, y: Array, cells: Cells
) -> Array:
    """Per population, the share of its division that cytostatic drugs leave (Emax growth
    inhibition: endocrine therapy, receptor-blocking antibodies)."""
    left: Array = 1.0
    for drug in model.rows.drugs:
        k = derived.drugs[drug.name]
        if "growth_inhibition" not in k or not len(drug.kill_pop):
            continue
        level = drug_levels(model, be, drug, y, derived, cells)[..., drug.kill_pop]
        fold = be.where(drug.kill_resistant, k["resistance_fold"][..., None], 1.0)
        block = emax(
            level,
            k["growth_inhibition"][..., None],
            k["ec50"][..., None] * fold,
            k["hill"][..., None],
        )
        share = be.ones((*np.shape(block)[:-1], len(model.populations)))
        left = left * be.put(share, drug.kill_pop, 1.0 - block)
    return left


def crowding(model: CompiledModel, be: Backend, derived: Derived, cells: Cells) -> Array:
    """Per population, the share of its division its compartment's crowding leaves: cancer
    cells fill a capacity (logistic), other cells are not crowded."""
    crowd = be.where(
        CROWDED, 1.0 - cells.cancer_per_compartment / derived.compartment["capacity"], 1.0
    )
    return be.where(model.rows.cells.cancer, crowd[..., model.rows.cells.compartment], 1.0)


def _effector_division(
    model: CompiledModel,
    be: Backend,
    derived: Derived,
    cells: Cells,
    rates: dict[str, Array],
    blocked: Array,
) -> tuple[Array, Array]:
    """Per effector population (``expands_when_active``), its influx and its loss to
    suppression (Kuznetsov et al., Bull Math Biol 1994; de Pillis et al., Cancer Res 2005):
    a constant source from the blood, its base division times its declared count, plus the
    division activation adds above the base rate; a signal lowering its division below the
    base rate inactivates that share of the cells instead, so it falls to a floor, not to 0."""
    pops = model.rows.cells.expanding
    n = cells.n[..., pops]
    base = derived.cells["growth"][..., pops]
    above = rates["growth"][..., pops] - base
    left = blocked[..., pops] if np.ndim(blocked) else blocked
    source = base * derived.theta[..., model.rows.cells.source]
    grown = source + be.maximum(above, 0.0) * n * left * (n / (n + 1.0))
    return grown, be.maximum(-above, 0.0) * n


def _cell_fluxes(
    model: CompiledModel,
    be: Backend,
    derived: Derived,
    cells: Cells,
    value: Array,
    rates: dict[str, Array],
    blocked: Array,
    niche: Array,
) -> list[Flux]:
    """Growth (cancer cells: logistic in the cancer cells of a compartment; ``blocked``: the
    share of division drugs leave), death, induced transitions, recruitment, killing by immune
    cells, seeding of distant organs (times ``niche``, their premetastatic niche), and the loss
    of resistance acquired from exosomes."""
    rows, behave, n = model.rows.cells, model.rows.behaviour, cells.n
    every = np.arange(len(model.populations))
    crowd = crowding(model, be, derived, cells)
    # dividing takes a whole cell: fractions of a cell (an extinct population) do not regrow
    division = rates["growth"] * n * crowd * blocked * (n / (n + 1.0))
    effector_growth, inactivation = _effector_division(model, be, derived, cells, rates, blocked)
    found = [
        Flux("growth", be.put(division, rows.expanding, effector_growth), None, every),
        Flux("death", rates["death"] * rates["survival"] * n, every, None),
        Flux("inactivation", inactivation, rows.expanding, None),
        Flux(
            "transition",
            value[..., behave.transition_target] * n[..., behave.transition_source],
            behave.transition_source,
            behave.transition_dest,
        ),
        # cells brought in by the cells that recruit them (an influx per recruiting cell)
        Flux(
            "recruitment",
            value[..., behave.recruit_target] * n[..., behave.recruit_source],
            None,
            behave.recruit_dest,
        ),
    ]
    for killer in rows.killers:
        k = n[..., killer.killer]
        rate = derived.theta[..., killer.rate] * rates["killing"][..., killer.killer]
        per_capita = rate * k / (k + n[..., killer.victims].sum(axis=-1) + 1.0)
        victims = per_capita[..., None] * n[..., killer.victims]
        found.append(Flux("immune_kill", victims, killer.victims, None))
    base = derived.theta[..., model.rows.exchange.seeding_rate][..., None]
    chosen = value[..., np.maximum(rows.seed_target, 0)] if value.shape[-1] else base
    weight = be.gather_max(derived.theta, rows.seed_weight.index, rows.seed_weight.default)
    seeding = be.where(rows.seed_target >= 0, chosen, base) * weight * n[..., rows.seed_source]
    if len(rows.niche_pop):  # a prepared niche multiplies its organ's seeding
        seeding = seeding * niche[..., rows.compartment[rows.seed_dest]]
    found.append(Flux("seeding", seeding, None, rows.seed_dest))
    # resistance acquired from exosomes fades as the signal that induced it falls
    loss = derived.theta[..., model.rows.exchange.acquired_resistance_loss][..., None]
    held = np.maximum(rows.revert_held, 0)
    induced = (
        be.divide_or_zero(value[..., held], derived.rules["b_max"][..., held])
        if value.shape[-1]
        else 0.0
    )
    kept = be.where(rows.revert_held >= 0, 1.0 - induced, 1.0)
    found.append(
        Flux(
            "reversion",
            loss * kept * n[..., rows.revert_source],
            rows.revert_source,
            rows.revert_dest,
        )
    )
    return found


@dataclass(frozen=True)
class Pools:
    """Exosome pools: amounts, volumes, uptake per receiver cell and total removal rates."""

    amount: Array  # (..., pools), non-negative
    volume: Array
    per_cell: Array  # exosomes each cell of the compartment takes up per day
    removed: Array  # uptake plus every first-order loss, per pool and day
    per_route: list[Array]  # per_cell by uptake route (the routes' sum)
    taken: Array  # uptake by all the compartment's cells, per pool and day
    fold: Array  # per signal: how much faster its receivers take its pool up (targeting)


def pools_of(
    model: CompiledModel,
    be: Backend,
    derived: Derived,
    y: Array,
    cells: Cells,
    left: Array | None = None,
) -> Pools:
    """Pool amounts and their uptake: each route takes its share of the capacity and saturates
    on the compartment's exosomes at its own half-saturation; ``left``, the share of each route
    left per route x population (an uptake blocker), lowers the uptake of those receivers."""
    lay, rows, ex = model.layout, model.rows.pools, model.rows.exchange
    amount = be.positive(y[..., lay.pools : lay.signals])
    volume = compartment_volumes(be, derived, cells)[..., rows.compartment]
    safe = np.maximum(rows.all_pool, 0)
    c_all = be.where(rows.all_pool >= 0, amount[..., safe] / volume[..., safe], 0.0)
    uptake_max = derived.theta[..., ex.uptake_max][..., None]
    unsaturated = be.where(rows.uptake, uptake_max * (amount / volume), 0.0)
    weight, half = derived.pools["route_weight"], derived.pools["route_half"]
    per_route = [
        be.named(unsaturated * weight[..., [r]] / (half[..., [r]] + c_all), f"uptake{r}_")
        for r in range(weight.shape[-1])
    ]
    per_cell = be.named(sum(per_route[1:], per_route[0]), "uptake")
    if left is None:
        taking = per_cell * cells.per_compartment[..., rows.compartment]
    else:
        to_compartment = Segments.of(model.rows.cells.compartment, len(COMPARTMENTS))
        size = len(model.populations)
        taking = sum(
            uptake
            * be.segment_sum(cells.n * left[..., r * size : (r + 1) * size], to_compartment)[
                ..., rows.compartment
            ]
            for r, uptake in enumerate(per_route)
        )
    fold = be.ones((*amount.shape[:-1], len(model.rows.signals.pop)))
    if len(rows.target_pool):  # exosomes with a ligand: bound cells take up fold x as many
        bound = derived.theta[..., rows.target_fold]
        more = (bound - 1.0) * cells.n[..., rows.target_pop]
        taking = taking + per_cell * be.segment_sum(
            more, Segments.of(rows.target_pool, len(rows.compartment))
        )
        sensing = rows.target_signal >= 0
        fold = be.put(fold, rows.target_signal[sensing], bound[..., sensing])
    removed = taking + derived.pools["total_loss"] * amount
    return Pools(amount, volume, per_cell, removed, per_route, taking, fold)


def _exosome_fluxes(
    model: CompiledModel,
    be: Backend,
    derived: Derived,
    y: Array,
    cells: Cells,
    pools: Pools,
    secreting: Array,
    factors: dict[str, Array],
) -> list[Flux]:
    """Release into pools, uptake by the compartment's cells, transport, decay, and the cargo
    each receiver population internalises."""
    lay, rows, signals = model.layout, model.rows.pools, model.rows.signals
    out = cells.n * derived.cells["secretion"] * secreting * factors["release"]
    load = derived.pools["load"] * factors["loading"][..., rows.cargo_index]
    if "induced" in factors:  # per cargo row: loading raised by a drug its donors see
        load = load * factors["induced"]
    pool = lay.pools + np.arange(len(rows.compartment))
    taking = np.flatnonzero(rows.uptake)
    sensed = np.flatnonzero(signals.pool >= 0)
    internal = lay.signals + np.arange(len(signals.pop))
    held = be.positive(y[..., lay.signals : lay.activities])
    decays = np.setdiff1d(np.arange(len(signals.pop)), [i for i, _, _ in signals.memory])
    internal_decay = derived.theta[..., model.rows.exchange.internal_decay][..., None]
    q = pools.amount
    internalised = _internalised(model, derived, pools, factors, sensed) * pools.fold[..., sensed]
    tumour = into_tumour(rows)
    moved = derived.pools["transport"] * q[..., rows.transport_source]
    moved = be.where(tumour, moved * cells.per_compartment[..., [TUMOUR]], moved)
    # what clearance delivers into the tumour is no longer lost
    delivered = be.segment_sum(
        be.where(tumour, moved, 0.0), Segments.of(rows.transport_source, len(rows.compartment))
    )
    return [
        *_vascular_release(model, be, derived, out, load),
        Flux("release", out[..., rows.release_pop], None, pool[rows.release_pool]),
        Flux(
            "cargo_release",
            out[..., rows.cargo_pop] * load,
            None,
            pool[rows.cargo_pool],
        ),
        Flux("uptake", pools.taken[..., taking], pool[taking], None),
        Flux("decay", derived.pools["decay"] * q - delivered, pool, None),
        Flux(
            "transport",
            moved,
            pool[rows.transport_source],
            np.where(rows.transport_dest >= 0, lay.pools + rows.transport_dest, -1),
        ),
        Flux("internalisation", internalised, None, internal[sensed]),
        Flux("internal_decay", (internal_decay * held)[..., decays], internal[decays], None),
        Flux("background", derived.pools["background_input"], None, pool[rows.background]),
    ]


def _vascular_release(
    model: CompiledModel, be: Backend, derived: Derived, out: Array, load: Array
) -> list[Flux]:
    """The share of the release of cells in the tumour and in the organs metastases grow in
    (``out``: per population; ``load``: per cargo row) that enters the blood at the vessels
    instead of the interstitium."""
    lay, rows, vessels = model.layout, model.rows.pools, model.rows.vessels
    if not len(vessels.source):
        return []
    size = len(rows.compartment)
    inflow = be.segment_sum(out[..., rows.release_pop], Segments.of(rows.release_pool, size))
    if len(rows.cargo_pop):
        loaded = out[..., rows.cargo_pop] * load
        inflow = inflow + be.segment_sum(loaded, Segments.of(rows.cargo_pool, size))
    share = derived.theta[..., model.rows.exchange.tumour_vascular_release][..., None]
    dest = np.where(vessels.dest >= 0, lay.pools + vessels.dest, -1)
    rate = share * inflow[..., vessels.source]
    return [Flux("vascular_release", rate, lay.pools + vessels.source, dest)]


def _internalised(
    model: CompiledModel, derived: Derived, pools: Pools, factors: dict[str, Array], sensed: Ints
) -> Array:
    """The cargo each sensing population internalises into its cytoplasm per cell and day:
    every route's uptake times its cytoplasmic share, relative to the nominal mix of routes
    (the signal the rules' half-max values were set for), less any route blocked in it."""
    signals, size = model.rows.signals, len(model.populations)
    pool, pop = signals.pool[sensed], signals.pop[sensed]
    share = derived.pools["route_signal"]
    found = []
    for r, uptake in enumerate(pools.per_route):
        delivered = share[..., [r]] * uptake[..., pool]
        if model.rows.factors.route:  # an uptake route blocked in some receivers
            delivered = delivered * factors["route"][..., r * size + pop]
        found.append(delivered)
    return sum(found[1:], found[0])


def _activity_fluxes(
    model: CompiledModel, be: Backend, derived: Derived, y: Array, value: Array
) -> list[Flux]:
    """Activity levels relax towards their rule-modulated value (1 without a rule)."""
    lay, targets = model.layout, model.rows.behaviour.activity_target
    if not len(targets):
        return []
    chosen = value[..., np.maximum(targets, 0)] if value.shape[-1] else 1.0
    level = be.where(targets >= 0, chosen, 1.0)
    relax = derived.theta[..., model.rows.exchange.activity_relaxation][..., None]
    variables = lay.activities + np.arange(len(targets))
    return [Flux("activity", relax * (level - y[..., variables]), None, variables)]


def _drug_fluxes(
    model: CompiledModel,
    be: Backend,
    derived: Derived,
    drug: DrugRows,
    y: Array,
    cells: Cells,
    pools: Pools,
    surviving: Array,
    kept: Array = 1.0,
) -> list[Flux]:
    """Killing (Emax, lowered in cells a survival signal protects, on the drug the cells keep
    against vesicular export), pharmacokinetics, an exosome carrier, drug bound and carried
    off by exosomes, and the exposure and kill counters."""
    k, v = derived.drugs[drug.name], drug.var
    level = drug_levels(model, be, drug, y, derived, cells)[..., drug.kill_pop] * kept
    fold = be.where(drug.kill_resistant, k["resistance_fold"][..., None], 1.0)
    potency = k["ec50"][..., None] * fold
    killed = emax(level, k["kill_max"][..., None], potency, k["hill"][..., None])
    if drug.in_vitro is not None:
        in_vitro = _in_vitro_kill(model, be, derived, drug, cells, level, potency)
        killed = be.where(drug.ic50_kill, in_vitro, killed)
    killed = killed * cells.n[..., drug.kill_pop] * surviving[..., drug.kill_pop] * drug.kill_active
    counted = drug.kill_counted
    cp, ct = y[..., v["plasma"]], y[..., v["tumour"]]

    def one(name: str, rate: Array, source: int | None, target: int | None) -> Flux:
        return Flux(name, be.stack([rate]), source, target)

    found = [
        Flux("drug_kill", killed, drug.kill_pop, None),
        Flux(
            "drug_killed",
            killed[..., counted],
            None,
            v["killed"],
        ),
        one("elimination", k["kel"] * cp, v["plasma"], None),
        one("tumour_exchange", k["tumour_exchange"] * (cp - ct), None, v["tumour"]),
        one("exposure", be.positive(cp), None, v["offtarget_auc"]),
    ]
    if drug.binding is not None:
        found += _binding(drug, be, k, pools, cp, ct)
    if drug.carrier is not None:
        x, delivered = y[..., v["carrier"]], y[..., v["delivered"]]
        # as exosomes from plasma: the tumour takes a share per tumour cell of what the carrier
        # releases (a mouse tumour's share, scaled to the patient), an amount that dilutes into
        # the tumour's volume; so the concentration does not grow as the tumour shrinks
        scale = derived.theta[..., model.rows.compartments.mouse_to_patient_tumour_share]
        weight = k["share"] * scale * cells.per_compartment[..., TUMOUR]
        share = 1.0 - be.maximum(1.0 - weight, 0.0)  # at most all of it
        amount = k["kc"] * x * k["dose_volume"]  # released per day, uM x mL (nmol)
        found += [
            one("carrier_release", k["kc"] * x, v["carrier"], None),
            one(
                "carrier_delivery",
                share * amount / cells.tumour_volume,
                None,
                v["delivered"],
            ),
            one("delivered_elimination", k["kel"] * delivered, v["delivered"], None),
            # the rest leaves with its exosomes into liver and spleen macrophages, which
            # metabolise part of it: the free share returns to plasma as free drug, which
            # counts as exposure and reaches the tumour by exchange as free drug does
            one(
                "carrier_offtarget",
                k["kc"] * (1.0 - share) * k["free"] * x,
                None,
                v["plasma"],
            ),
        ]
    return found


def _in_vitro_kill(
    model: CompiledModel,
    be: Backend,
    derived: Derived,
    drug: DrugRows,
    cells: Cells,
    level: Array,
    ic50: Array,
) -> Array:
    """Kill of cultured cells at the medium's ``level`` (per killed population): as the
    drug's in-vitro IC50 (``ic50``: times the fold in resistant cells) says for growing
    cells, falling with the division that confluence leaves to ``quiescent`` of it."""
    k = derived.drugs[drug.name]
    rate = ic50_kill(level, ic50, k["hill"][..., None], k["assay_time"][..., None], be.log)
    dividing = be.positive(crowding(model, be, derived, cells)[..., drug.kill_pop])
    quiescent = k["quiescent"][..., None]
    return rate * (quiescent + (1.0 - quiescent) * dividing)


def retained(
    be: Backend, derived: Derived, drug: DrugRows, release: Array, factors: dict[str, Array], d: int
) -> Array:
    """Per killed population, the share of the drug it keeps against vesicular export
    (data/drug_export.yaml): 1 / (1 + r e), with e = share / (1 - share) the vesicular efflux
    relative to the other routes at basal release and r the population's release (``release``:
    rule-modulated secretion x release factors, per population) times the share of the drug
    still loaded into its vesicles."""
    if drug.export < 0 or not drug.exporting.any():
        return 1.0
    share = derived.theta[..., drug.export][..., None]
    r = release[..., drug.kill_pop] * factors["export"][..., [d]]
    ratio = be.where(drug.exporting, share / (1.0 - share), 0.0)
    return 1.0 / (1.0 + r * ratio)


def _binding(
    drug: DrugRows, be: Backend, k: dict[str, Array], pools: Pools, cp: Array, ct: Array
) -> list[Flux]:
    """Exosomes bearing a cargo that binds the drug carry bound drug away as they are taken up
    or cleared: a loss of removal x sites x occupancy."""
    found = []
    for name, bound, conc, var in (
        ("binding_plasma", drug.bound_plasma, cp, drug.var["plasma"]),
        ("binding_tumour", drug.bound_tumour, ct, drug.var["tumour"]),
    ):
        c = be.positive(conc)[..., None]
        occupied = k["sites"][..., None] * c / (c + k["kd"][..., None])
        rate = pools.removed[..., bound] / pools.volume[..., bound] * occupied
        found.append(Flux(name, rate, var, None))
    return found


# ------------------------------------------------------------ numbers


class Derivative:
    """dy/dt from fluxes (numbers only): what each flux takes from its source and adds to its
    target, summed per variable. The flux pattern of a model never changes, so the scatter
    indices are gathered once."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.into: Any = None

    def __call__(self, found: list[Flux]) -> Any:
        rates = np.concatenate([np.asarray(f.rate, dtype=float) for f in found], axis=-1)
        if self.into is None:
            target = np.concatenate([f.rows(f.target) for f in found])
            source = np.concatenate([f.rows(f.source) for f in found])
            self.into, self.out = np.flatnonzero(target >= 0), np.flatnonzero(source >= 0)
            self.targets = Segments(target[self.into], self.size)
            self.sources = Segments(source[self.out], self.size)
        gained = NUMERIC.segment_sum(rates[..., self.into], self.targets)
        return gained - NUMERIC.segment_sum(rates[..., self.out], self.sources)
