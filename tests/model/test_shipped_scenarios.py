"""Every shipped scenario loads, cites real records, runs, passes every one of its checks, and
reproduces its recorded readouts (reference_outputs.py). One run per scenario serves
both, at the solver's default tolerances, as `exotwin scenarios check` runs it. Half of the
scenarios here, the other half in test_shipped_scenarios_more.py: `make test` gives each of its
two workers one file at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model.rules.library import Library
from exotwin.model.scenario.load import load_scenario, packaged_scenarios

from .shipped_results import (
    assert_checks_pass,
    assert_matches_reference,
    assert_plasma_holds_measured_ev_levels,
    plasma_half,
    shipped_half,
)

SHIPPED = packaged_scenarios()


def test_at_least_fifteen_scenarios_with_checks(kb: KnowledgeBase, lib: Library) -> None:
    assert len(SHIPPED) >= 15
    for name, path in SHIPPED.items():
        scenario = load_scenario(path, kb, lib)
        assert scenario.id == name, "file stem and id agree"
        assert scenario.records and scenario.checks and all(c.claim for c in scenario.checks)


@pytest.mark.parametrize("name", shipped_half(0))
def test_shipped_scenario_checks_pass(kb: KnowledgeBase, lib: Library, name: str) -> None:
    assert_checks_pass(kb, lib, name)


@pytest.mark.parametrize("name", shipped_half(0))
def test_compartment_readouts_match_reference(kb: KnowledgeBase, lib: Library, name: str) -> None:
    assert_matches_reference(kb, lib, name)


@pytest.mark.parametrize("name", plasma_half(0))
def test_plasma_holds_measured_ev_levels(kb: KnowledgeBase, lib: Library, name: str) -> None:
    assert_plasma_holds_measured_ev_levels(kb, lib, name)


def test_parameter_overrides_stay_in_their_range(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    from exotwin.model.scenario.load import ScenarioError

    from .conftest import SMALL_SCENARIO, write

    text = SMALL_SCENARIO + "parameters: {cancer_growth_rate: 5.0}\n"
    with pytest.raises(ScenarioError, match="outside the range of 'cancer_growth_rate'"):
        load_scenario(write(tmp_path, text), kb, lib)
