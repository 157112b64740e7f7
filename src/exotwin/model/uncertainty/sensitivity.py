"""Global sensitivity of a scenario readout: Sobol (Saltelli sampling) or Morris, via SALib."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from os import PathLike
from typing import TYPE_CHECKING, Literal

import numpy as np

from ...errors import SensitivityError as SensitivityError
from ...errors import did_you_mean
from ...knowledge import KnowledgeBase
from ..display import readout_title, readout_unit
from ..ode.solve import simulate_arm
from ..rules.compiler import compile_arm
from ..rules.library import Library
from ..rules.schema import Param
from ..scenario.readouts import evaluate, value_at
from ..scenario.schema import Scenario
from .robust import Path, uncertain_parameters, with_included, with_values

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def relevant_parameters(
    kb: KnowledgeBase, lib: Library, scenario: Scenario, arm: str
) -> list[tuple[Path, Param]]:
    """Uncertain parameters that the arm's compiled model reads: those named in its parameter
    vector (globals by id, a rule's own value ``<rule>.<field>``, a drug's ``<drug>.<field>``),
    less those the scenario fixes with an override."""
    model = compile_arm(kb, lib, scenario, _arm(scenario, arm))
    read = set(model.parameters.names) - set(scenario.parameters)
    return [(path, p) for path, p in uncertain_parameters(lib) if _label(path) in read]


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
    title: str = ""  # the readout in words (exotwin.model.display.readout_title)
    unit: str = ""


def _label(path: Path) -> str:
    section, ident, field = path
    return ident if section == "parameters" else f"{ident}.{field}"


def _space(
    kb: KnowledgeBase,
    lib: Library,
    scenario: Scenario,
    arm: str,
    readout: str,
    day: float,
    parameters: Sequence[str] | None,
) -> list[tuple[Path, Param]]:
    """The parameters to sample, after checking the request (day, readout, names)."""
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
    if not parameters:
        return space
    by_label = {_label(path): (path, p) for path, p in space}
    unknown = [name for name in parameters if name not in by_label]
    if unknown:
        raise SensitivityError(
            f"not uncertain parameters that arm {arm!r} reads: {unknown}"
            f"{did_you_mean(unknown[0], by_label, listed=100)}"
        )
    return [by_label[name] for name in parameters]


def _is_log(p: Param) -> bool:
    return p.low is not None and p.high is not None and p.low > 0 and p.high / p.low > 10


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
    """Sensitivity indices of ``readout`` at ``day`` in ``arm`` to the chosen parameters
    (default: every uncertain parameter the arm reads).

    Sobol: first-order and total indices with 95% bootstrap half-widths (N (d + 2) runs).
    Morris: mu* (mean absolute elementary effect) and sigma (r (d + 1) runs, r = n).
    Ranges spanning more than a decade are explored on a log scale; a parameter that
    ``includes`` another is explored for its own part (:func:`.robust.with_included`).
    """
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    space = _space(kb, lib, scenario, arm, readout, day, parameters)
    logs = [_is_log(p) for _, p in space]
    bounds = [
        [math.log(p.low), math.log(p.high)] if log else [p.low, p.high]  # type: ignore[arg-type]
        for (_, p), log in zip(space, logs, strict=True)
    ]
    labels = [_label(path) for path, _ in space]
    problem = {"num_vars": len(space), "names": labels, "bounds": bounds}
    if method == "sobol":
        samples = sobol_sample.sample(problem, n, calc_second_order=False, seed=seed)
    else:
        samples = morris_sample.sample(problem, n, num_levels=4, seed=seed)
    chosen, outputs = _arm(scenario, arm), np.empty(len(samples))
    for i, row in enumerate(samples):
        values = {
            path: (math.exp(x) if log else float(x))
            for (path, _), x, log in zip(space, row, logs, strict=True)
        }
        drawn = with_values(lib, with_included(lib, values))
        trajectory = simulate_arm(compile_arm(kb, drawn, scenario, chosen))
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
    out = next(r for r in scenario.readouts if r.name == readout)
    first, first_conf, total, total_conf = (
        [float(v) for v in a] for a in (first, first_conf, total, total_conf)
    )
    return Indices(
        method,
        readout,
        arm,
        day,
        labels,
        first,
        first_conf,
        total,
        total_conf,
        len(samples),
        readout_title(kb, out),
        readout_unit(out),
    )


def plot(indices: Indices, out: str | PathLike[str]) -> None:
    """Write :func:`figure` (PNG or SVG by file name)."""
    import matplotlib.pyplot as plt

    fig = figure(indices)
    fig.savefig(out, dpi=120)
    plt.close(fig)


def figure(indices: Indices) -> Figure:
    """Horizontal bars of the indices, most influential parameter on top, titled by the
    readout in words and its unit."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = np.argsort(indices.total)
    names = [indices.names[i] for i in order]
    y = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(7.0, max(3.0, 0.9 + 0.28 * len(names))))
    if indices.method == "sobol":
        labels = ("S1 (first order)", "ST (total, with interactions)")
        xlabel = "Sobol index: share of the readout's variance (95% bootstrap interval)"
    else:
        labels = ("μ* (mean |elementary effect|)", "σ (spread: non-linearity, interactions)")
        xlabel = f"Morris elementary effect ({indices.unit or 'readout units'})"
    for shift, values, conf, label in (
        (0.2, indices.first, indices.first_conf, labels[0]),
        (-0.2, indices.total, indices.total_conf, labels[1]),
    ):
        ax.barh(
            y + shift,
            [values[i] for i in order],
            0.4,
            xerr=[conf[i] for i in order],
            label=label,
        )
    ax.set_yticks(y, names, fontsize=7)
    ax.set_ylabel("parameter (range from parameters.yaml)")
    ax.set_xlabel(xlabel)
    what = indices.title or indices.readout
    unit = f" ({indices.unit})" if indices.unit else ""
    ax.set_title(
        f"{what}{unit}: what drives it\n{indices.method.capitalize()} sensitivity, arm "
        f"{indices.arm}, day {indices.day:g}, {indices.runs} runs",
        fontsize=9,
    )
    ax.axvline(0.0, color="black", linewidth=0.6)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig
