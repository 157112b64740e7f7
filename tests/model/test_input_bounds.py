"""Numbers outside physical bounds and non-finite numbers are refused when a file loads."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model.rules.library import Library
from exotwin.model.scenario.load import ScenarioError, load_scenario
from exotwin.model.uncertainty.cohort import CohortSpecError, load_spec, run_patients

from .conftest import SMALL_SCENARIO, write

TISSUE = """\
id: tiny-tissue
title: a tiny 2D tissue
mechanisms: {rules: [mir9-caf]}
tissue:
  domain: [200, 200]
  cells:
    - {cell: bc_tnbc, count: 10, layout: spheroid, radius: 30}
    - {cell: fibroblast, count: 10, layout: shell, inner_radius: 40, radius: 90}
arms: [{name: a}]
duration: 0.5
output_every: 0.25
readouts:
  - {name: fibroblasts, kind: count, of: {cell: fibroblast}}
"""


def problems(path: Path, kb: KnowledgeBase, lib: Library) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, kb, lib)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize("count", ["1.0e+300", "1.0e+15", "1.1e+13"])
def test_counts_beyond_1e13_cells_are_refused(
    count: str, tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    # 1e300 hung the solver (overflow); 1e15 cancer cells, a tonne of tumour, was accepted
    text = SMALL_SCENARIO.replace(
        "{cell: bc_tnbc, count: 1.0e9}", f"{{cell: bc_tnbc, count: {count}}}"
    )
    [problem] = problems(write(tmp_path, text), kb, lib)
    assert problem.startswith(f"{tmp_path / 'scenario.yaml'}:4: populations.0.count:")
    assert "less than or equal to 10000000000000" in problem


def test_a_patient_sized_count_still_loads(tmp_path: Path, kb: KnowledgeBase, lib: Library) -> None:
    text = SMALL_SCENARIO.replace("count: 1.0e9", "count: 1.0e+12")
    assert load_scenario(write(tmp_path, text), kb, lib).populations[0].count == 1e12


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("duration: 10", "parameters: {uptake_rate: .nan}\nduration: 10", "parameters.uptake_rate"),
        ("efficacy: 1.0}", "efficacy: 1.0, start: .inf}", "arms.1.interventions.0.start"),
        ("day: 10\n    op", "day: 10\n    factor: .inf\n    op", "checks.0.factor"),
    ],
)
def test_non_finite_numbers_anywhere_in_a_scenario_are_refused(
    old: str, new: str, field: str, tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    assert old in SMALL_SCENARIO
    [problem] = problems(write(tmp_path, SMALL_SCENARIO.replace(old, new)), kb, lib)
    assert f" {field}:" in problem and "finite number" in problem


def test_a_tissue_without_cells_is_refused(tmp_path: Path, kb: KnowledgeBase, lib: Library) -> None:
    text = TISSUE.replace("count: 10,", "count: 0,")
    [problem] = problems(write(tmp_path, text), kb, lib)
    assert " tissue:" in problem and "the tissue has no cells" in problem


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("count: 10, layout: spheroid", "count: 100000000, layout: spheroid", "less than or equal"),
        ("radius: 30,", "radius: .nan,", "finite number"),
        ("centre: [0, 0]", "centre: [.inf, 0]", "finite number"),
    ],
)
def test_tissue_inputs_are_bounded_and_finite(
    old: str, new: str, message: str, tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    text = TISSUE.replace("radius: 30}", "radius: 30, centre: [0, 0]}")
    [problem] = problems(write(tmp_path, text.replace(old, new)), kb, lib)
    assert "tissue.cells.0" in problem and message in problem


COHORT = """\
scenario: {scenario}
patients: 2
seed: 1
chunk_size: 2
population_scale: {{distribution: uniform, low: {low}, high: {high}}}
"""


def test_a_non_finite_cohort_draw_is_refused(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    scenario = write(tmp_path, SMALL_SCENARIO)
    spec = write(tmp_path, COHORT.format(scenario=scenario, low=1, high=".inf"), "spec.yaml")
    with pytest.raises(CohortSpecError) as info:
        load_spec(spec, kb, lib)
    [problem] = info.value.problems
    assert problem.line == 5 and problem.field == "population_scale.high"
    assert "finite number" in problem.message


def test_a_cohort_patient_scaled_beyond_the_bound_is_an_error_row_not_a_hang(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    scenario = write(tmp_path, SMALL_SCENARIO)
    spec_path = write(tmp_path, COHORT.format(scenario=scenario, low=1e200, high=1e201), "s.yaml")
    spec, loaded = load_spec(spec_path, kb, lib)
    rows = run_patients(spec, loaded, [0, 1], kb, lib)
    assert {r["patient"] for r in rows} == {0, 1}
    assert all("above the bound of 1e+13" in str(r["error"]) for r in rows)
    assert all(math.isnan(r["caf_fraction"]) for r in rows)  # type: ignore[arg-type]
