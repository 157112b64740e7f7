"""Vesicular drug export (data/drug_export.yaml): cells that push doxorubicin out in their
shed vesicles keep less of it (Shedden et al., 2003), so fewer vesicles or a drug kept out of
them raise its kill. Each test fails on the model before the export (commit e381f8b)."""

from __future__ import annotations

from pathlib import Path

import pytest

from exotwin.errors import ScenarioError
from exotwin.knowledge import KnowledgeBase
from exotwin.model import Library, compile_arm, load_library, load_scenario, run_scenario
from exotwin.model.ode.equations import NUMERIC, derive, retained, time_factors
from exotwin.model.rules.coverage import coverage
from exotwin.model.rules.library import ModelDataError, packaged_model_dir

from .conftest import write

CULTURE = """\
id: export
title: test
populations:
  - {cell: bc_luminal, state: sensitive, count: 1.0e5, compartment: culture}
  - {cell: fibroblast, count: 1.0e5, compartment: culture}
mechanisms:
  rules: [doxorubicin-vesicle-export]
arms:
  - name: doxorubicin
    interventions:
      - {type: drug, drug: doxorubicin, concentration: 0.2}
  - name: loading-blocked
    interventions:
      - {type: drug, drug: doxorubicin, concentration: 0.2}
      - {type: cargo_knockdown, cargo: doxorubicin, efficacy: 1.0}
  - name: no-release
    interventions:
      - {type: drug, drug: doxorubicin, concentration: 0.2}
      - {type: release_inhibitor, efficacy: 1.0}
duration: 3
readouts:
  - {name: killed, kind: killed, drug: doxorubicin}
"""


def _killed(kb: KnowledgeBase, lib: Library, tmp_path: Path) -> dict[str, float]:
    scenario = load_scenario(write(tmp_path, CULTURE, "export.yaml"), kb, lib)
    readouts = run_scenario(kb, lib, scenario).readouts
    return {arm: float(values["killed"][-1]) for arm, values in readouts.items()}


def test_exporting_cells_keep_less_drug(kb: KnowledgeBase, lib: Library, tmp_path: Path) -> None:
    """At basal release a cancer cell keeps 1 / (1 + share / (1 - share)) of the drug; cells
    that do not export (fibroblasts are not killed by it) and the drug kept out of vesicles
    leave the concentration whole."""
    scenario = load_scenario(write(tmp_path, CULTURE, "export.yaml"), kb, lib)
    share = lib.drug_export["doxorubicin"].share.value
    for arm, expected in zip(scenario.arms, (1.0 - share, 1.0, 1.0), strict=True):
        model = compile_arm(kb, lib, scenario, arm, pruned=False)
        derived = derive(model, NUMERIC, model.parameters.values[None, :])
        [drug] = model.rows.drugs
        factors = time_factors(model, NUMERIC, derived, 1.0)
        release = derived.cells["secreting"] * factors["release"]
        kept = retained(NUMERIC, derived, drug, release, factors, 0)
        assert kept == pytest.approx(expected)


def test_fewer_vesicles_or_drug_kept_out_of_them_raise_the_kill(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    killed = _killed(kb, lib, tmp_path)
    assert killed["loading-blocked"] > 1.05 * killed["doxorubicin"]
    assert killed["no-release"] == pytest.approx(killed["loading-blocked"], rel=1e-4)


def test_a_scenario_without_the_export_rule_has_no_export(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """The export is a mechanism like the others: only a scenario that selects its rule has it."""
    text = CULTURE.replace("rules: [doxorubicin-vesicle-export]", "rules: []")
    text = text.replace("      - {type: cargo_knockdown, cargo: doxorubicin, efficacy: 1.0}\n", "")
    scenario = load_scenario(write(tmp_path, text, "export.yaml"), kb, lib)
    readouts = run_scenario(kb, lib, scenario).readouts
    killed = {arm: float(values["killed"][-1]) for arm, values in readouts.items()}
    assert killed["no-release"] == pytest.approx(killed["doxorubicin"], rel=1e-4)


def test_keeping_a_drug_the_arm_does_not_give_out_of_exosomes_is_an_error(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    text = CULTURE.replace("drug: doxorubicin", "drug: paclitaxel")
    with pytest.raises(ScenarioError, match="a drug this arm does not give") as info:
        load_scenario(write(tmp_path, text, "export.yaml"), kb, lib)
    [problem] = info.value.problems
    assert problem.line == 15 and problem.field == "arms.1.interventions.1.cargo"


def test_export_records_and_the_blocking_therapy_are_simulated(
    kb: KnowledgeBase, lib: Library
) -> None:
    records = {r.record: r for r in coverage(kb, lib).records}
    for rid in (
        "s000.doxorubicin-vesicle-excretion",
        "s003.dox-vesicle-export",
        "s003.block-drug-loading-into-exo",
    ):
        assert records[rid].status == "simulated" and not records[rid].stale_reason


def test_an_export_of_an_unknown_drug_names_file_and_line(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "extra.yaml").write_text(
        "drug_export:\n  - drug: aspirin\n    cell: breast_cancer_cell\n"
        "    records: [s003.dox-vesicle-export]\n"
        "    share: {value: 0.1, source: test}\n    source: test\n",
        encoding="utf-8",
    )
    with pytest.raises(ModelDataError) as info:
        load_library(kb, [packaged_model_dir(), extra])
    [problem] = info.value.problems
    assert problem.file.name == "extra.yaml" and problem.line == 2
    assert "not a drug of the library" in problem.message
