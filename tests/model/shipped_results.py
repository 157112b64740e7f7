"""One run per shipped scenario (and tolerance) per test session, shared by the tests that
read it."""

from __future__ import annotations

import numpy as np
import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model.rules.library import Library
from exotwin.model.scenario.load import load_scenario, packaged_scenarios
from exotwin.model.scenario.readouts import evaluate
from exotwin.model.scenario.run import ScenarioResult, run_scenario
from exotwin.model.scenario.schema import Readout

from .reference_outputs import DEFAULT_RUN, REFERENCE, compare, reference

_RESULTS: dict[tuple[int, int, str], ScenarioResult] = {}


def shipped_result(kb: KnowledgeBase, lib: Library, name: str) -> ScenarioResult:
    """The result of a shipped scenario at nominal parameters and the solver's default
    tolerances (cached for the session)."""
    key = (id(kb), id(lib), name)
    if key not in _RESULTS:
        scenario = load_scenario(packaged_scenarios()[name], kb, lib)
        _RESULTS[key] = run_scenario(kb, lib, scenario)
    return _RESULTS[key]


def shipped_half(part: int) -> list[str]:
    """Every other shipped scenario by name (``part`` 0 or 1), for the two test files."""
    return sorted(packaged_scenarios())[part::2]


def assert_checks_pass(kb: KnowledgeBase, lib: Library, name: str) -> None:
    """Every check of a shipped scenario passes (known failures are reported), and its rules
    compile."""
    result = shipped_result(kb, lib, name)
    failed = [c.describe() for c in result.checks if not c.ok]
    assert not failed, failed
    selected = result.scenario.mechanisms
    if selected.all or selected.rules or selected.records or selected.tags:
        assert any(m.rules_used for m in result.models.values()), "its rules compile"


def assert_matches_reference(kb: KnowledgeBase, lib: Library, name: str) -> None:
    """A shipped scenario, run as its checks are, reproduces its tight references
    (reference_outputs.py: within ``DEFAULT_RUN``)."""
    if not (REFERENCE / f"tight-scenarios-{name}.json.gz").exists():
        pytest.skip(f"no reference recorded for {name}: it was shipped after the references")
    result = shipped_result(kb, lib, name)
    times = {arm: t.times for arm, t in result.trajectories.items()}
    kinds = {r.name: r.kind for r in result.scenario.readouts}
    expected = reference(f"tight-scenarios-{name}.json.gz")
    problems = compare(expected, times, result.readouts, kinds, DEFAULT_RUN)
    assert not problems, problems


PLASMA_EVS = (  # shipped runs whose plasma is held to measured EV levels
    "tnbc-doxorubicin-exosomal-resistance",
    "hotair-falls-after-surgery",
    "tnbc-default-all-mechanisms",
)


def plasma_half(part: int) -> list[str]:
    """The scenarios of :data:`PLASMA_EVS` run by the test file of ``part`` (its worker's run
    serves both tests: the default model's costs ~18 CPU-s)."""
    return [name for name in PLASMA_EVS if name in shipped_half(part)]


def assert_plasma_holds_measured_ev_levels(kb: KnowledgeBase, lib: Library, name: str) -> None:
    """Plasma EVs stay within measured levels (~1e9-1e11 per mL), mostly from blood cells,
    with the tumour's share on top."""
    result = shipped_result(kb, lib, name)
    total = Readout(name="plasma_evs", kind="exosomes", compartment="plasma")
    share = Readout(name="tumour_share", kind="tumour_derived", compartment="plasma")
    for trajectory in result.trajectories.values():
        values = evaluate(kb, trajectory, [total, share])
        assert np.all((values["plasma_evs"] >= 1e9) & (values["plasma_evs"] <= 1e11))
        assert np.all((values["tumour_share"] >= 0) & (values["tumour_share"] < 0.5))
