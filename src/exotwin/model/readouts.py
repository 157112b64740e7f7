"""Readouts (named quantities over time) and checks (comparisons between arms or days)."""

from __future__ import annotations

import operator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..knowledge import KnowledgeBase
from .compiler import ALL_EXOSOMES
from .schema import Check, Readout, Scenario
from .simulate import Trajectory, selects

Series = NDArray[np.float64]
OPS = {">": operator.gt, "<": operator.lt, ">=": operator.ge, "<=": operator.le}


def _cells(kb: KnowledgeBase, traj: Trajectory, selector: object) -> Series:
    idx = [p.index for p in traj.model.populations if selects(kb, selector, p)]  # type: ignore[arg-type]
    return traj.states[:, idx].sum(axis=1) if idx else np.zeros(len(traj.times))


def evaluate(
    kb: KnowledgeBase, traj: Trajectory, readouts: list[Readout], volumes: dict[str, float]
) -> dict[str, Series]:
    """Every readout of a scenario over the trajectory's times."""
    model, lay, y = traj.model, traj.layout, traj.states
    values: dict[str, Series] = {}
    for r in readouts:
        if r.kind == "count":
            values[r.name] = _cells(kb, traj, r.of)
        elif r.kind == "fraction":
            num, den = _cells(kb, traj, r.of), _cells(kb, traj, r.among)
            values[r.name] = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
        elif r.kind == "exosomes":
            molecule = kb.find_molecule(r.cargo or "")
            cargo = molecule.id if molecule else ALL_EXOSOMES
            idx = [
                i
                for (key, comp), i in model.pools.items()
                if model.pool_cargo[key] == cargo and comp == r.compartment
            ]
            total = (
                y[:, [lay.pools + i for i in idx]].sum(axis=1) if idx else np.zeros(len(traj.times))
            )
            values[r.name] = total / volumes[r.compartment or "tumour"]
        elif r.kind in {"drug", "killed", "offtarget_exposure"}:
            drug = kb.find_molecule(r.drug or "").id  # type: ignore[union-attr]
            if drug not in lay.drug_index:
                values[r.name] = np.zeros(len(traj.times))
            elif r.kind == "drug":
                plasma = y[:, lay.drug(drug, "plasma")]
                tumour = y[:, lay.drug(drug, "tumour")] + y[:, lay.drug(drug, "delivered")]
                values[r.name] = tumour if r.compartment == "tumour" else plasma
            else:
                var = "killed" if r.kind == "killed" else "offtarget_auc"
                values[r.name] = y[:, lay.drug(drug, var)]
        elif r.kind == "activity":
            weights, levels = [], []
            for (phenotype, pop), i in model.activities.items():
                if phenotype == r.phenotype and selects(kb, r.of, model.populations[pop]):  # type: ignore[arg-type]
                    weights.append(y[:, pop])
                    levels.append(y[:, lay.activities + i])
            if levels:
                w = np.array(weights)
                total = w.sum(axis=0)
                mean = (w * np.array(levels)).sum(axis=0)
                values[r.name] = np.divide(
                    mean, total, out=np.ones(len(traj.times)), where=total > 0
                )
            else:
                values[r.name] = np.ones(len(traj.times))
        elif r.kind == "ratio":
            num, den = values[r.numerator or ""], values[r.denominator or ""]
            values[r.name] = np.divide(num, den, out=np.full_like(num, np.nan), where=den != 0)
    return values


def value_at(times: Series, series: Series, day: float) -> float:
    """The readout at a day (linear interpolation between output times)."""
    return float(np.interp(day, times, series))


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    claim: str
    left: dict[str, object]
    right: dict[str, object]
    op: str
    factor: float

    def describe(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        return (
            f"{verdict} {self.name}: {self.left['readout']}[{self.left['arm']}, day "
            f"{self.left['day']:g}] = {self.left['value']:.4g} {self.op} "
            + (f"{self.factor:g} x " if self.factor != 1 else "")
            + (
                f"{self.right['readout']}[{self.right['arm']}, day {self.right['day']:g}] = "
                if self.right.get("arm")
                else ""
            )
            + f"{self.right['value']:.4g}"
        )


def run_checks(
    scenario: Scenario, times: dict[str, Series], values: dict[str, dict[str, Series]]
) -> list[CheckResult]:
    results = []
    for check in scenario.checks:
        results.append(_check(check, times, values))
    return results


def _check(
    check: Check, times: dict[str, Series], values: dict[str, dict[str, Series]]
) -> CheckResult:
    left_value = value_at(times[check.arm], values[check.arm][check.readout], check.day)
    left = {"arm": check.arm, "day": check.day, "readout": check.readout, "value": left_value}
    other = check.than
    if other.value is not None:
        right: dict[str, object] = {"value": other.value}
        right_value = other.value
    else:
        arm = other.arm or check.arm
        day = other.day if other.day is not None else check.day
        readout = other.readout or check.readout
        right_value = value_at(times[arm], values[arm][readout], day)
        right = {"arm": arm, "day": day, "readout": readout, "value": right_value}
    passed = bool(OPS[check.op](left_value, check.factor * right_value))
    return CheckResult(check.name, passed, check.claim, left, right, check.op, check.factor)
