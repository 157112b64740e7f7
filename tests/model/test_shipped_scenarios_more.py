"""The other half of the shipped scenarios (test_shipped_scenarios.py): their checks pass and
they reproduce their recorded readouts, from one run each."""

from __future__ import annotations

import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model.rules.library import Library

from .shipped_results import (
    assert_checks_pass,
    assert_matches_reference,
    assert_plasma_holds_measured_ev_levels,
    plasma_half,
    shipped_half,
)


@pytest.mark.parametrize("name", shipped_half(1))
def test_shipped_scenario_checks_pass(kb: KnowledgeBase, lib: Library, name: str) -> None:
    assert_checks_pass(kb, lib, name)


@pytest.mark.parametrize("name", shipped_half(1))
def test_compartment_readouts_match_reference(kb: KnowledgeBase, lib: Library, name: str) -> None:
    assert_matches_reference(kb, lib, name)


@pytest.mark.parametrize("name", plasma_half(1))
def test_plasma_holds_measured_ev_levels(kb: KnowledgeBase, lib: Library, name: str) -> None:
    assert_plasma_holds_measured_ev_levels(kb, lib, name)
