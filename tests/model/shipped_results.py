"""One run per shipped scenario (and tolerance) per test session, shared by the tests that
read it."""

from __future__ import annotations

import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model.ode.solve import Tolerances
from exotwin.model.rules.library import Library
from exotwin.model.scenario.load import load_scenario, packaged_scenarios
from exotwin.model.scenario.run import ScenarioResult, run_scenario

from .reference_outputs import REFERENCE, TIGHT, compare, reference

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


def shipped_half(part: int) -> list[str]:
    """Every other shipped scenario by name (``part`` 0 or 1), for the two test files."""
    return sorted(packaged_scenarios())[part::2]


def assert_checks_pass(kb: KnowledgeBase, lib: Library, name: str) -> None:
    """Every check of a shipped scenario passes (known failures are reported), and its rules
    compile."""
    result = shipped_result(kb, lib, name, TIGHT)
    failed = [c.describe() for c in result.checks if not c.ok]
    assert not failed, failed
    selected = result.scenario.mechanisms
    if selected.all or selected.rules or selected.records or selected.tags:
        assert any(m.rules_used for m in result.models.values()), "its rules compile"


def assert_matches_reference(kb: KnowledgeBase, lib: Library, name: str) -> None:
    """A shipped scenario reproduces its recorded readouts (reference_outputs.py)."""
    if not (REFERENCE / f"tight-scenarios-{name}.json.gz").exists():
        pytest.skip(f"no reference recorded for {name}: it was shipped after the references")
    result = shipped_result(kb, lib, name, TIGHT)
    times = {arm: t.times for arm, t in result.trajectories.items()}
    kinds = {r.name: r.kind for r in result.scenario.readouts}
    problems = compare(reference(f"tight-scenarios-{name}.json.gz"), times, result.readouts, kinds)
    assert not problems, problems
