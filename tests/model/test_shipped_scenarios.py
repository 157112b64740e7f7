"""Every shipped scenario loads, cites real records, runs, passes every one of its checks, and
reproduces its recorded readouts (reference_outputs.py). One run per scenario serves
both, at the references' tight tolerance (the checks hold at any tolerance)."""

from __future__ import annotations

from pathlib import Path

import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model.rules.library import Library
from exotwin.model.scenario.load import load_scenario, packaged_scenarios

from .reference_outputs import REFERENCE, TIGHT, compare, reference
from .shipped_results import shipped_result

SHIPPED = packaged_scenarios()


def test_at_least_fifteen_scenarios_with_checks(kb: KnowledgeBase, lib: Library) -> None:
    assert len(SHIPPED) >= 15
    for name, path in SHIPPED.items():
        scenario = load_scenario(path, kb, lib)
        assert scenario.id == name, "file stem and id agree"
        assert scenario.records and scenario.checks and all(c.claim for c in scenario.checks)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_scenario_checks_pass(kb: KnowledgeBase, lib: Library, name: str) -> None:
    result = shipped_result(kb, lib, name, TIGHT)
    failed = [c.describe() for c in result.checks if not c.ok]  # known failures are reported
    assert not failed, failed
    selected = result.scenario.mechanisms
    if selected.all or selected.rules or selected.records or selected.tags:
        assert any(m.rules_used for m in result.models.values()), "its rules compile"


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_compartment_readouts_match_reference(kb: KnowledgeBase, lib: Library, name: str) -> None:
    if not (REFERENCE / f"tight-scenarios-{name}.json.gz").exists():
        pytest.skip(f"no reference recorded for {name}: it was shipped after the references")
    result = shipped_result(kb, lib, name, TIGHT)
    times = {arm: t.times for arm, t in result.trajectories.items()}
    kinds = {r.name: r.kind for r in result.scenario.readouts}
    expected = reference(f"tight-scenarios-{name}.json.gz")
    problems = compare(expected, times, result.readouts, kinds)
    assert not problems, problems


def test_parameter_overrides_stay_in_their_range(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    from exotwin.model.scenario.load import ScenarioError

    from .conftest import SMALL_SCENARIO, write

    text = SMALL_SCENARIO + "parameters: {cancer_growth_rate: 5.0}\n"
    with pytest.raises(ScenarioError, match="outside the range of 'cancer_growth_rate'"):
        load_scenario(write(tmp_path, text), kb, lib)
