"""SBML export: species, reactions and parameters that SBML tools read, printed from the same
equations the solver integrates; libroadrunner and COPASI reproduce exotwin's trajectories."""

from __future__ import annotations

from pathlib import Path

import libsbml
import numpy as np
import pytest
from typer.testing import CliRunner

from exotwin.cli import app
from exotwin.knowledge import KnowledgeBase
from exotwin.model.ode.sbml import (
    check,
    load_roadrunner,
    needs_fast_jit,
    run_roadrunner,
    sid,
    to_sbml,
)
from exotwin.model.ode.solve import Tolerances, simulate, simulate_arm
from exotwin.model.rules.compiler import CompiledModel, compile_arm
from exotwin.model.rules.library import Library
from exotwin.model.scenario.load import load_scenario, packaged_scenarios
from exotwin.model.scenario.readouts import evaluate

from .scenario_files import PENDING, load_named

TIGHT = Tolerances(rtol=1e-10, atol_scale=1e-6)
# doses and a release inhibitor; surgery; an exosome carrier; culture with medium changes and
# isolated exosomes; antibodies bound by exosomes and blocking a cargo; simultaneous doses;
# exosomal PD-1 occupying PD-L1; a cytotoxic drug's in-vitro IC50 kill; the default TNBC model with a subset of its rules follows
# (test below)
SCENARIOS = [
    ("tnbc-doxorubicin-exosomal-resistance", None),
    ("hotair-falls-after-surgery", None),
    ("doxorubicin-exosome-carrier-vs-free", None),
    ("tamoxifen-horizontal-resistance", None),
    ("exosomal-pdl1-blunts-anti-pdl1", None),
    ("trastuzumab-her2-exosome-decoys", None),
    ("mir19-mir1226-exosomes-aqp5", None),
    ("pd1-exosomes-restore-t-cell-killing", "pd1-exosomes"),  # a decoy occupying PD-L1
    ("doxorubicin-h19-knockdown", "doxorubicin"),  # the in-vitro IC50 kill (a logarithm)
    ("anxa2-depletion-metastasis", "control"),  # exosomes homing to organs (exosome_homing)
]
# Six interacting rules of the default TNBC model under doxorubicin, for nine weeks (the whole
# model, 468 variables and 2,113 reactions once pruned, takes libroadrunner minutes to compile).
LARGER_RULES = (
    "mir9-caf, gp130-m2, pgp-transfer, exosomal-pdl1-t-cells, trpc5-pgp-induction, bc-exosomes-mdsc"
)


def _model(kb: KnowledgeBase, lib: Library, name: str, arm: int = 1) -> CompiledModel:
    scenario = load_named(name, kb, lib)
    return compile_arm(kb, lib, scenario, scenario.arms[arm])


def _worst(kb: KnowledgeBase, model: CompiledModel, ours: object, theirs: object) -> float:
    """Largest relative difference over every readout and output time (a floor of 1e-3 cells
    or exosomes/mL, 1e-12 for other readouts: the solver's absolute tolerance; a medium just
    changed holds no exosomes, where the solvers differ by 1e-8/mL)."""
    readouts = model.scenario.readouts
    a, b = evaluate(kb, ours, readouts), evaluate(kb, theirs, readouts)  # type: ignore[arg-type]
    worst = 0.0
    for r in readouts:
        floor = 1e-3 if r.kind in {"count", "exosomes"} else 1e-12
        scale = np.maximum(np.maximum(np.abs(a[r.name]), np.abs(b[r.name])), floor)
        worst = max(worst, float((np.abs(a[r.name] - b[r.name]) / scale).max()))
    return worst


def test_export_has_species_reactions_and_parameters(kb: KnowledgeBase, lib: Library) -> None:
    model = _model(kb, lib, "tnbc-doxorubicin-exosomal-resistance")
    doc = libsbml.readSBMLFromString(to_sbml(model))
    assert (doc.getLevel(), doc.getVersion()) == (3, 2)
    assert not check(doc, units=True), "consistent, units included"
    sbml = doc.getModel()
    assert sbml.getNumSpecies() >= len(model.populations) + len(model.pools)
    assert sbml.getNumReactions() > 50
    for name, entry in zip(model.parameters.names, model.parameters.entries, strict=True):
        parameter = sbml.getParameter(sid(name))
        assert parameter is not None and parameter.getValue() == entry.value, name
    kinds = {sbml.getReaction(i).getSBOTermID() for i in range(sbml.getNumReactions())}
    assert {"SBO:0000179", "SBO:0000182", "SBO:0000185", "SBO:0000393"} <= kinds
    assert sbml.getNumEvents() == 5  # doses on days 21..105 (day 0 is the start)
    assert sbml.getCompartment("tumour").getConstant() is False  # it grows with its cells


@pytest.mark.parametrize(("name", "arm"), SCENARIOS)
def test_roadrunner_matches_exotwin(
    kb: KnowledgeBase, lib: Library, name: str, arm: str | None
) -> None:
    scenario = load_named(name, kb, lib)
    for chosen in scenario.arms:
        if arm is not None and chosen.name != arm:
            continue
        model = compile_arm(kb, lib, scenario, chosen)
        theirs = run_roadrunner(load_roadrunner(to_sbml(model)), model)
        assert _worst(kb, model, simulate_arm(model, TIGHT), theirs) <= 1e-4, chosen.name


def test_roadrunner_matches_exotwin_on_a_larger_model(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    text = packaged_scenarios()["tnbc-default-all-mechanisms"].read_text(encoding="utf-8")
    text = text.replace("mechanisms: {all: true}", f"mechanisms: {{rules: [{LARGER_RULES}]}}")
    text = text.replace("duration: 365", "duration: 63")
    (tmp_path / "larger.yaml").write_text(text, encoding="utf-8")
    scenario = load_scenario(tmp_path / "larger.yaml", kb, lib)
    model = compile_arm(kb, lib, scenario, scenario.arms[1])
    assert len(model.rules_used) == 6 and model.layout.size > 70
    theirs = run_roadrunner(load_roadrunner(to_sbml(model)), model)
    assert _worst(kb, model, simulate_arm(model, TIGHT), theirs) <= 1e-4


def test_one_export_serves_every_patient(kb: KnowledgeBase, lib: Library) -> None:
    """libroadrunner loads the model once; patients differ only in parameter values and
    initial amounts, set before each run."""
    model = _model(kb, lib, "tnbc-doxorubicin-exosomal-resistance", arm=2)
    rr = load_roadrunner(to_sbml(model))
    names = model.parameters.names
    theta = np.tile(model.parameters.values, (2, 1))
    theta[1, names.index("uptake_max")] *= 3.0
    theta[1, names.index("doxorubicin.kill_max")] *= 0.5
    y0 = np.tile(model.initial, (2, 1))
    y0[1, : model.layout.pools] *= 2.0
    ours = simulate(model, theta, y0, TIGHT)
    for patient in range(2):
        theirs = run_roadrunner(rr, model, theta[patient], y0[patient])
        assert _worst(kb, model, ours[patient], theirs) <= 1e-4, patient
    assert _worst(kb, model, ours[0], ours[1]) > 0.1, "the two patients differ"


def test_fast_jit_gives_the_same_trajectories(kb: KnowledgeBase, lib: Library) -> None:
    """LLJIT without LLVM optimisation (how the largest exports load) computes what the default
    JIT does, and leaves libroadrunner's global settings as they were."""
    from roadrunner import Config

    model = _model(kb, lib, "hotair-falls-after-surgery")
    text = to_sbml(model)
    before = Config.getValue(Config.LLVM_BACKEND)
    fast = run_roadrunner(load_roadrunner(text, fast_jit=True), model)
    assert Config.getValue(Config.LLVM_BACKEND) == before
    default = run_roadrunner(load_roadrunner(text, fast_jit=False), model)
    assert np.allclose(fast.states, default.states, rtol=1e-12, atol=0)
    assert not needs_fast_jit(text)


def test_copasi_reads_and_reproduces_the_export(kb: KnowledgeBase, lib: Library) -> None:
    """A second, independent SBML tool (COPASI, through basico) gives the same species."""
    basico = pytest.importorskip("basico")
    model = _model(kb, lib, "hotair-falls-after-surgery")
    copasi = basico.load_model(to_sbml(model))
    duration = model.scenario.duration
    table = basico.run_time_course(
        model=copasi,
        duration=duration,
        intervals=round(duration / model.scenario.output_every),
        use_sbml_id=True,
        use_concentrations=False,
        a_tol=1e-12,
        r_tol=1e-10,
    )
    ours = simulate_arm(model, TIGHT)
    species = [i for i in range(model.layout.size) if f"x{i}" in table.columns]
    assert len(species) >= len(model.populations) + len(model.pools)
    theirs = table[[f"x{i}" for i in species]].to_numpy()
    mine = ours.states[:, species]
    scale = np.maximum(np.maximum(np.abs(mine), np.abs(theirs)), 1e-3)
    assert float((np.abs(mine - theirs) / scale).max()) <= 1e-4


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


def test_export_of_two_killer_populations_has_unique_reaction_ids(
    kb: KnowledgeBase, lib: Library
) -> None:
    """T and NK cells in one organ kill its cancer cells through one flux of two parts; each
    part is its own reaction (their ids once collided and libSBML refused the second)."""
    path = PENDING / "metastatic-exosomes-lung-immunity.yaml"
    scenario = load_scenario(path, kb, lib)
    model = compile_arm(kb, lib, scenario, scenario.arms[0])
    doc = libsbml.readSBMLFromString(to_sbml(model))
    assert not check(doc, units=True)
    ids = [doc.getModel().getReaction(i).getId() for i in range(doc.getModel().getNumReactions())]
    assert len(ids) == len(set(ids))
    assert sum("immune_kill" in i for i in ids) >= 2
