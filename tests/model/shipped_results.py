"""One run per shipped scenario (and tolerance) per test session, shared by the tests that
read it."""

from __future__ import annotations

from exotwin.knowledge import KnowledgeBase
from exotwin.model.ode.solve import Tolerances
from exotwin.model.rules.library import Library
from exotwin.model.scenario.load import load_scenario, packaged_scenarios
from exotwin.model.scenario.run import ScenarioResult, run_scenario

_RESULTS: dict[tuple[int, int, str, Tolerances | None], ScenarioResult] = {}


def shipped_result(
    kb: KnowledgeBase, lib: Library, name: str, tol: Tolerances | None = None
) -> ScenarioResult:
    """The result of a shipped scenario at nominal parameters (cached for the session), at
    the solver's default tolerances or at ``tol``."""
    key = (id(kb), id(lib), name, tol)
    if key not in _RESULTS:
        scenario = load_scenario(packaged_scenarios()[name], kb, lib)
        _RESULTS[key] = (
            run_scenario(kb, lib, scenario)
            if tol is None
            else run_scenario(kb, lib, scenario, tol=tol)
        )
    return _RESULTS[key]
