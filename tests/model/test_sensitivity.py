"""Sobol and Morris indices of a readout (SALib), and the command that writes them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from exotwin.cli import app
from exotwin.knowledge import KnowledgeBase
from exotwin.model.rules.compiler import compile_arm
from exotwin.model.rules.library import Library
from exotwin.model.scenario.load import load_scenario
from exotwin.model.uncertainty.robust import uncertain_parameters
from exotwin.model.uncertainty.sensitivity import (
    SensitivityError,
    _label,
    analyse,
    figure,
    relevant_parameters,
)

CHOSEN = ["rule_max_rate", "rule_half_max", "niche_capacity"]


def test_parameters_an_arm_reads(kb: KnowledgeBase, lib: Library) -> None:
    scenario = load_scenario("nf-to-caf-mir9-mir125b", kb, lib)
    names = {_label(path) for path, _ in relevant_parameters(kb, lib, scenario, "exosomes")}
    compiled = compile_arm(kb, lib, scenario, scenario.arms[0]).parameters.names
    uncertain = {_label(path) for path, _ in uncertain_parameters(lib)}
    assert names == set(compiled) & uncertain  # exactly the uncertain ones the arm reads
    assert {"rule_max_rate", "uptake_max"} <= names
    # no drug, no T/NK cells and no tissue here: none of their parameters is sampled
    assert not {"kill_rate", "exosome_diffusion", "chemotaxis_bias"} & names
    assert not any(name.startswith("doxorubicin.") for name in names)


def test_parameters_the_scenario_fixes_are_not_sampled(kb: KnowledgeBase, lib: Library) -> None:
    scenario = load_scenario("hotair-falls-after-surgery", kb, lib)
    assert "cancer_growth_rate" in scenario.parameters
    arm = scenario.arms[0].name
    names = {_label(path) for path, _ in relevant_parameters(kb, lib, scenario, arm)}
    assert names and "cancer_growth_rate" not in names


def test_drug_parameters_by_drug_and_field(kb: KnowledgeBase, lib: Library) -> None:
    scenario = load_scenario("tnbc-doxorubicin-exosomal-resistance", kb, lib)
    names = {_label(p) for p, _ in relevant_parameters(kb, lib, scenario, "doxorubicin")}
    assert {"doxorubicin.ec50", "doxorubicin.resistance_fold"} <= names
    assert not any(n.split(".")[0] in {"paclitaxel", "cisplatin"} for n in names)


def test_morris_ranks_the_rule_above_a_parameter_without_effect(
    kb: KnowledgeBase, lib: Library
) -> None:
    scenario = load_scenario("nf-to-caf-mir9-mir125b", kb, lib)
    indices = analyse(
        kb, lib, scenario, "exosomes", "caf_fraction", 30, "morris", n=4, seed=2, parameters=CHOSEN
    )
    mu = dict(zip(indices.names, indices.first, strict=True))
    # the few cells the tumour seeds stay far below the niches' capacity: it changes the CAF
    # fraction by less than the solver's relative tolerance (1e-6), the rule by far more
    assert mu["niche_capacity"] < 1e-6 < 1e-2 < mu["rule_max_rate"]
    assert indices.runs == 4 * (len(CHOSEN) + 1)


def test_bad_requests(kb: KnowledgeBase, lib: Library) -> None:
    scenario = load_scenario("nf-to-caf-mir9-mir125b", kb, lib)
    with pytest.raises(SensitivityError, match="no readout 'nope'"):
        analyse(kb, lib, scenario, "exosomes", "nope", 30)
    with pytest.raises(SensitivityError, match="no arm 'placebo'"):
        analyse(kb, lib, scenario, "placebo", "caf_fraction", 30)
    with pytest.raises(SensitivityError, match="not uncertain parameters"):
        analyse(kb, lib, scenario, "exosomes", "caf_fraction", 30, parameters=["warp_speed"])
    with pytest.raises(SensitivityError, match="that arm 'exosomes' reads: \\['kill_rate'\\]"):
        analyse(kb, lib, scenario, "exosomes", "caf_fraction", 30, parameters=["kill_rate"])


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
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "indices.json").read_text(encoding="utf-8"))
    assert data["names"] == CHOSEN and data["runs"] == 8 * (len(CHOSEN) + 2)
    assert (tmp_path / "plot.png").stat().st_size > 1000
    printed = json.loads(result.stdout)  # --json: stdout holds only the table, as JSON
    assert {row["parameter"] for row in printed} == set(CHOSEN)
    assert set(printed[0]) == {"parameter", "S1", "S1_conf", "ST", "ST_conf"}
    assert printed[0]["ST"] == max(data["total"])  # most influential first
    assert "wrote" in result.stderr


def test_the_plot_is_labelled(kb: KnowledgeBase, lib: Library) -> None:
    scenario = load_scenario("nf-to-caf-mir9-mir125b", kb, lib)
    indices = analyse(
        kb, lib, scenario, "exosomes", "caf_fraction", 30, "morris", n=2, parameters=CHOSEN[:2]
    )
    fig = figure(indices)
    [ax] = fig.axes
    assert ax.get_xlabel().startswith("Morris elementary effect")
    assert ax.get_ylabel().startswith("parameter")
    title = ax.get_title()
    assert title.startswith("Share of normal fibroblasts that are cancer-associated fibroblasts")
    assert "what drives it" in title
    assert "(fraction of cells)" in ax.get_xlabel()
    assert [t.get_text() for t in ax.get_yticklabels()][-1] in CHOSEN
