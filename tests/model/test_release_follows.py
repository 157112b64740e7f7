"""A cell's exosome release follows its EMT and stemness (seed 003 section 5, Eguchi et al.
2020: "EMT and stemness encourage cells to release EVs"; lifecycle.yaml ``release_follows``):
an effect that raises either in a receiver raises the receiver's release by the same signal,
towards the lifecycle's fold.

Before, release did not follow a cell's EMT or stemness: cancer cells made to undergo EMT by
miR-155 exosomes released as many exosomes as cells given inert exosomes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model import Library, compile_arm, load_scenario, run_scenario
from exotwin.model.rules.table import Secretion

from .conftest import write

SCENARIO = """\
id: emt-release
title: Cancer cells made to undergo EMT release more exosomes
populations:
  - {{cell: bc_tnbc, state: sensitive, count: 2.0e5, compartment: {compartment}}}
mechanisms:
  rules: [mir155-dox-ptx-resistance]
arms:
  - name: inert
    interventions:
      - {{type: exosome_dose, donor: {{cell: hepatocyte}}, exosomes: 1.0e9, compartment: {compartment}}}
  - name: mir155
    interventions:
      - {{type: exosome_dose, cargo: hsa-miR-155, exosomes: 1.0e9, compartment: {compartment}}}
duration: 4
readouts:
  - {{name: emt, kind: activity, phenotype: emt, of: {{cell: bc_tnbc}}}}
  - {{name: released, kind: exosomes, compartment: {compartment}}}
{parameters}"""


def _scenario(kb: KnowledgeBase, lib: Library, tmp_path: Path, compartment: str, extra: str = ""):  # type: ignore[no-untyped-def]
    text = SCENARIO.format(compartment=compartment, parameters=extra)
    return load_scenario(write(tmp_path, text, "emt-release.yaml"), kb, lib)


def test_emt_raises_the_cells_release(kb: KnowledgeBase, lib: Library, tmp_path: Path) -> None:
    """The cells given miR-155 undergo EMT, and the medium holds the more exosomes the larger
    the lifecycle's fold of release at full EMT; cells given inert exosomes (no EMT) release
    as many at either fold."""
    found = {}
    for fold in (1.1, 5.0):
        extra = f"parameters: {{lifecycle.release_follows.emt: {fold}}}\n"
        found[fold] = run_scenario(kb, lib, _scenario(kb, lib, tmp_path, "culture", extra)).readouts
    assert found[5.0]["mir155"]["emt"][-1] > 1.05 * found[5.0]["inert"]["emt"][-1]
    inert = [found[fold]["inert"]["released"][-1] for fold in (1.1, 5.0)]
    assert inert[1] == pytest.approx(inert[0], rel=1e-4)
    assert found[5.0]["mir155"]["released"][-1] > 1.2 * found[1.1]["mir155"]["released"][-1]


def test_emt_in_a_tumour_raises_release_too(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """In a tumour the cancer cells' EMT is their seeding (a rate, not an activity level); their
    release follows it all the same, by the lifecycle's fold and the rule's signal."""
    scenario = _scenario(kb, lib, tmp_path, "tumour")
    model = compile_arm(kb, lib, scenario, scenario.arms[1])
    cancer = next(p.index for p in model.populations if p.cell == "bc_tnbc")
    follows = [t for t in model.terms if t.target == Secretion(cancer)]
    assert [(t.phenotype, t.up, t.level) for t in follows] == [
        ("emt", True, "lifecycle.release_follows.emt")
    ]


def test_the_release_reads_as_an_activity(kb: KnowledgeBase, lib: Library, tmp_path: Path) -> None:
    """An ``activity`` readout of the cells' ``exosome_secretion`` reads the fold by which their
    EMT moves their release (refused before: no rule moved it)."""
    readout = (
        "readouts:\n  - {name: release, kind: activity, phenotype: exosome_secretion,"
        " of: {cell: bc_tnbc, compartment: culture}}\n"
    )
    text = SCENARIO.format(compartment="culture", parameters="").replace("readouts:\n", readout)
    scenario = load_scenario(write(tmp_path, text, "emt-release.yaml"), kb, lib)
    found = run_scenario(kb, lib, scenario).readouts
    assert found["inert"]["release"][-1] == pytest.approx(1.0, abs=1e-3)
    assert 1.5 < found["mir155"]["release"][-1] <= 2.0  # towards the fold, 2
