"""Run a tissue scenario: every arm in space, readouts over time, snapshots, checks."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import did_you_mean
from ...io import atomic_write, atomic_write_text
from ...knowledge import KnowledgeBase
from ..rules.library import Library
from ..scenario.readouts import CheckResult, Series, run_checks
from ..scenario.schema import Arm, Scenario
from .engine import MIN_PER_DAY, TissueModel
from .layout import TissueError
from .readouts import check_readouts, measure
from .snapshots import write_snapshot


@dataclass
class TissueResult:
    scenario: Scenario
    seed: int
    times: dict[str, Series] = field(default_factory=dict)  # days
    readouts: dict[str, dict[str, Series]] = field(default_factory=dict)
    checks: list[CheckResult] = field(default_factory=list)
    ledgers: dict[str, dict[str, Any]] = field(default_factory=dict)
    cells: dict[str, int] = field(default_factory=dict)  # final cell count per arm

    @property
    def passed(self) -> bool:
        return all(c.ok for c in self.checks)


def snapshot_days(scenario: Scenario) -> list[float]:
    tissue = scenario.tissue
    assert tissue is not None
    return sorted(
        {0.0, scenario.duration, *(d for d in tissue.snapshots if d <= scenario.duration)}
    )


def run_tissue(
    kb: KnowledgeBase,
    lib: Library,
    scenario: Scenario,
    seed: int = 0,
    out: Path | None = None,
    arms: list[str] | None = None,
    plots: bool = True,
    animate: bool = False,
    progress: Callable[[str, float], None] | None = None,
) -> TissueResult:
    """Simulate the chosen arms (default all) with one seed; write snapshots into ``out/ARM``.

    ``progress(arm, fraction)`` is called after every mechanics step with the fraction of the
    whole run (all chosen arms) done.
    """
    chosen = _chosen_arms(scenario, arms)
    result = TissueResult(scenario, seed)
    outputs = round(scenario.duration / scenario.output_every)
    for k, arm in enumerate(chosen):
        # every arm starts from the same cells and random stream (common random numbers), so
        # arms differ by their interventions, not by chance; one arm alone gives the same run
        tm = TissueModel(kb, lib, scenario, arm, seed=seed)
        folder = out / arm.name if out is not None else None
        clock = _Clock(progress, arm.name, k * outputs, len(chosen) * outputs)
        times, rows = _run_arm(tm, folder, plots, animate, clock)
        result.times[arm.name] = np.array(times)
        result.readouts[arm.name] = {
            r.name: np.array([row[r.name] for row in rows]) for r in scenario.readouts
        }
        result.ledgers[arm.name] = _ledger(tm)
        result.cells[arm.name] = len(tm.cells)
    full = len(chosen) == len(scenario.arms)
    result.checks = run_checks(scenario, result.times, result.readouts) if full else []
    if out is not None:
        write_tables(result, out)
    return result


def _chosen_arms(scenario: Scenario, arms: list[str] | None) -> list[Arm]:
    """The arms to run (default all), after checking the tissue section, readouts and names."""
    if scenario.tissue is None:
        raise TissueError(f"scenario {scenario.id!r} has no tissue section")
    check_readouts(scenario)
    names = [a.name for a in scenario.arms]
    for name in arms or []:
        if name not in names:
            raise TissueError(f"--arm: unknown arm {name!r}{did_you_mean(name, names)}")
    for day in scenario.tissue.snapshots:
        ratio = day / scenario.output_every
        if abs(ratio - round(ratio)) > 1e-9:
            raise TissueError(
                f"tissue.snapshots: day {day:g} is not a multiple of output_every "
                f"({scenario.output_every:g} days)"
            )
    return [a for a in scenario.arms if not arms or a.name in arms]


@dataclass
class _Clock:
    """Where one arm's output steps fall in the whole run, for the progress callback."""

    progress: Callable[[str, float], None] | None
    arm: str
    first: int  # output steps of the whole run before this arm's first
    total: int  # output steps of the whole run

    def step(self, i: int, step: float) -> Callable[[float], None] | None:
        """The engine's callback for this arm's output step ``i`` (1-based) of ``step`` minutes."""
        done = (self.first + i - 1) * step  # minutes of the whole run before this step
        return _minutes(self.progress, self.arm, done, self.total * step)


def _run_arm(
    tm: TissueModel, folder: Path | None, plots: bool, animate: bool, clock: _Clock
) -> tuple[list[float], list[dict[str, float]]]:
    """Advance one arm output step by output step: times (days), readout rows; snapshots and
    animation frames into ``folder``."""
    scenario = tm.scenario
    step = scenario.output_every * MIN_PER_DAY
    outputs = round(scenario.duration / scenario.output_every)
    snaps = snapshot_days(scenario)
    times = [0.0]
    rows = [measure(tm, scenario.readouts)]
    frames: list[bytes] = []
    for i in range(outputs + 1):
        if i:
            tm.advance(step, clock.step(i, step))
            times.append(tm.day)
            rows.append(measure(tm, scenario.readouts))
        if folder is not None and any(abs(tm.day - d) < 1e-9 for d in snaps):
            write_snapshot(tm, folder, plots)
        if folder is not None and animate:
            frames.append(_frame(tm))
    if folder is not None and animate and frames:
        atomic_write(folder / "animation.gif", lambda p: _gif(frames, p))
    return times, rows


def _ledger(tm: TissueModel) -> dict[str, dict[str, float]]:
    """Each field's mass ledger: secreted, taken up, decayed, lost at the boundary, dosed;
    for exosomes, also what the cells released straight into the blood at the vessels."""
    ledger, amount = tm.fields.ledger, tm.fields.amount()
    to_blood = tm.env.vascular / (1.0 - tm.env.vascular)  # per amount secreted into the field
    return {
        name: {
            "secreted": float(ledger.secreted[f]),
            **({"to_blood": float(ledger.secreted[f] * to_blood)} if f < tm.n_exo else {}),
            "taken_up": float(ledger.taken_up[f]),
            "decayed": float(ledger.decayed[f]),
            "boundary": float(ledger.boundary[f]),
            "dosed": float(ledger.dosed[f]),
            "in_field": float(amount[f]),
            "initial": float(ledger.initial[f]),
        }
        for f, name in enumerate(tm.fields.names)
    }


def _minutes(
    progress: Callable[[str, float], None] | None, arm: str, before: float, total: float
) -> Callable[[float], None] | None:
    """The engine's callback (minutes into this step) as ``progress(arm, fraction of run)``."""
    if progress is None:
        return None
    return lambda minutes: progress(arm, (before + minutes) / total)


def _frame(tm: TissueModel) -> bytes:
    from .plots import plot_snapshot

    buffer = io.BytesIO()
    plot_snapshot(tm, buffer, "png")  # type: ignore[arg-type]
    return buffer.getvalue()


def _gif(frames: list[bytes], path: Path) -> None:
    from PIL import Image

    images = [
        Image.open(io.BytesIO(f)).convert("P", palette=Image.Palette.ADAPTIVE) for f in frames
    ]
    images[0].save(
        path, format="GIF", save_all=True, append_images=images[1:], duration=300, loop=0
    )


def write_tables(result: TissueResult, out: Path) -> None:
    """``timeseries.csv`` (arm, day, readouts) and ``summary.json`` (checks, mass ledgers)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    names = [r.name for r in result.scenario.readouts]
    writer.writerow(["arm", "day", *names])
    for arm, times in result.times.items():
        for i, day in enumerate(times):
            writer.writerow(
                [arm, f"{day:g}", *(f"{result.readouts[arm][n][i]:.6g}" for n in names)]
            )
    atomic_write_text(out / "timeseries.csv", buffer.getvalue())
    summary = {
        "scenario": result.scenario.id,
        "seed": result.seed,
        "solver": "tissue (agent-based, exotwin.model.tissue)",
        "passed": result.passed,
        "checks": [
            {
                "name": c.name,
                "passed": c.passed,
                "claim": c.claim,
                "left": c.left,
                "right": c.right,
                "op": c.op,
            }
            for c in result.checks
        ],
        "final_cells": result.cells,
        "mass_ledger": result.ledgers,
    }
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=1) + "\n")


def replicate_checks(
    kb: KnowledgeBase,
    lib: Library,
    scenario: Scenario,
    seeds: list[int],
    progress: Callable[[float], None] | None = None,
) -> dict[str, list[bool]]:
    """Whether each check holds under each seed: a stochastic model's checks need replicates.
    ``progress(replicates_done)`` counts fractions of a replicate too."""
    held: dict[str, list[bool]] = {c.name: [] for c in scenario.checks}
    for j, seed in enumerate(seeds):
        inner = None if progress is None else (lambda _arm, f, j=j: progress(j + f))  # type: ignore[misc]
        for check in run_tissue(kb, lib, scenario, seed, plots=False, progress=inner).checks:
            held[check.name].append(check.passed)
    return held
