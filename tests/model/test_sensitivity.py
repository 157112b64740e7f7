"""Sobol and Morris indices of a readout (SALib), and the command that writes them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from exotwin.cli import app
from exotwin.knowledge import KnowledgeBase
from exotwin.model.rules.library import Library
from exotwin.model.scenario.load import load_scenario
from exotwin.model.uncertainty.sensitivity import SensitivityError, analyse, relevant_parameters

CHOSEN = ["rule_max_rate", "rule_half_max", "kill_rate"]


def test_parameters_an_arm_reads(kb: KnowledgeBase, lib: Library) -> None:
    scenario = load_scenario("nf-to-caf-mir9-mir125b", kb, lib)
    names = {path[1] for path, _ in relevant_parameters(kb, lib, scenario, "exosomes")}
    assert {"rule_max_rate", "uptake_max"} <= names
    assert "doxorubicin" not in names  # no drug in this scenario


def test_morris_ranks_the_rule_above_an_irrelevant_parameter(
    kb: KnowledgeBase, lib: Library
) -> None:
    scenario = load_scenario("nf-to-caf-mir9-mir125b", kb, lib)
    indices = analyse(
        kb, lib, scenario, "exosomes", "caf_fraction", 30, "morris", n=4, seed=2, parameters=CHOSEN
    )
    mu = dict(zip(indices.names, indices.first, strict=True))
    # no T or NK cells in this scenario: their kill rate cannot matter
    assert mu["kill_rate"] < 1e-9 < mu["rule_max_rate"]
    assert indices.runs == 4 * (len(CHOSEN) + 1)


def test_bad_requests(kb: KnowledgeBase, lib: Library) -> None:
    scenario = load_scenario("nf-to-caf-mir9-mir125b", kb, lib)
    with pytest.raises(SensitivityError, match="no readout 'nope'"):
        analyse(kb, lib, scenario, "exosomes", "nope", 30)
    with pytest.raises(SensitivityError, match="no arm 'placebo'"):
        analyse(kb, lib, scenario, "placebo", "caf_fraction", 30)
    with pytest.raises(SensitivityError, match="not uncertain parameters"):
        analyse(kb, lib, scenario, "exosomes", "caf_fraction", 30, parameters=["warp_speed"])


def test_sobol_command_writes_indices_and_plot(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "sensitivity",
            "nf-to-caf-mir9-mir125b",
            "--arm",
            "exosomes",
            "--readout",
            "caf_fraction",
            "--day",
            "30",
            "--method",
            "sobol",
            "--n",
            "8",
            "--parameters",
            ",".join(CHOSEN),
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "indices.json").read_text(encoding="utf-8"))
    assert data["names"] == CHOSEN and data["runs"] == 8 * (len(CHOSEN) + 2)
    assert (tmp_path / "plot.png").stat().st_size > 1000
