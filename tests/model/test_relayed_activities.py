"""Activities by which cells act on their neighbours (cells.yaml ``acts_on`` ``through``): a
record's effect on the activity reaches the cells acted on, relayed by the acting cells' share
of the compartment; the acting cells alone change nothing (issue 16, coverage).

Each test failed before these semantics: the activities changed no rate.
"""

from __future__ import annotations

from itertools import count
from pathlib import Path

import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model import Library, compile_arm, load_library, load_scenario, run_scenario
from exotwin.model.rules.library import ModelDataError, packaged_model_dir
from exotwin.model.rules.table import Growth, Killing
from exotwin.model.scenario.schema import Scenario

from .conftest import write

SCENARIO = """\
id: {id}
title: test
populations:
{populations}
mechanisms:
  rules: [{rules}]
arms:
{arms}
duration: {days}
readouts:
  - {{name: cancer, kind: count, of: {{cell: breast_cancer_cell}}}}
  - {{name: t_cells, kind: count, of: {{cell: t_cell}}}}
"""
_NUMBER = count()


def _scenario(  # type: ignore[no-untyped-def]
    kb: KnowledgeBase,
    lib: Library,
    tmp_path: Path,
    cells: dict[str, float],
    rules: str,
    arms: str = "  - name: a",
    compartment: str = "culture",
    days: int = 7,
):
    rows = "\n".join(
        f"  - {{cell: {cell}, count: {count}, compartment: {compartment}}}"
        for cell, count in cells.items()
    )
    name = f"scenario-{next(_NUMBER)}"
    text = SCENARIO.format(id=name, populations=rows, rules=rules, arms=arms, days=days)
    return load_scenario(write(tmp_path, text, f"{name}.yaml"), kb, lib)


def _last(
    kb: KnowledgeBase, lib: Library, scenario: Scenario, readout: str, arm: str = "a"
) -> float:
    return float(run_scenario(kb, lib, scenario).readouts[arm][readout][-1])


def test_tam_cytokines_make_cancer_cells_divide(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """cSERPINE2 makes TAMs release IL-6, which makes the cancer cells proliferate (s000 [69]):
    more cancer cells beside macrophages that take the exosomes up; macrophages alone, without
    the rule, leave the cancer cells as they are."""
    grown = {}
    for rules in ("cserpine2-tam-il6", ""):
        for tams in (0.0, 1.0e6):
            cells = {"bc_tnbc": 1.0e6, "macrophage": tams}
            scenario = _scenario(kb, lib, tmp_path, cells, rules)
            grown[rules, tams] = _last(kb, lib, scenario, "cancer")
    assert grown["cserpine2-tam-il6", 1.0e6] > 1.05 * grown["cserpine2-tam-il6", 0.0]
    assert grown["", 1.0e6] == pytest.approx(grown["", 0.0], rel=1e-6)  # solver tolerance
    model = compile_arm(kb, lib, scenario, scenario.arms[0])
    assert not [t for t in model.terms if t.target == Growth(0)]  # no presence effect


def test_pdl1_induced_on_macrophages_suppresses_t_cells(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """miR-27a-3p of ER-stressed cancer cells raises PD-L1 in macrophages (s000 [71]), which
    acts on the T cells beside them: their killing falls, so fewer T cells and more cancer
    cells than with exosomes of unstressed cells."""
    cells = {"bc_tnbc": 1.0e6, "macrophage": 1.0e6, "cd8_t_cell": 1.0e6}
    dose = (
        "    interventions:\n      - {{type: exosome_dose, donor: {{cell: bc_tnbc{state}}},"
        " exosomes: 1.0e10, compartment: culture, schedule: {{every: 1, doses: 7}}}}"
    )
    arms = (
        f"  - name: stressed\n{dose.format(state=', state: er_stressed')}\n"
        f"  - name: unstressed\n{dose.format(state='')}"
    )
    scenario = _scenario(kb, lib, tmp_path, cells, "mir27a-pdl1-tam", arms)
    found = run_scenario(kb, lib, scenario).readouts
    assert found["stressed"]["t_cells"][-1] < 0.99 * found["unstressed"]["t_cells"][-1]
    assert found["stressed"]["cancer"][-1] > found["unstressed"]["cancer"][-1]
    model = compile_arm(kb, lib, scenario, scenario.arms[0])
    t_cells = next(p.index for p in model.populations if p.cell == "cd8_t_cell")
    suppress = [t for t in model.terms if t.rule_id == "mir27a-pdl1-tam"]
    assert any(t.target == Killing(t_cells) and not t.up for t in suppress)


def test_angiogenesis_feeds_a_tumour_not_a_dish(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """Exosomal miR-145 dampens angiogenesis (s000 [41], 'BC inhibition'): in a tumour the
    cancer cells beside endothelial cells divide more slowly than with miR-145 knocked down;
    in culture vessels feed no one, and the knock-down changes nothing."""
    cells = {"bc_tnbc": 1.0e8, "endothelial_cell": 1.0e8}
    arms = (
        "  - name: a\n  - name: knockdown\n    interventions:\n"
        "      - {type: cargo_knockdown, cargo: miR-145, efficacy: 0.9}"
    )
    ratio = {}
    for compartment in ("tumour", "culture"):
        scenario = _scenario(kb, lib, tmp_path, cells, "mir145-angiogenesis", arms, compartment)
        found = run_scenario(kb, lib, scenario).readouts
        ratio[compartment] = found["a"]["cancer"][-1] / found["knockdown"]["cancer"][-1]
        model = compile_arm(kb, lib, scenario, scenario.arms[0])
        cancer = next(p.index for p in model.populations if p.cell == "bc_tnbc")
        slowed = [t for t in model.terms if t.rule_id == "mir145-angiogenesis"]
        assert any(t.target == Growth(cancer) for t in slowed) == (compartment == "tumour")
    assert ratio["tumour"] < 0.99
    assert ratio["culture"] == pytest.approx(1.0, rel=1e-9)


def test_dendritic_cells_presenting_tumour_antigens_activate_t_cells(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """Tumour exosomes hand antigens and MHC class I to DCs, which activate T cells (Wolfers et
    al., 2001, seed 003 section 6.2): T cells expand beside DCs, not without them."""
    rule = "tumour-exosome-antigens-dendritic-cells"
    expanded = {}
    for dcs in (0.0, 1.0e6):
        cells = {"bc_tnbc": 1.0e6, "dendritic_cell": dcs, "cd8_t_cell": 1.0e6}
        expanded[dcs] = _last(kb, lib, _scenario(kb, lib, tmp_path, cells, rule), "t_cells")
    assert expanded[1.0e6] > 1.01 * expanded[0.0]


def test_an_unknown_through_phenotype_is_named_with_file_and_line(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    cells = tmp_path / "cells.yaml"
    cells.write_text(
        "cells:\n  - cell: mast_cell\n    acts_on:\n      - {cell: cancer_cell, phenotype:"
        " proliferation, direction: promotes, through: histamine_release, source: test}\n",
        encoding="utf-8",
    )
    with pytest.raises(ModelDataError) as info:
        load_library(kb, [packaged_model_dir(), cells])
    [problem] = [p for p in info.value.problems if p.file == cells]
    assert problem.field == "cells.0.acts_on.0.through" and problem.line == 4
    assert "unknown phenotype 'histamine_release'" in problem.message
