"""The simulated liquid-biopsy assay: seeded noise, a detection limit, and checks that need an
effect beyond the assay's noise (a healthy-vs-cancer claim fails when the tumour-derived
share of an analyte hides in it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from exotwin.errors import ScenarioError
from exotwin.knowledge import KnowledgeBase
from exotwin.model.rules.library import Library
from exotwin.model.scenario.assay import AssaySettings
from exotwin.model.scenario.load import load_scenario, packaged_scenarios
from exotwin.model.scenario.run import ScenarioResult, run_scenario

from .conftest import SMALL_SCENARIO, write


def test_measurements_are_seeded_unbiased_and_censored() -> None:
    assay = AssaySettings(cv=0.2, detection_limit=50.0, replicates=1)
    values = np.full(20_000, 100.0)
    first = assay.measure(values, np.random.default_rng(1))
    assert np.array_equal(first, assay.measure(values, np.random.default_rng(1)))
    assert not np.array_equal(first, assay.measure(values, np.random.default_rng(2)))
    detected = first[first > 0]
    assert detected.mean() == pytest.approx(100.0, rel=0.02)  # no bias from the log-normal
    assert first.std() / first.mean() == pytest.approx(0.2, rel=0.1)
    low = assay.measure(np.full(100, 10.0), np.random.default_rng(1))
    assert not low.any()  # 10 copies/mL read as not detected below the limit of 50
    three = AssaySettings(cv=0.2, detection_limit=0.0, replicates=3)
    assert three.resolvable(">", paired=True) < assay.resolvable(">", paired=True)
    assert assay.resolvable(">", paired=False) < assay.resolvable(">", paired=True)


def _plasma_scenario(
    tmp_path: Path, kb: KnowledgeBase, lib: Library, assay: dict[str, Any] | None, **params: float
) -> Any:
    """The shipped cancer-vs-healthy plasma scenario, reduced to Hsp70 and its check, with an
    early tumour of 1e7 cells (~0.01 cm3) that adds a few per cent to the healthy baseline."""
    data = yaml.safe_load(
        packaged_scenarios()["plasma-markers-cancer-vs-healthy"].read_text(encoding="utf-8")
    )
    data["populations"][0]["count"] = 1.0e7
    data["readouts"] = [
        {"name": "plasma_hsp70", "kind": "exosomes", "cargo": "HSPA1A", "compartment": "plasma"}
        | ({"assay": assay} if assay is not None else {}),
        {"name": "hsp70_share", "kind": "tumour_derived", "cargo": "HSPA1A"}
        | {"compartment": "plasma"},
    ]
    data["checks"] = [c for c in data["checks"] if c["readout"] == "plasma_hsp70"]
    data["parameters"] = params
    return load_scenario(write(tmp_path, yaml.safe_dump(data)), kb, lib)


def _hsp70(result: ScenarioResult) -> tuple[bool, float, float]:
    check = result.checks[0]
    share = float(result.readouts["patient"]["hsp70_share"][-1])
    return check.passed, check.min_effect, share


def test_cancer_above_healthy_needs_an_effect_beyond_assay_noise(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    exact = run_scenario(kb, lib, _plasma_scenario(tmp_path, kb, lib, None))
    passed, needed, share = _hsp70(exact)
    assert passed and needed == pytest.approx(0.01) and share < 0.1  # a few % passes noiseless

    measured = run_scenario(kb, lib, _plasma_scenario(tmp_path, kb, lib, {}), seed=3)
    passed, needed, share = _hsp70(measured)
    assert not passed and needed > 0.5 and share < 0.1  # the tumour's share hides in the noise
    assert measured.readouts["patient"]["plasma_hsp70"][-1] > 0  # above the detection limit

    # a tumour-specific analyte (healthy background at the low end of its range): the tumour
    # makes most of it, yet its ~70 copies/mL lie below the default detection limit (100), so
    # the assay reads it as not detected on most days
    specific = {"analyte_background_copies": 1e-9}
    below = run_scenario(kb, lib, _plasma_scenario(tmp_path, kb, lib, {}, **specific))
    read = below.readouts["patient"]["plasma_hsp70"]
    assert np.mean(read == 0) > 0.5 and not below.checks[0].passed
    # a more sensitive assay, in triplicate, tells the patient from the healthy woman
    sensitive = {"replicates": 3, "detection_limit": 1.0}
    scenario = _plasma_scenario(tmp_path, kb, lib, sensitive, **specific)
    for seed in range(5):
        passed, needed, share = _hsp70(run_scenario(kb, lib, scenario, seed=seed))
        assert passed and share > 0.8


def test_same_seed_same_measurements(tmp_path: Path, kb: KnowledgeBase, lib: Library) -> None:
    scenario = _plasma_scenario(tmp_path, kb, lib, {"cv": 0.3, "detection_limit": 0})
    first, again, other = (run_scenario(kb, lib, scenario, seed=s) for s in (7, 7, 8))
    series = [r.readouts["patient"]["plasma_hsp70"] for r in (first, again, other)]
    assert np.array_equal(series[0], series[1])
    assert not np.array_equal(series[0], series[2])
    healthy = first.readouts["healthy"]["plasma_hsp70"]
    assert not np.array_equal(series[0], healthy)  # each arm draws its own noise


def test_an_assay_reads_plasma_exosome_readouts_only(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    text = SMALL_SCENARIO.replace(
        "among: {cell: fibroblast}}", "among: {cell: fibroblast}, assay: {cv: 0.1}}"
    )
    with pytest.raises(ScenarioError, match=r"scenario.yaml:15: readouts.0.assay: an assay reads"):
        load_scenario(write(tmp_path, text), kb, lib)
    tumour = (
        "  - {name: tumour_mir9, kind: exosomes, cargo: miR-9, compartment: tumour, assay: {}}\n"
    )
    text = SMALL_SCENARIO.replace("checks:\n", tumour + "checks:\n")
    with pytest.raises(ScenarioError, match=r"readouts.2.assay: .*of plasma \(a liquid biopsy\)"):
        load_scenario(write(tmp_path, text), kb, lib)
