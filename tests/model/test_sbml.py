"""SBML export: valid Level 3, and libroadrunner reproduces exotwin's trajectories."""

from __future__ import annotations

from pathlib import Path

import libsbml
import pytest
from typer.testing import CliRunner

from exotwin.cli import app
from exotwin.knowledge import KnowledgeBase
from exotwin.model.compiler import compile_arm
from exotwin.model.library import Library
from exotwin.model.readouts import evaluate, relative_difference
from exotwin.model.run import volumes
from exotwin.model.sbml import simulate_sbml, to_sbml
from exotwin.model.scenario import load_scenario
from exotwin.model.simulate import simulate_arm

# doses and a release inhibitor; surgery; an exosome carrier; culture with medium changes and
# isolated exosomes; antibodies bound by exosomes and blocking a cargo; simultaneous doses
SCENARIOS = [
    "tnbc-doxorubicin-exosomal-resistance",
    "hotair-falls-after-surgery",
    "doxorubicin-exosome-carrier-vs-free",
    "tamoxifen-horizontal-resistance",
    "exosomal-pdl1-blunts-anti-pdl1",
    "anxa2-depletion-metastasis",
    "mir19-mir1226-exosomes-aqp5",  # several doses at once
]


def test_export_is_valid_sbml_level3(kb: KnowledgeBase, lib: Library) -> None:
    scenario = load_scenario("tnbc-doxorubicin-exosomal-resistance", kb, lib)
    text = to_sbml(kb, lib, compile_arm(kb, lib, scenario, scenario.arms[1]))
    doc = libsbml.readSBMLFromString(text)
    assert (doc.getLevel(), doc.getVersion()) == (3, 2)
    doc.checkConsistency()
    errors = [
        doc.getError(i).getMessage()
        for i in range(doc.getNumErrors())
        if doc.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR
    ]
    assert not errors
    assert doc.getModel().getNumEvents() == 5  # doses on days 21..105 (day 0 is the start)


@pytest.mark.parametrize("name", SCENARIOS)
def test_roadrunner_matches_exotwin(kb: KnowledgeBase, lib: Library, name: str) -> None:
    scenario = load_scenario(name, kb, lib)
    for arm in scenario.arms:
        model = compile_arm(kb, lib, scenario, arm)
        ours = evaluate(kb, simulate_arm(kb, lib, model), scenario.readouts, volumes(lib, scenario))
        trajectory = simulate_sbml(to_sbml(kb, lib, model), model)
        theirs = evaluate(kb, trajectory, scenario.readouts, volumes(lib, scenario))
        for readout in scenario.readouts:
            difference = relative_difference(readout, ours[readout.name], theirs[readout.name])
            assert difference <= 1e-3, (arm.name, readout.name, difference)


def test_cli_export(tmp_path: Path) -> None:
    out = tmp_path / "model.xml"
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["export", "sbml", "nf-to-caf-mir9-mir125b", "--out", str(out), "--arm", "mirna-knockdown"],
    )
    assert result.exit_code == 0, result.output
    assert libsbml.readSBML(str(out)).getNumErrors() == 0
    bad = runner.invoke(
        app, ["export", "sbml", "nf-to-caf-mir9-mir125b", "--out", str(out), "--arm", "placebo"]
    )
    assert bad.exit_code == 1 and "no arm 'placebo'" in bad.output
