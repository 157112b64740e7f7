"""Exosomes loaded ex vivo (a rule's ``copies``): a dosed exosome carrying an siRNA counts as
that many natural carriers of its cargo, which hold about one copy each (Chevillet et al.
2014). Fails on the model before it (595c687), where a loaded exosome weighed one carrier."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model import Library, load_scenario, run_scenario

from .conftest import write

# doxorubicin-resistant TNBC cells in a dish receive one dose of EXOs-CL4 siRNA exosomes
DISH = """\
id: loaded-copies
title: test
populations:
  - {cell: bc_tnbc, state: doxorubicin_resistant, count: 1.0e6, compartment: culture}
mechanisms:
  rules: [exos-cl4-sidars1-as1]
arms:
  - name: sirna
    interventions:
      - {type: exosome_dose, cargo: siDARS1-AS1, exosomes: 1.0e8, compartment: culture}
duration: 1
readouts:
  - {name: sirna, kind: exosomes, cargo: siDARS1-AS1, compartment: culture}
  - {name: all, kind: exosomes, compartment: culture}
"""


def _pools(kb: KnowledgeBase, lib: Library, tmp_path: Path) -> tuple[float, float]:
    scenario = load_scenario(write(tmp_path, DISH, "copies.yaml"), kb, lib)
    found = run_scenario(kb, lib, scenario).readouts["sirna"]
    return found["sirna"][0], found["all"][0]


def test_a_loaded_exosome_counts_its_copies(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """Right after the dose the siRNA pool holds copies x the dosed exosomes (the medium's own
    exosomes are none yet): per mL, copies times the particles."""
    copies = lib.rules["exos-cl4-sidars1-as1"].copies
    assert copies is not None and copies.value > 100
    sirna, particles = _pools(kb, lib, tmp_path)
    assert particles > 0
    assert sirna == pytest.approx(copies.value * particles, rel=1e-6)


def test_without_copies_a_dosed_exosome_is_one_carrier(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    rule = lib.rules["exos-cl4-sidars1-as1"]
    plain = replace(lib, rules={**lib.rules, rule.id: rule.model_copy(update={"copies": None})})
    sirna, particles = _pools(kb, plain, tmp_path)
    assert sirna == pytest.approx(particles, rel=1e-6)
