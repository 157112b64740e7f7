"""report.html of a scenario: a summary written from the run, and figures a person can read."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model.rules.library import Library
from exotwin.model.scenario.load import load_scenario
from exotwin.model.scenario.report import figure, report_html, summary_html
from exotwin.model.scenario.run import ScenarioResult, run_scenario

from .conftest import write

DOXORUBICIN = """\
id: dox-report
title: Doxorubicin with and without a copy of itself
description: A TNBC tumour with a few resistant cells gets two doses of doxorubicin.
populations:
  - {cell: bc_tnbc, state: sensitive, count: 1.0e9}
  - {cell: bc_tnbc, state: doxorubicin_resistant, count: 1.0e7}
mechanisms:
  rules: [pgp-transfer]
arms:
  - name: untreated
  - name: doxorubicin
    description: two doses
    interventions:
      - {type: drug, drug: doxorubicin, dose: 600, schedule: {start: 0, every: 21, doses: 2}}
  - name: doxorubicin-again
    interventions:
      - {type: drug, drug: doxorubicin, dose: 600, schedule: {start: 0, every: 21, doses: 2}}
duration: 42
readouts:
  - {name: tumour_cells, kind: count, of: {cell: breast_cancer_cell, compartment: tumour}}
  - {name: resistant_fraction, kind: fraction, of: {cell: breast_cancer_cell, state: chemoresistant},
     among: {cell: breast_cancer_cell}}
checks:
  - name: doxorubicin-shrinks
    claim: Doxorubicin leaves a smaller tumour.
    readout: tumour_cells
    arm: doxorubicin
    day: 42
    op: "<"
    than: {arm: untreated}
  - name: wrong-on-purpose
    readout: resistant_fraction
    arm: doxorubicin
    day: 42
    op: "<"
    than: {arm: untreated}
"""


@pytest.fixture(scope="module")
def result(
    kb: KnowledgeBase, lib: Library, tmp_path_factory: pytest.TempPathFactory
) -> ScenarioResult:
    path = write(tmp_path_factory.mktemp("report"), DOXORUBICIN)
    return run_scenario(kb, lib, load_scenario(path, kb, lib))


def test_the_report_opens_with_a_summary_from_the_data(
    kb: KnowledgeBase, lib: Library, result: ScenarioResult
) -> None:
    page = report_html(kb, lib, result)
    assert page.index("<section id='summary'>") < page.index("<h2>Checks</h2>")
    text = re.sub(r"<[^>]+>", "", "\n".join(summary_html(kb, lib, result)))
    assert "A TNBC tumour with a few resistant cells gets two doses" in text
    assert "3 arm(s) over 42 days" in text and "doxorubicin (two doses)" in text
    assert "10⁹ TNBC cells (drug-sensitive)" in text
    assert "1 of 2 check(s)" in text
    assert "Doxorubicin leaves a smaller tumour. Breast cancer cells in the tumour, day 42:" in text
    assert "lower than" in text and "(as claimed)" in text and "contrary to the claim" in text
    assert "Where each arm ends (day 42)" in text


def test_figures_have_titles_units_log_axes_marks_and_distinct_arms(
    kb: KnowledgeBase, result: ScenarioResult
) -> None:
    readout = result.scenario.readouts[0]
    [ax] = figure(kb, result, readout).axes
    assert ax.get_title() == "Breast cancer cells in the tumour"
    assert ax.get_ylabel() == "cells, log scale" and ax.get_yscale() == "log"
    assert ax.get_xlabel() == "time (days)"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "doxorubicin-again (same curve as doxorubicin)" in legend
    assert "doxorubicin dose (all arms but untreated)" in legend
    arms = ax.get_lines()[:3]
    assert len({(line.get_linestyle(), line.get_marker()) for line in arms}) == 3
    dose_lines = [line for line in ax.get_lines() if list(line.get_xdata()) in ([0, 0], [21, 21])]
    assert len(dose_lines) == 2  # a dotted line on each dose day
    fraction = figure(kb, result, result.scenario.readouts[1]).axes[0]
    assert fraction.get_yscale() == "linear" and fraction.get_ylabel() == "fraction of cells"


def test_the_report_is_written_by_simulate(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from exotwin.cli import app

    out = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["simulate", str(write(tmp_path, DOXORUBICIN)), "--out", str(out)]
    )
    assert result.exit_code == 1  # the check that is wrong on purpose fails
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 2 and "What it found" in page
