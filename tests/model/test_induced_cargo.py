"""Therapy-induced exosome loading and release (a rule's ``induced_by``): a drug its donors are
exposed to raises their loading of the rule's cargo (paclitaxel and survivin, Kreger et al.
2016; doxorubicin and TRPC5, Zhang et al. 2017) or their release, by 1 + (fold - 1) times the
drug's Hill occupancy, as for its kill. Each test fails on the model before it (4b7a3ca)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import libsbml
import numpy as np
import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model import Library, compile_arm, load_library, load_scenario, run_scenario
from exotwin.model.ode.equations import NUMERIC, derive, fluxes
from exotwin.model.ode.sbml import check, load_roadrunner, run_roadrunner, to_sbml
from exotwin.model.ode.solve import Tolerances, simulate_arm
from exotwin.model.rules.compiler import CompiledModel
from exotwin.model.rules.library import ModelDataError, packaged_model_dir
from exotwin.model.rules.schema import Induction
from exotwin.model.scenario.readouts import evaluate
from exotwin.model.tissue.engine import TissueError, refuse_unsupported

from .conftest import write

# MDA-MB-231-like donors (sensitive: the basal survivin level; paclitaxel-resistant: EC50 x
# its resistance fold) beside SK-BR-3-like receivers; the drug is set by hand below
CULTURE = """\
id: induced
title: test
populations:
  - {cell: bc_tnbc, state: sensitive, count: 1.0e5, compartment: culture}
  - {cell: bc_tnbc, state: paclitaxel_resistant, count: 1.0e5, compartment: culture}
  - {cell: bc_her2, state: paclitaxel_treated, count: 1.0e5, compartment: culture}
mechanisms:
  rules: [survivin-paclitaxel-skbr3]
arms:
  - name: paclitaxel
    interventions:
      - {type: drug, drug: paclitaxel, concentration: 0.02}
  - name: doxorubicin
    interventions:
      - {type: drug, drug: doxorubicin, concentration: 0.2}
duration: 2
readouts:
  - {name: survivin, kind: exosomes, cargo: BIRC5, compartment: culture}
"""

# a TNBC tumour with 1 % doxorubicin-resistant cells; one dose of doxorubicin on day 7
TUMOUR = """\
id: trpc5-induced
title: test
populations:
  - {cell: bc_tnbc, state: sensitive, count: 9.9e8}
  - {cell: bc_tnbc, state: doxorubicin_resistant, count: 1.0e7}
mechanisms:
  rules: [trpc5-plasma, trpc5-pgp-induction]
arms:
  - name: doxorubicin
    interventions:
      - {type: drug, drug: doxorubicin, dose: 60, schedule: {start: 7, every: 21, doses: 1}}
duration: 10
readouts:
  - {name: plasma_trpc5, kind: exosomes, cargo: TRPC5, compartment: plasma}
"""


def _rates(model: CompiledModel, level: float) -> dict[str, np.ndarray]:
    """Every flux's rows at the initial state with the drug at ``level`` (uM)."""
    derived = derive(model, NUMERIC, model.parameters.values[None, :])
    [drug] = model.rows.drugs
    y = model.initial.copy()
    y[drug.var["plasma"]] = level  # the culture medium
    return {f.name: np.asarray(f.rate)[0] for f in fluxes(model, NUMERIC, derived, 0.5, y[None])}


def _survivin_rows(model: CompiledModel) -> dict[str | None, int]:
    """Cargo row of the survivin loading of each donor population, by its state."""
    pools = model.rows.pools
    return {
        model.populations[int(pop)].state: row
        for row, (pop, cargo) in enumerate(zip(pools.cargo_pop, pools.cargo_index, strict=True))
        if model.cargo[int(cargo)] == "BIRC5"
    }


def _hill(level: float, ec50: float, hill: float) -> float:
    return level**hill / (level**hill + ec50**hill)


def test_paclitaxel_raises_survivin_loading_by_its_occupancy(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """At the EC50 a sensitive donor loads 1 + (fold - 1) / 2 times its survivin; a resistant
    one sees the drug at ten times the EC50 (its resistance fold), as for the kill."""
    scenario = load_scenario(write(tmp_path, CULTURE, "induced.yaml"), kb, lib)
    model = compile_arm(kb, lib, scenario, scenario.arms[0], pruned=False)
    fold = lib.parameters["survivin_paclitaxel_loading_fold"].value
    drug = lib.drugs["paclitaxel"]
    exposed, unexposed = _rates(model, 0.02), _rates(model, 0.0)
    ratio = exposed["cargo_release"] / unexposed["cargo_release"]
    rows = _survivin_rows(model)
    expected = 1.0 + (fold - 1.0) * _hill(0.02, drug.ec50.value, drug.hill.value)
    assert ratio[rows["sensitive"]] == pytest.approx(expected)
    potency = drug.ec50.value * drug.resistance_fold.value
    resisting = 1.0 + (fold - 1.0) * _hill(0.02, potency, drug.hill.value)
    assert ratio[rows["paclitaxel_resistant"]] == pytest.approx(resisting)
    assert expected == pytest.approx(3.0) and 1.05 < resisting < 1.2
    # the induction changes what the donors load, not how many exosomes they release
    assert exposed["release"] == pytest.approx(unexposed["release"])


def test_only_the_inducing_drug_raises_the_loading(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """Other chemotherapies did not enrich survivin (Kreger et al. 2016): doxorubicin at its
    EC50 leaves the loading as it is."""
    scenario = load_scenario(write(tmp_path, CULTURE, "induced.yaml"), kb, lib)
    model = compile_arm(kb, lib, scenario, scenario.arms[1], pruned=False)
    assert not model.rows.induced
    exposed, unexposed = _rates(model, 0.2), _rates(model, 0.0)
    assert exposed["cargo_release"] == pytest.approx(unexposed["cargo_release"])


def test_a_drug_group_can_raise_the_donors_release(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """``raises: release`` multiplies every exosome the donors release (and so the cargo in
    them); a group (``chemotherapy``) names each of its drugs."""
    rule = lib.rules["survivin-paclitaxel-skbr3"]
    induction = Induction(
        drug="chemotherapy",
        raises="release",
        fold="survivin_paclitaxel_loading_fold",
        source="test",
    )
    changed = replace(
        lib, rules={**lib.rules, rule.id: rule.model_copy(update={"induced_by": [induction]})}
    )
    scenario = load_scenario(write(tmp_path, CULTURE, "induced.yaml"), kb, changed)
    model = compile_arm(kb, changed, scenario, scenario.arms[1], pruned=False)
    exposed, unexposed = _rates(model, 0.2), _rates(model, 0.0)
    drug = lib.drugs["doxorubicin"]
    fold = lib.parameters["survivin_paclitaxel_loading_fold"].value
    expected = 1.0 + (fold - 1.0) * _hill(0.2, drug.ec50.value, drug.hill.value)
    donors = [model.populations[int(p)].state for p in model.rows.pools.release_pop]
    sensitive, receiver = donors.index("sensitive"), donors.index("paclitaxel_treated")
    assert exposed["release"][sensitive] == pytest.approx(
        expected * unexposed["release"][sensitive]
    )
    assert exposed["release"][receiver] == pytest.approx(unexposed["release"][receiver])
    rows = _survivin_rows(model)
    cargo = exposed["cargo_release"] / unexposed["cargo_release"]
    assert cargo[rows["sensitive"]] == pytest.approx(expected)


def test_doxorubicin_raises_plasma_trpc5_after_a_dose(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """A day after a dose, plasma TRPC5-positive exosomes lie above their pre-dose level: the
    spared cells load more TRPC5 (without the induction the dose only lowers them, as it
    kills TRPC5-loading cells)."""
    scenario = load_scenario(write(tmp_path, TUMOUR, "trpc5.yaml"), kb, lib)
    trpc5 = run_scenario(kb, lib, scenario).readouts["doxorubicin"]["plasma_trpc5"]
    assert trpc5[8] > 1.01 * trpc5[7]


def test_sbml_export_carries_the_induction(kb: KnowledgeBase, lib: Library, tmp_path: Path) -> None:
    """The export is valid SBML and libroadrunner reproduces the induced survivin."""
    scenario = load_scenario(write(tmp_path, CULTURE, "induced.yaml"), kb, lib)
    model = compile_arm(kb, lib, scenario, scenario.arms[0])
    assert model.rows.induced
    text = to_sbml(model)
    assert check(libsbml.readSBMLFromString(text), units=False) == []
    tight = Tolerances(rtol=1e-10, atol_scale=1e-6)
    ours = evaluate(kb, simulate_arm(model, tight), scenario.readouts)["survivin"]
    theirs = evaluate(kb, run_roadrunner(load_roadrunner(text), model), scenario.readouts)
    assert ours[-1] > 0 and np.allclose(theirs["survivin"], ours, rtol=1e-4)


def test_the_tissue_engine_refuses_an_induction(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    scenario = load_scenario(write(tmp_path, CULTURE, "induced.yaml"), kb, lib)
    model = compile_arm(kb, lib, scenario, scenario.arms[0])
    with pytest.raises(TissueError, match="induced by paclitaxel"):
        refuse_unsupported(model, scenario.arms[0])


@pytest.mark.parametrize(
    ("entry", "field", "message"),
    [
        (
            "{drug: aspirin, raises: loading, fold: survivin_paclitaxel_loading_fold, source: test}",
            "induced_by.0.drug",
            "neither a drug",
        ),
        (
            "{drug: paclitaxel, raises: loading, fold: no_such_fold, source: test}",
            "induced_by.0.fold",
            "unknown parameter",
        ),
    ],
)
def test_a_bad_induction_names_file_line_and_field(
    kb: KnowledgeBase, tmp_path: Path, entry: str, field: str, message: str
) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "extra.yaml").write_text(
        f"rules:\n  - id: test-induced\n    record: s003.survivin-ptx-skbr3\n"
        f"    induced_by: [{entry}]\n",
        encoding="utf-8",
    )
    with pytest.raises(ModelDataError) as info:
        load_library(kb, [packaged_model_dir(), extra])
    [problem] = info.value.problems
    assert problem.file.name == "extra.yaml" and problem.line == 4
    assert problem.field.endswith(field) and message in problem.message


def test_unspecified_cargo_cannot_be_loaded_more(kb: KnowledgeBase, tmp_path: Path) -> None:
    """A pool of unspecified cargo stands for all its donors' exosomes: a drug raises their
    release, never their loading."""
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "extra.yaml").write_text(
        "rules:\n  - id: test-induced\n    record: s003.resistance-spread-after-chemo-stress\n"
        "    induced_by: [{drug: doxorubicin, raises: loading,"
        " fold: trpc5_doxorubicin_loading_fold, source: test}]\n",
        encoding="utf-8",
    )
    with pytest.raises(ModelDataError, match="can raise their release, not their loading"):
        load_library(kb, [packaged_model_dir(), extra])
