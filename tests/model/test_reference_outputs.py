"""The rebuilt model reproduces the readouts recorded before the rebuild (issue 11).

``reference/*.json.gz`` hold every readout of every shipped scenario (compartment model) and
every tissue scenario (seed 0), recorded by ``reference/record.py`` from main before the
equations were rebuilt. The same readouts must come out within a relative difference of 1e-6
at every output time.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model.library import Library
from exotwin.model.scenario import load_scenario, packaged_scenarios
from exotwin.model.tissue.run import run_tissue

from .shipped_results import shipped_result

REFERENCE = Path(__file__).parent / "reference"
TOLERANCE = 1e-6


def _reference(kind: str, name: str) -> dict:  # type: ignore[type-arg]
    with gzip.open(REFERENCE / f"{kind}-{name}.json.gz", "rt", encoding="utf-8") as fh:
        return json.load(fh)  # type: ignore[no-any-return]


def _compare(expected: dict, times: dict, readouts: dict) -> list[str]:  # type: ignore[type-arg]
    problems = []
    for arm, values in expected["readouts"].items():
        assert np.allclose(times[arm], expected["times"][arm], rtol=0, atol=1e-9), arm
        for name, reference in values.items():
            ref, got = np.asarray(reference), np.asarray(readouts[arm][name])
            scale = np.maximum(np.abs(ref), np.abs(got))
            # values that are zero in both, or below a tiny absolute floor, are equal
            diff = np.abs(got - ref) / np.where(scale > 1e-12, scale, 1.0)
            worst = float(diff.max()) if diff.size else 0.0
            if worst > TOLERANCE:
                problems.append(f"{arm}/{name}: max relative difference {worst:.3g}")
    return problems


@pytest.mark.parametrize("name", sorted(packaged_scenarios()))
def test_compartment_readouts_match_reference(kb: KnowledgeBase, lib: Library, name: str) -> None:
    result = shipped_result(kb, lib, name)
    times = {arm: t.times for arm, t in result.trajectories.items()}
    problems = _compare(_reference("scenarios", name), times, result.readouts)
    assert not problems, problems


@pytest.mark.parametrize("name", sorted(packaged_scenarios("tissue")))
def test_tissue_readouts_match_reference(kb: KnowledgeBase, lib: Library, name: str) -> None:
    scenario = load_scenario(packaged_scenarios("tissue")[name], kb, lib)
    result = run_tissue(kb, lib, scenario, seed=0, out=None, plots=False)
    problems = _compare(_reference("tissue", name), result.times, result.readouts)
    assert not problems, problems
