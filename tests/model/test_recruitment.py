"""Recruitment (issue 16, cause H): one cell type's signal brings cells of another type into
its compartment, an influx per recruiting cell that follows the recruiters' Hill response
(phenotype ``recruits`` in the vocabulary; rate ``recruitment`` of the recruited type in
cells.yaml). Exosomal Lin28B makes macrophages recruit neutrophils (s000 [68]).

Each test failed before recruitment existed: neutrophil counts were fixed, and the record's
``neutrophil_recruitment`` was an activity level of the macrophages.
"""

from __future__ import annotations

from itertools import count
from pathlib import Path

import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model import Library, compile_arm, load_scenario, run_scenario
from exotwin.model.rules.table import Recruitment
from exotwin.model.scenario.schema import Scenario

from .conftest import write

SCENARIO = """\
id: {id}
title: test
populations:
  - {{cell: bc_tnbc, count: 1.0e8, compartment: {compartment}}}
  - {{cell: macrophage, count: 1.0e7, compartment: {compartment}}}
{extra}
mechanisms:
  rules: [lin28b-m2]
arms:
  - name: control
  - name: knockdown
    interventions:
      - {{type: cargo_knockdown, cargo: LIN28B, efficacy: 0.9}}
duration: 14
readouts:
  - {{name: neutrophils, kind: count, of: {{cell: neutrophil, compartment: {compartment}}}}}
parameters: {{{parameters}}}
"""
_NUMBER = count()


def _scenario(
    kb: KnowledgeBase,
    lib: Library,
    tmp_path: Path,
    compartment: str = "tumour",
    extra: str = "",
    parameters: str = "",
) -> Scenario:
    name = f"recruit-{next(_NUMBER)}"
    text = SCENARIO.format(id=name, compartment=compartment, extra=extra, parameters=parameters)
    return load_scenario(write(tmp_path, text, f"{name}.yaml"), kb, lib)


def _neutrophils(kb: KnowledgeBase, lib: Library, scenario: Scenario) -> dict[str, float]:
    result = run_scenario(kb, lib, scenario)
    return {arm: float(result.readouts[arm]["neutrophils"][-1]) for arm in result.readouts}


def test_macrophages_recruit_neutrophils_into_their_compartment(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """Lin28B in tumour macrophages brings neutrophils into a tumour that had none: the
    record's effect is an influx of a neutrophil population there, driven by the
    macrophages' signal, and less of it with Lin28B knocked down."""
    scenario = _scenario(kb, lib, tmp_path)
    model = compile_arm(kb, lib, scenario, scenario.arms[0])
    pops = model.populations
    found = [t.target for t in model.terms if isinstance(t.target, Recruitment)]
    phenotypes = {t.phenotype for t in model.terms if isinstance(t.target, Recruitment)}
    assert found and phenotypes == {"neutrophil_recruitment"}
    recruiters = {pops[t.source].cell for t in found}
    assert recruiters == {"macrophage", "macrophage_m2"}  # M2: the record's own transition
    assert {pops[t.dest].label for t in found} == {"neutrophil (recruited)@tumour"}
    assert not any(ph == "neutrophil_recruitment" for ph, _ in model.activities)
    counts = _neutrophils(kb, lib, scenario)
    assert counts["control"] > 1.0  # from none
    assert counts["control"] > 1.5 * counts["knockdown"]


def test_influx_follows_the_rate_and_lasts_a_lifespan(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """Resident neutrophils gain the recruited ones, which do not divide: the gain scales with
    the maximal recruitment rate (recruitment_max_rate) and with the recruited cells' lifespan
    (1 / neutrophil_turnover), parameters a scenario may set within their ranges."""
    resident = "  - {cell: neutrophil, count: 1.0e6, compartment: tumour}"
    gained = {}
    for rate, turnover in ((0.05, 0.5), (0.1, 0.5), (0.1, 1.0)):
        parameters = f"recruitment_max_rate: {rate}, neutrophil_turnover: {turnover}"
        scenario = _scenario(kb, lib, tmp_path, extra=resident, parameters=parameters)
        gained[rate, turnover] = _neutrophils(kb, lib, scenario)["control"] - 1.0e6
        assert gained[rate, turnover] > 0
    assert gained[0.1, 0.5] == pytest.approx(2 * gained[0.05, 0.5], rel=0.02)
    assert gained[0.1, 0.5] == pytest.approx(2 * gained[0.1, 1.0], rel=0.1)


def test_no_recruitment_in_a_dish(kb: KnowledgeBase, lib: Library, tmp_path: Path) -> None:
    """A culture has no blood to recruit from: no influx, no neutrophil population made."""
    scenario = _scenario(kb, lib, tmp_path, compartment="culture")
    model = compile_arm(kb, lib, scenario, scenario.arms[0])
    assert not any(isinstance(t.target, Recruitment) for t in model.terms)
    assert all(p.cell != "neutrophil" for p in model.populations)
