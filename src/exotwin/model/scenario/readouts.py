"""Readouts (named quantities over time) and checks (comparisons between arms or days)."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ...knowledge import KnowledgeBase
from ..ode.equations import (
    NUMERIC,
    background_state,
    behaviour_values,
    cells_of,
    derive,
    signals_of,
    surface_display,
    time_factors,
    volumes_over_time,
)
from ..ode.solve import Trajectory
from ..rules.library import Library
from ..rules.rows import CompiledModel
from ..rules.table import (
    ALL_EXOSOMES,
    COMPARTMENTS,
    Death,
    Growth,
    Killing,
    Secretion,
    Seeding,
    Survival,
    Target,
)
from .schema import DEFAULT_MIN_EFFECT, Check, Readout, Scenario

Series = NDArray[np.float64]
OPS = {">": operator.gt, "<": operator.lt, ">=": operator.ge, "<=": operator.le}


@dataclass(frozen=True)
class _Run:
    """What a readout reads: the trajectory, compartment volumes over time, earlier readouts."""

    kb: KnowledgeBase
    traj: Trajectory
    volumes: Series
    values: dict[str, Series]

    def zeros(self) -> Series:
        return np.zeros(len(self.traj.times))

    def cells(self, selector: object) -> Series:
        """Cells of the selected populations; fewer than one cell is none (extinct)."""
        model = self.traj.model
        idx = [p.index for p in model.populations if model.selects(self.kb, selector, p)]  # type: ignore[arg-type]
        total = self.traj.states[:, idx].sum(axis=1) if idx else self.zeros()
        return np.where(total < 1.0, 0.0, total)


def _count(run: _Run, r: Readout) -> Series:
    return run.cells(r.of)


def _fraction(run: _Run, r: Readout) -> Series:
    num, den = run.cells(r.of), run.cells(r.among)
    # fewer than one cell is an extinct population: its fraction is reported as 0
    return np.divide(num, den, out=np.zeros_like(num), where=den >= 1.0)


def _pools(run: _Run, r: Readout) -> list[int]:
    """State variables of a cargo's pools (all exosomes when it names none) in a compartment."""
    model, pools = run.traj.model, run.traj.layout.pools
    molecule = run.kb.find_molecule(r.cargo or "")
    cargo = molecule.id if molecule else ALL_EXOSOMES
    return [
        pools + i
        for (key, comp), i in model.pools.items()
        if model.pool_cargo[key] == cargo and comp == r.compartment
    ]


def _exosomes(run: _Run, r: Readout) -> Series:
    """Copies of a cargo (exosomes, when it names none) per mL of a compartment; in plasma
    with the healthy baseline from blood cells."""
    idx = _pools(run, r)
    total = np.maximum(run.traj.states[:, idx].sum(axis=1), 0.0) if idx else run.zeros()
    return total / run.volumes[:, COMPARTMENTS.index(r.compartment or "tumour")]


def _tumour_derived(run: _Run, r: Readout) -> Series:
    """The share of a cargo's copies in a compartment above the healthy baseline: those the
    tumour and its microenvironment release."""
    idx = _pools(run, r)
    if not idx:
        return run.zeros()
    baseline = background_state(run.traj.model, NUMERIC, run.traj.model.parameters.values)
    total = np.maximum(run.traj.states[:, idx].sum(axis=1), 0.0)
    extra = np.maximum(total - float(baseline[idx].sum()), 0.0)
    return np.divide(extra, total, out=np.zeros_like(total), where=total > 0)


def _drug(run: _Run, r: Readout) -> Series:
    """A drug's concentration, the cells it killed, or its off-target exposure (AUC)."""
    lay, y = run.traj.layout, run.traj.states
    drug = run.kb.find_molecule(r.drug or "").id  # type: ignore[union-attr]
    if drug not in lay.drug_index:
        return run.zeros()
    if r.kind == "drug":  # concentrations never read below zero
        plasma = y[:, lay.drug(drug, "plasma")]
        tumour = y[:, lay.drug(drug, "tumour")] + y[:, lay.drug(drug, "delivered")]
        return np.maximum(tumour if r.compartment == "tumour" else plasma, 0.0)
    return np.maximum(
        y[:, lay.drug(drug, "killed" if r.kind == "killed" else "offtarget_auc")], 0.0
    )


def _activity(run: _Run, r: Readout) -> Series:
    """A phenotype's activity averaged over the selected populations, weighted by their cells;
    where the selected cells carry it as a rate, not as an activity level, that rate's fold."""
    model, y, start = run.traj.model, run.traj.states, run.traj.layout.activities
    weights, levels = [], []
    for (phenotype, pop), i in model.activities.items():
        if phenotype == r.phenotype and model.selects(run.kb, r.of, model.populations[pop]):  # type: ignore[arg-type]
            weights.append(y[:, pop])
            levels.append(y[:, start + i])
    if not levels:
        return _rate_fold(run, r)
    w = np.array(weights)
    total = w.sum(axis=0)
    mean = (w * np.array(levels)).sum(axis=0)
    return np.divide(mean, total, out=np.ones(len(run.traj.times)), where=total > 0)


RATE_TARGETS: dict[str, tuple[type, ...]] = {
    "growth": (Growth,),
    "death": (Death,),
    "survival": (Survival,),
    "killing": (Killing,),
    "secretion": (Secretion,),
    "motility": (Seeding,),
    "seeding": (Seeding,),
}


def _rate_fold(run: _Run, r: Readout) -> Series:
    """A phenotype whose behaviour is a rate in the selected cells (T-cell activity is their
    killing, EMT of tumour cells their seeding): the fold by which the rules move that rate
    from its base, averaged over the rates, weighted by the cells acting (1 = baseline;
    1 where no rule reaches them). Nominal parameters, as ``tumour_derived``. A survival
    phenotype's rate is the death rate it lowers, so it reads as the inverse of that fold
    (the fold of the cells' expected lifetime): more survival reads higher."""
    model, y = run.traj.model, run.traj.states
    behaviour = run.kb.phenotypes[r.phenotype or ""].behaviour or ""
    kinds = RATE_TARGETS.get(behaviour, ())
    pops = {p.index for p in model.populations if model.selects(run.kb, r.of, p)}  # type: ignore[arg-type]
    acting = _rate_targets(model, kinds, pops)
    if not acting:
        return np.ones(len(run.traj.times))
    columns = list(acting)
    derived = derive(model, NUMERIC, model.parameters.values[None, :])
    base = np.asarray(derived.rules["base"])[0, columns]
    weight = np.array([y[:, sorted(acting[c])].sum(axis=1) for c in columns]).T
    fold = np.empty((len(run.traj.times), len(columns)))
    for k, t in enumerate(run.traj.times):
        state = y[k][None, :]
        factors = time_factors(model, NUMERIC, derived, t)
        cells = cells_of(model, NUMERIC, derived, state)
        signal = signals_of(model, NUMERIC, derived, state, cells, factors)
        value = np.asarray(behaviour_values(model, NUMERIC, derived, signal))[0, columns]
        if behaviour == "survival":
            fold[k] = np.divide(base, value, out=np.ones(len(columns)), where=value > 0)
        else:
            fold[k] = np.divide(value, base, out=np.ones(len(columns)), where=base > 0)
    total = weight.sum(axis=1)
    mean = (weight * fold).sum(axis=1)
    return np.divide(mean, total, out=np.ones(len(total)), where=total > 0)


def _rate_targets(
    model: CompiledModel, kinds: tuple[type, ...], pops: set[int]
) -> dict[int, set[int]]:
    """Rule targets of the given kinds that act in the selected populations (a per-population
    rate of one of them, or seeding driven by a signal they receive): column -> populations."""
    targets: tuple[Target, ...] = model.rows.rules.targets
    receivers: dict[int, set[int]] = {}
    for (_, receiver), i in model.signals.items():
        receivers.setdefault(i, set()).add(receiver)
    acting: dict[int, set[int]] = {}
    for term in model.terms:
        if not isinstance(term.target, kinds) or term.target not in targets:
            continue
        own = getattr(term.target, "pop", None)  # Seeding acts through its receivers
        found = ({own} if own is not None else receivers.get(term.signal, set())) & pops
        if found:
            acting.setdefault(targets.index(term.target), set()).update(found)
    return acting


def tracks(kb: KnowledgeBase, model: CompiledModel, r: Readout, rates: bool = True) -> bool:
    """Whether an arm's model carries an ``activity`` readout's phenotype in the cells it
    selects: as an activity level, or (``rates``: the compartment engine) as a rate a rule
    moves in them. Where no arm does, the readout would read a constant 1: not simulated."""
    pops = {p.index for p in model.populations if model.selects(kb, r.of, p)}  # type: ignore[arg-type]
    if any(ph == r.phenotype and pop in pops for ph, pop in model.activities):
        return True
    kinds = RATE_TARGETS.get(kb.phenotypes[r.phenotype or ""].behaviour or "", ())
    return rates and bool(_rate_targets(model, kinds, pops))


def untracked_reason(lib: Library, models: list[CompiledModel], r: Readout) -> str:
    """Why no arm simulates an ``activity`` readout (one line, for a scenario error)."""
    of = r.of
    cells = " ".join(x for x in (of.state, of.cell) if x) if of else ""
    where = f" in {of.compartment}" if of and of.compartment else ""
    why = (
        f"not simulated: no rule of this scenario sets {r.phenotype} in the cells it selects "
        f"({cells or 'all cells'}{where}), as an activity level or as a rate"
    )
    used = {rule for m in models for rule in m.structure.rules_used}
    left = [
        f"rule {rule} leaves it out: {lib.rules[rule].omit[r.phenotype or '']}"
        for rule in sorted(used)
        if r.phenotype in lib.rules[rule].omit
    ]
    return "; ".join([why, *left])


def _surface(run: _Run, r: Readout) -> Series:
    """A membrane cargo displayed by the selected populations, per cell relative to baseline
    (weighted by their cells; 0 where none displays it): what sorting machinery no longer
    takes into exosomes stays on the surface (nominal parameters, as ``tumour_derived``)."""
    model, y = run.traj.model, run.traj.states
    molecule = run.kb.find_molecule(r.cargo or "")
    name = molecule.id if molecule else ""
    pops = [
        p.index
        for p in model.populations
        if name in model.structure.surface.get(p.index, []) and model.selects(run.kb, r.of, p)  # type: ignore[arg-type]
    ]
    if not pops or name not in model.cargo:
        return run.zeros() if not pops else np.ones(len(run.traj.times))
    derived = derive(model, NUMERIC, model.parameters.values[None, :])
    row = model.cargo.index(name)
    display = np.array(
        [
            surface_display(
                model, derived.theta, time_factors(model, NUMERIC, derived, t)["sorting"]
            )[0, row]
            for t in run.traj.times
        ]
    )
    cells = y[:, pops].sum(axis=1)
    return np.where(cells > 0, display, 0.0)


def _internalised(run: _Run, r: Readout) -> Series:
    """The exosomes carrying a cargo that each selected cell holds internalised (the dose a
    receiver gets, before contact, relays and blockers), weighted by the selected populations'
    cells; 0 where none of them takes the cargo up or fewer than one cell is left. Every cell of
    a compartment takes exosomes up alike unless an intervention or a ligand sets it apart, so
    cells without a signal of their own hold what the compartment's receivers hold per cell
    (the model keeps one variable for them: rules/prune.py)."""
    model, y, start = run.traj.model, run.traj.states, run.traj.layout.signals
    molecule = run.kb.find_molecule(r.cargo or "")
    cargo = molecule.id if molecule else ""
    of = r.of
    assert of is not None  # required at load
    own: dict[tuple[str, int], int] = {}
    place: dict[tuple[str, str], int] = {}  # (cargo key, compartment) -> its first signal
    for (key, pop), i in sorted(model.signals.items(), key=lambda kv: kv[1]):
        if model.pool_cargo.get(key) == cargo:
            own[key, pop] = i
            place.setdefault((key, model.populations[pop].compartment), i)
    held: dict[int, Series] = {}
    for p in model.populations:
        if not model.selects(run.kb, of, p):
            continue
        for (key, compartment), i in place.items():
            if compartment == p.compartment:
                signal = y[:, start + own.get((key, p.index), i)]
                held[p.index] = held.get(p.index, run.zeros()) + np.maximum(signal, 0.0)
    if not held:
        return run.zeros()
    cells = np.array([y[:, pop] for pop in held])
    total = cells.sum(axis=0)
    mean = (cells * np.array(list(held.values()))).sum(axis=0)
    return np.divide(mean, total, out=run.zeros(), where=total >= 1.0)


def _ratio(run: _Run, r: Readout) -> Series:
    num, den = run.values[r.numerator or ""], run.values[r.denominator or ""]
    return np.divide(num, den, out=np.full_like(num, np.nan), where=den != 0)


_KINDS: dict[str, Callable[[_Run, Readout], Series]] = {
    "count": _count,
    "fraction": _fraction,
    "exosomes": _exosomes,
    "tumour_derived": _tumour_derived,
    "drug": _drug,
    "killed": _drug,
    "offtarget_exposure": _drug,
    "activity": _activity,
    "surface": _surface,
    "internalised": _internalised,
    "ratio": _ratio,
}


def evaluate(
    kb: KnowledgeBase,
    traj: Trajectory,
    readouts: list[Readout],
    measure: Callable[[Readout, Series], Series] | None = None,
) -> dict[str, Series]:
    """Every readout of a scenario over the trajectory's times; ``measure`` turns a value into
    what an assay reads (scenario/assay.py), before ratios read it."""
    y = traj.states
    volumes = volumes_over_time(traj.model, y) if len(y) else np.zeros((0, len(COMPARTMENTS)))
    run = _Run(kb, traj, volumes, {})
    for r in readouts:
        value = _KINDS[r.kind](run, r)
        run.values[r.name] = measure(r, value) if measure is not None else value
    return run.values


NOISE_FLOOR = {
    "count": 1.0,
    "fraction": 1e-6,
    "exosomes": 1.0,
    "tumour_derived": 1e-9,
    "drug": 1e-9,
    "activity": 1e-6,
    "surface": 1e-6,
    "internalised": 1e-3,
    "killed": 1.0,
    "offtarget_exposure": 1e-9,
    "ratio": 1e-9,
}


def relative_difference(readout: Readout, a: Series, b: Series) -> float:
    """Largest difference between two runs of a readout, relative to its range (values below
    a noise floor per kind, e.g. one cell or one exosome per mL, count as that floor)."""
    scale = max(float(np.nanmax(np.abs(a))), NOISE_FLOOR[readout.kind])
    return float(np.nanmax(np.abs(a - b))) / scale


def value_at(times: Series, series: Series, day: float) -> float:
    """The readout at a day (linear interpolation between output times)."""
    return float(np.interp(day, times, series))


SOLVER_NOISE = 1e-4  # relative differences below this are the solver's, never an effect


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    claim: str
    left: dict[str, object]
    right: dict[str, object]
    op: str
    factor: float
    effect: float = math.nan  # relative effect in the claimed direction (0.1: 10 % beyond)
    min_effect: float = DEFAULT_MIN_EFFECT
    by_construction: bool = False  # the compared side is zero throughout: nothing to beat
    known_failure: str = ""  # why the model does not yet reproduce this claim

    @property
    def ok(self) -> bool:
        """Passed, or a known failure (a claim the model is documented not to reproduce)."""
        return self.passed or bool(self.known_failure)

    def describe(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        if self.known_failure:
            verdict = "UNEXPECTED PASS" if self.passed else "KNOWN FAIL"
        factor = f"{self.factor:g} x " if self.factor != 1 else ""
        size = (
            f" (effect {self.effect:+.1%}, at least {self.min_effect:.0%} needed)"
            if math.isfinite(self.effect)
            else ""
        )
        flag = (
            " [holds by construction: the compared side is zero throughout]"
            if self.by_construction
            else ""
        )
        if self.known_failure and not self.passed:
            flag += f" [not yet reproduced: {self.known_failure}]"
        return (
            f"{verdict} {self.name}: {_describe(self.left)} {self.op} {factor}"
            f"{_describe(self.right)}{size}{flag}"
        )


def _describe(side: dict[str, object]) -> str:
    if "arm" not in side:
        return f"{side['value']:.4g}"
    where = f"{side['readout']}[{side['arm']}, day {side['day']:g}]"
    if "relative_to" in side:
        where += f" / {side['readout']}[{side['relative_to']}, day {side['day']:g}]"
    return f"{where} = {side['value']:.4g}"


def run_checks(
    scenario: Scenario,
    times: dict[str, Series],
    values: dict[str, dict[str, Series]],
    noise: Callable[[Check], float] | None = None,
) -> list[CheckResult]:
    """Every check of a scenario; ``noise`` gives the smallest effect a check's measurements
    resolve (an assay's noise, scenario/assay.py), which its effect must also reach."""
    results = []
    for check in scenario.checks:
        results.append(_check(check, times, values, noise(check) if noise else 0.0))
    return results


def _side(
    times: dict[str, Series],
    values: dict[str, dict[str, Series]],
    arm: str,
    day: float,
    readout: str,
    relative_to: str | None,
) -> dict[str, object]:
    value = value_at(times[arm], values[arm][readout], day)
    side: dict[str, object] = {"arm": arm, "day": day, "readout": readout, "value": value}
    if relative_to is not None:
        reference = value_at(times[relative_to], values[relative_to][readout], day)
        ratio = value / reference if reference else float("nan")
        side |= {"relative_to": relative_to, "raw": value, "reference": reference, "value": ratio}
    return side


def _check(
    check: Check, times: dict[str, Series], values: dict[str, dict[str, Series]], noise: float
) -> CheckResult:
    left = _side(times, values, check.arm, check.day, check.readout, check.relative_to)
    other = check.than
    constant = other.value is not None
    if constant:
        right: dict[str, object] = {"value": other.value}
        arm, readout = check.arm, check.readout
    else:
        arm = other.arm or check.arm
        readout = other.readout or check.readout
        day = other.day if other.day is not None else check.day
        right = _side(times, values, arm, day, readout, other.relative_to)
    a, b = float(left["value"]), check.factor * float(right["value"])  # type: ignore[arg-type]
    effect = _effect(check.op, a, b)
    needed = DEFAULT_MIN_EFFECT if check.min_effect is None else check.min_effect
    needed = max(needed, noise)
    passed = bool(OPS[check.op](a, b))
    if check.op in {">", "<"}:  # a strict claim needs an effect of the stated size
        passed = passed and effect >= max(needed, SOLVER_NOISE)
    zero = not constant and not np.any(values[arm][readout])
    return CheckResult(
        check.name,
        passed,
        check.claim,
        left,
        right,
        check.op,
        check.factor,
        effect,
        needed,
        zero,
        check.known_failure,
    )


def _effect(op: str, a: float, b: float) -> float:
    """How far ``a`` lies beyond ``b`` in the claimed direction, relative to ``b`` (or, when
    ``b`` is zero, to ``a``: any non-zero value is then a full effect)."""
    sign = 1.0 if op in {">", ">="} else -1.0
    scale = abs(b) if b != 0 else abs(a)
    if not math.isfinite(a) or not math.isfinite(b) or scale == 0:
        return math.nan if not (math.isfinite(a) and math.isfinite(b)) else 0.0
    return sign * (a - b) / scale
