"""One run per shipped scenario per test session, shared by the tests that read it."""

from __future__ import annotations

from exotwin.knowledge import KnowledgeBase
from exotwin.model.rules.library import Library
from exotwin.model.scenario.load import load_scenario, packaged_scenarios
from exotwin.model.scenario.run import ScenarioResult, run_scenario

_RESULTS: dict[tuple[int, int, str], ScenarioResult] = {}


def shipped_result(kb: KnowledgeBase, lib: Library, name: str) -> ScenarioResult:
    """The result of a shipped scenario at nominal parameters (cached for the session)."""
    key = (id(kb), id(lib), name)
    if key not in _RESULTS:
        _RESULTS[key] = run_scenario(kb, lib, load_scenario(packaged_scenarios()[name], kb, lib))
    return _RESULTS[key]
