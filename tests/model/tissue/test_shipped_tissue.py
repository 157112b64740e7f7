"""The shipped spatial scenarios run, write their outputs and pass their checks."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model.rules.library import Library
from exotwin.model.scenario.load import load_scenario, packaged_scenarios
from exotwin.model.tissue.run import TissueResult

from ..reference_outputs import compare, reference

SHIPPED = packaged_scenarios("tissue")


def test_three_spatial_scenarios_with_checks(kb: KnowledgeBase, lib: Library) -> None:
    assert len(SHIPPED) >= 3
    for name, path in SHIPPED.items():
        scenario = load_scenario(path, kb, lib)
        assert scenario.id == name and scenario.tissue is not None
        assert scenario.records and len(scenario.checks) >= 3


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_tissue_scenario_runs_and_passes(
    shipped_tissue: Callable[[str], tuple[TissueResult, Path]], name: str
) -> None:
    result, out = shipped_tissue(name)
    assert result.passed, [c.describe() for c in result.checks if not c.passed]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["passed"] and summary["checks"]
    for arm, ledger in summary["mass_ledger"].items():
        assert (out / arm / "snapshot_day0.png").stat().st_size > 0
        assert (out / arm / "snapshot_day0.svg").stat().st_size > 0
        cells = pq.read_table(out / arm / "cells_day0.parquet").to_pandas()
        assert {"id", "x", "y", "z", "radius", "cell", "state", "phase"} <= set(cells.columns)
        fields = np.load(out / arm / "fields_day0.npz")
        assert "all exosomes" in fields.files
        exo = ledger["all exosomes"]
        balance = exo["initial"] + exo["secreted"] - exo["taken_up"] - exo["decayed"]
        assert abs(exo["in_field"] - balance) < 1e-9 * max(exo["secreted"], 1.0)
        share = result.scenario.parameters.get("tumour_vascular_release", 0.03)
        if result.scenario.tissue.compartment == "tumour":  # the rest entered the blood
            assert exo["to_blood"] == pytest.approx(exo["secreted"] * share / (1 - share))


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_tissue_readouts_match_reference(
    shipped_tissue: Callable[[str], tuple[TissueResult, Path]], name: str
) -> None:
    result, _ = shipped_tissue(name)
    kinds = {r.name: r.kind for r in result.scenario.readouts}
    expected = reference(f"tissue-{name}.json.gz")
    problems = compare(expected, result.times, result.readouts, kinds)
    assert not problems, problems
