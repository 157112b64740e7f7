"""Run a scenario: compile and integrate every arm, evaluate readouts and checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..knowledge import KnowledgeBase
from .compiler import CompiledModel, compile_arm
from .library import Library
from .readouts import CheckResult, Series, evaluate, run_checks
from .schema import NICHES, Scenario
from .simulate import Trajectory, simulate_arm


@dataclass
class ScenarioResult:
    scenario: Scenario
    models: dict[str, CompiledModel]
    trajectories: dict[str, Trajectory]
    readouts: dict[str, dict[str, Series]]
    checks: list[CheckResult]
    seed: int

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)


def volumes(lib: Library, scenario: Scenario) -> dict[str, float]:
    over = scenario.parameters
    vol = {
        "culture": lib.value("culture_volume", over),
        "tumour": lib.value("tumour_min_volume", over),
        "per_cell": lib.value("interstitial_volume_per_cell", over),
        "plasma": lib.value("plasma_volume", over),
    }
    vol.update({n: lib.value("niche_volume", over) for n in NICHES})
    return vol


def run_scenario(
    kb: KnowledgeBase,
    lib: Library,
    scenario: Scenario,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> ScenarioResult:
    """Simulate every arm. The compartment model is deterministic; ``seed`` is recorded."""
    models, trajectories, readouts = {}, {}, {}
    vol = volumes(lib, scenario)
    for arm in scenario.arms:
        model = compile_arm(kb, lib, scenario, arm)
        trajectory = simulate_arm(kb, lib, model)
        models[arm.name], trajectories[arm.name] = model, trajectory
        readouts[arm.name] = evaluate(kb, trajectory, scenario.readouts, vol)
        if progress:
            progress(arm.name)
    times = {name: t.times for name, t in trajectories.items()}
    return ScenarioResult(
        scenario, models, trajectories, readouts, run_checks(scenario, times, readouts), seed
    )
