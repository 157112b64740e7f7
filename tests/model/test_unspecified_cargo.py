"""Exosomes of unspecified cargo (cause S, docs/scenarios.md): the pool holds every exosome of
its donors, and the receivers' signal is the copies of an unnamed active component, the
exosomes times the rule's loading. Fails on 19be72f, where every exosome counted as one copy:
a dish of cancer cells saturated on its own release (EMT fold 1.999 of 2) and added exosomes
changed nothing."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model import Library, load_scenario, run_scenario
from exotwin.model.rules.schema import Param

from .conftest import write

# triple-negative cells in a dish with their own exosomes, or with added exosomes of their kind
# (1e10 every 2 days, about twice the dish's own release at day 14)
DISH = """\
id: unspecified-cargo
title: test
populations:
  - {cell: bc_tnbc, count: 1.0e5, compartment: culture}
mechanisms:
  rules: [tumour-evs-emt-stemness]
arms:
  - name: own
  - name: added
    interventions:
      - {type: exosome_dose, donor: {cell: bc_tnbc}, exosomes: 1.0e10, compartment: culture,
         schedule: {start: 0, every: 2, doses: 7}}
duration: 14
readouts:
  - {name: emt, kind: activity, phenotype: emt, of: {cell: bc_tnbc, compartment: culture}}
  - {name: unspecified, kind: exosomes, cargo: "exosomes (cargo unspecified)", compartment: culture}
  - {name: all, kind: exosomes, compartment: culture}
"""
RULE = "tumour-evs-emt-stemness"
Day14 = dict[str, dict[str, float]]  # arm -> readout -> value at day 14


def _day14(kb: KnowledgeBase, lib: Library, tmp_path: Path) -> Day14:
    scenario = load_scenario(write(tmp_path, DISH, "unspecified.yaml"), kb, lib)
    found = run_scenario(kb, lib, scenario).readouts
    return {
        arm: {name: float(s[-1]) for name, s in series.items()} for arm, series in found.items()
    }


@pytest.fixture(scope="module")
def nominal(kb: KnowledgeBase, lib: Library, tmp_path_factory: pytest.TempPathFactory) -> Day14:
    return _day14(kb, lib, tmp_path_factory.mktemp("nominal"))


def test_own_release_leaves_room_above_it(lib: Library, nominal: Day14) -> None:
    """The cells' own exosomes do not hold the response at its ceiling (the rule's fold)."""
    fold = lib.parameters["rule_fold"].value
    assert nominal["own"]["emt"] < 1.0 + 0.9 * (fold - 1.0)


def test_added_exosomes_raise_the_response(nominal: Day14) -> None:
    """Exosomes added to a dish raise EMT above the cells' own background."""
    own, added = nominal["own"]["emt"], nominal["added"]["emt"]
    assert added > 1.01 * own  # the default effect size of a check


def test_the_pool_counts_every_exosome_of_the_donors(nominal: Day14) -> None:
    """Only cancer cells release in the dish: their pool of unspecified cargo is all of it."""
    own = nominal["own"]
    assert own["all"] > 0
    assert own["unspecified"] == pytest.approx(own["all"], rel=1e-6)


def test_the_share_is_the_rules_loading(kb: KnowledgeBase, lib: Library, tmp_path: Path) -> None:
    """Every exosome carrying the active component (loading 1) saturates the dish again."""
    rule = lib.rules[RULE]
    whole = Param(value=1.0, source="test: every exosome carries it")
    every = replace(lib, rules={**lib.rules, RULE: rule.model_copy(update={"loading": whole})})
    found = _day14(kb, every, tmp_path)
    fold = lib.parameters["rule_fold"].value
    assert found["own"]["emt"] > 1.0 + 0.99 * (fold - 1.0)
    assert found["added"]["emt"] == pytest.approx(found["own"]["emt"], rel=1e-3)
