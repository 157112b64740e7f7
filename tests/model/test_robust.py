"""Robustness: Latin-hypercube sampling over every parameter's range."""

from __future__ import annotations

from exotwin.knowledge import KnowledgeBase
from exotwin.model.rules.library import Library
from exotwin.model.scenario.load import load_scenario
from exotwin.model.uncertainty.robust import (
    latin_hypercube,
    robustness,
    uncertain_parameters,
    with_values,
)


def test_every_sampled_value_stays_in_its_range(lib: Library) -> None:
    space = dict(uncertain_parameters(lib))
    assert len(space) > 50
    for values in latin_hypercube(lib, 8, seed=3):
        for path, value in values.items():
            p = space[path]
            assert p.low <= value <= p.high  # type: ignore[operator]


def test_with_values_replaces_only_what_it_is_told(lib: Library) -> None:
    changed = with_values(
        lib,
        {
            ("parameters", "uptake_max", "value"): 999.0,
            (
                "drugs",
                "doxorubicin",
                "ec50",
            ): 0.5,
        },
    )  # type: ignore[dict-item]
    assert changed.parameters["uptake_max"].value == 999.0
    assert changed.drugs["doxorubicin"].ec50.value == 0.5
    assert lib.parameters["uptake_max"].value != 999.0
    assert changed.parameters["secretion_rate"] == lib.parameters["secretion_rate"]


def test_robustness_is_reproducible(kb: KnowledgeBase, lib: Library) -> None:
    scenario = load_scenario("nf-to-caf-mir9-mir125b", kb, lib)
    first = robustness(kb, lib, scenario, 6, seed=11)
    again = robustness(kb, lib, scenario, 6, seed=11)
    assert first == again
    assert set(first.passed) == {c.name for c in scenario.checks}
    assert all(0 <= first.fraction(name) <= 1 for name in first.passed)
