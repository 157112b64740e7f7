"""What people see: labels in words, one colour per cell type and state in every run, and the
days interventions act on."""

from __future__ import annotations

import subprocess
import sys

import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model.display import (
    cell_colour,
    cell_label,
    cell_marker,
    cells_label,
    human,
    intervention_marks,
    readout_title,
    readout_unit,
)
from exotwin.model.rules.library import Library
from exotwin.model.scenario.load import load_scenario, packaged_scenarios

PAIRS = [
    ("bc_tnbc", "sensitive"),
    ("bc_tnbc", "doxorubicin_resistant"),
    ("fibroblast", None),
    ("caf", None),
    ("macrophage_m2", None),
    ("niche_cell", None),
    ("some_new_cell", "some_new_state"),
]


def test_readable_cell_labels(kb: KnowledgeBase) -> None:
    assert cell_label(kb, "bc_tnbc", "doxorubicin_resistant") == "TNBC cell, doxorubicin-resistant"
    assert cells_label(kb, "caf") == "cancer-associated fibroblasts"
    assert cells_label(kb, "bc_tnbc", "chemoresistant") == "TNBC cells (chemotherapy-resistant)"


def test_colours_are_fixed_across_runs(kb: KnowledgeBase) -> None:
    here = [cell_colour(kb, c, s) for c, s in PAIRS]
    code = (
        "from exotwin.knowledge import load_knowledge; from exotwin.model.display import "
        f"cell_colour; kb = load_knowledge(); print([cell_colour(kb, c, s) for c, s in {PAIRS!r}])"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert other == repr(here)  # another process (another hash seed) picks the same colours
    assert cell_colour(kb, "caf") == "#d62728" and cell_colour(kb, "bc_tnbc") == "#3b6fb6"
    assert cell_colour(kb, "bc_tnbc", "sensitive") == cell_colour(kb, "bc_tnbc")
    assert cell_colour(kb, "bc_tnbc", "doxorubicin_resistant") != cell_colour(kb, "bc_tnbc")
    assert cell_marker("doxorubicin_resistant") == cell_marker("doxorubicin_resistant") != "o"


def test_each_tissue_scenario_tells_its_populations_apart(kb: KnowledgeBase, lib: Library) -> None:
    for name, path in packaged_scenarios("tissue").items():
        scenario = load_scenario(path, kb, lib)
        assert scenario.tissue is not None
        cells = {(c.cell, c.state) for c in scenario.tissue.cells}
        cells |= {("caf", None)} if name.startswith("caf") else set()
        looks = {(cell_colour(kb, c, s), cell_marker(s)) for c, s in cells}
        assert len(looks) == len(cells), name


def test_readouts_get_titles_in_words_not_variable_names(kb: KnowledgeBase, lib: Library) -> None:
    shipped = {**packaged_scenarios(), **packaged_scenarios("tissue")}
    for path in shipped.values():
        for readout in load_scenario(path, kb, lib).readouts:
            title = readout_title(kb, readout)
            assert "_" not in title and title != readout.name, (path.name, readout.name)
            assert readout_unit(readout), (path.name, readout.name)
    flagship = load_scenario("tnbc-doxorubicin-exosomal-resistance", kb, lib)
    titles = {r.name: readout_title(kb, r) for r in flagship.readouts}
    assert titles["plasma_trpc5"] == "TRPC5 exosomes in plasma"
    assert titles["tumour_cells"] == "Breast cancer cells in the tumour"


def test_intervention_marks(kb: KnowledgeBase, lib: Library) -> None:
    flagship = load_scenario("tnbc-doxorubicin-exosomal-resistance", kb, lib)
    arms = {a.name: a for a in flagship.arms}
    marks = intervention_marks(kb, arms["doxorubicin"], flagship.duration)
    assert [m.day for m in marks] == [0, 21, 42, 63, 84, 105]
    assert {m.label for m in marks} == {"doxorubicin dose"}
    assert intervention_marks(kb, arms["untreated"], flagship.duration) == []
    surgery = load_scenario("hotair-falls-after-surgery", kb, lib)
    [mark] = intervention_marks(kb, surgery.arms[1], surgery.duration)
    assert (mark.day, mark.kind) == (14, "surgery")


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (0.4142, "fraction of cells", "41%"),
        (0.03798, "fraction of cells", "3.8%"),
        (9.9e8, "cells", "9.9×10⁸ cells"),
        (3491.2, "exosomes/mL", "3491 exosomes/mL"),
        (5.38e-6, "uM", "5.38×10⁻⁶ uM"),
        (float("nan"), "", "n/a"),
    ],
)
def test_numbers_as_people_read_them(value: float, unit: str, text: str) -> None:
    assert human(value, unit) == text
