"""Run a scenario: compile and integrate every arm, evaluate readouts and checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ...errors import ModelError
from ...knowledge import KnowledgeBase
from ..ode.solve import DEFAULT, Tolerances, Trajectory, simulate_arm
from ..rules.compiler import compile_arm
from ..rules.library import Library
from ..rules.rows import CompiledModel
from .assay import assay_settings, check_noise, measurer
from .readouts import CheckResult, Series, evaluate, run_checks
from .schema import Intervention, Scenario, StepIntervention


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
        return all(c.ok for c in self.checks)


def run_scenario(
    kb: KnowledgeBase,
    lib: Library,
    scenario: Scenario,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    tol: Tolerances = DEFAULT,
) -> ScenarioResult:
    """Simulate every arm. The compartment model is deterministic; ``seed`` draws the noise
    of readouts that a simulated assay measures."""
    models, trajectories, readouts = {}, {}, {}
    assays = assay_settings(lib, scenario)
    for arm in scenario.arms:
        well_mixed(arm.name, arm.interventions)
        model = compile_arm(kb, lib, scenario, arm)
        trajectory = simulate_arm(model, tol)
        models[arm.name], trajectories[arm.name] = model, trajectory
        measure = measurer(assays, arm.name, seed)
        readouts[arm.name] = evaluate(kb, trajectory, scenario.readouts, measure)
        if progress:
            progress(arm.name)
    times = {name: t.times for name, t in trajectories.items()}
    checks = run_checks(scenario, times, readouts, check_noise(assays))
    return ScenarioResult(scenario, models, trajectories, readouts, checks, seed)


def well_mixed(arm: str, interventions: list[Intervention]) -> None:
    """Raise :class:`ModelError` for an intervention only the tissue engine can place."""
    for j, item in enumerate(interventions):
        if isinstance(item, StepIntervention) and item.band is not None:
            raise ModelError(
                f"arm {arm!r}: a band places an intervention in space; run this scenario with "
                "the tissue engine (exotwin tissue)",
                ("interventions", j, "band"),
            )
