"""Global sensitivity of a scenario readout: Sobol (Saltelli sampling) or Morris, via SALib."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from os import PathLike
from typing import Literal

import numpy as np

from ...errors import SensitivityError as SensitivityError
from ...errors import did_you_mean
from ...knowledge import KnowledgeBase
from ..ode.solve import simulate_arm
from ..rules.compiler import compile_arm
from ..rules.library import Library
from ..rules.schema import Param
from ..scenario.readouts import evaluate, value_at
from ..scenario.schema import Scenario
from .robust import Path, uncertain_parameters, with_values


def relevant_parameters(
    kb: KnowledgeBase, lib: Library, scenario: Scenario, arm: str
) -> list[tuple[Path, Param]]:
    """Uncertain parameters that the arm's compiled model reads: global ones, its drugs'
    and its rules' own."""
    model = compile_arm(kb, lib, scenario, _arm(scenario, arm))
    used_rules, used_drugs = set(model.rules_used), set(model.drugs)
    return [
        (path, p)
        for path, p in uncertain_parameters(lib)
        if path[0] == "parameters"
        or (path[0] == "drugs" and path[1] in used_drugs)
        or (path[0] == "rules" and path[1] in used_rules)
    ]


def _arm(scenario: Scenario, name: str):  # type: ignore[no-untyped-def]
    for arm in scenario.arms:
        if arm.name == name:
            return arm
    arms = [a.name for a in scenario.arms]
    raise SensitivityError(f"no arm {name!r} in {scenario.id}{did_you_mean(name, arms)}")


@dataclass(frozen=True)
class Indices:
    method: str
    readout: str
    arm: str
    day: float
    names: list[str]
    first: list[float]  # S1 (Sobol) or mu* (Morris)
    first_conf: list[float]
    total: list[float]  # ST (Sobol) or sigma (Morris)
    total_conf: list[float]
    runs: int


def _label(path: Path) -> str:
    section, ident, field = path
    return ident if section == "parameters" else f"{ident}.{field}"


def analyse(
    kb: KnowledgeBase,
    lib: Library,
    scenario: Scenario,
    arm: str,
    readout: str,
    day: float,
    method: Literal["sobol", "morris"] = "sobol",
    n: int = 64,
    seed: int = 0,
    parameters: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Indices:
    """Sensitivity indices of ``readout`` at ``day`` in ``arm`` to the chosen parameters.

    Sobol: first-order and total indices with 95% bootstrap half-widths (N (2d + 2) runs).
    Morris: mu* (mean absolute elementary effect) and sigma (r (d + 1) runs, r = n).
    Ranges spanning more than a decade are explored on a log scale.
    """
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    if not 0 <= day <= scenario.duration:
        raise SensitivityError(
            f"--day {day:g} lies outside the scenario's 0..{scenario.duration:g} days"
        )
    if readout not in {r.name for r in scenario.readouts}:
        names = [r.name for r in scenario.readouts]
        raise SensitivityError(
            f"no readout {readout!r} in {scenario.id}{did_you_mean(readout, names)}"
        )
    space = relevant_parameters(kb, lib, scenario, arm)
    if parameters:
        by_label = {_label(path): (path, p) for path, p in space}
        unknown = [name for name in parameters if name not in by_label]
        if unknown:
            raise SensitivityError(
                f"not uncertain parameters of this arm: {unknown}"
                f"{did_you_mean(unknown[0], by_label, listed=100)}"
            )
        space = [by_label[name] for name in parameters]
    logs = [p.low is not None and p.low > 0 and p.high / p.low > 10 for _, p in space]  # type: ignore[operator]
    bounds = [
        [math.log(p.low), math.log(p.high)] if log else [p.low, p.high]  # type: ignore[arg-type]
        for (_, p), log in zip(space, logs, strict=True)
    ]
    labels = [_label(path) for path, _ in space]
    problem = {
        "num_vars": len(space),
        "names": [_label(path) for path, _ in space],
        "bounds": bounds,
    }
    if method == "sobol":
        samples = sobol_sample.sample(problem, n, calc_second_order=False, seed=seed)
    else:
        samples = morris_sample.sample(problem, n, num_levels=4, seed=seed)
    chosen_arm = _arm(scenario, arm)
    outputs = np.empty(len(samples))
    for i, row in enumerate(samples):
        values = {
            path: (math.exp(x) if log else float(x))
            for (path, _), x, log in zip(space, row, logs, strict=True)
        }
        sampled = with_values(lib, values)
        model = compile_arm(kb, sampled, scenario, chosen_arm)
        trajectory = simulate_arm(model)
        series = evaluate(kb, trajectory, scenario.readouts)[readout]
        outputs[i] = value_at(trajectory.times, series, day)
        if progress:
            progress(i + 1, len(samples))
    if method == "sobol":
        res = sobol_analyze.analyze(problem, outputs, calc_second_order=False, seed=seed)
        first, first_conf, total, total_conf = res["S1"], res["S1_conf"], res["ST"], res["ST_conf"]
    else:
        res = morris_analyze.analyze(problem, samples, outputs, num_levels=4, seed=seed)
        first, first_conf = res["mu_star"], res["mu_star_conf"]
        total, total_conf = res["sigma"], np.zeros(len(space))
    return Indices(
        method,
        readout,
        arm,
        day,
        labels,
        [float(v) for v in first],
        [float(v) for v in first_conf],
        [float(v) for v in total],
        [float(v) for v in total_conf],
        len(samples),
    )


def plot(indices: Indices, out: str | PathLike[str]) -> None:
    """Bar chart of the indices (PNG or SVG by file name)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = np.argsort(indices.total)[::-1]
    names = [indices.names[i] for i in order]
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(names)), 3.8))
    labels = ("S1", "ST") if indices.method == "sobol" else ("mu*", "sigma")
    ax.bar(
        x - 0.2,
        [indices.first[i] for i in order],
        0.4,
        yerr=[indices.first_conf[i] for i in order],
        label=labels[0],
    )
    ax.bar(
        x + 0.2,
        [indices.total[i] for i in order],
        0.4,
        yerr=[indices.total_conf[i] for i in order],
        label=labels[1],
    )
    ax.set_xticks(x, names, rotation=60, ha="right", fontsize=7)
    ax.set_title(
        f"{indices.method}: {indices.readout} [{indices.arm}, day {indices.day:g}]", fontsize=9
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
