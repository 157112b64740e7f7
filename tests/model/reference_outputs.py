"""Reference outputs: the readouts the model must reproduce (first recorded before the
one-equation-set rebuild of issue 11, which reproduced them).

``reference/`` holds every readout of every shipped scenario and tissue scenario, recorded
by ``reference/record.py`` (first from main before the equations were rebuilt, which the
rebuild reproduced; then again after the intended biology changes of issue 16):

- compartment scenarios integrated at rtol 1e-10 (``tight-*``): references of the equations
  themselves, free of the solver's step choices (at the default rtol 1e-6 two correct
  implementations differ by up to ~1e-4 where the solver takes other steps);
- tissue scenarios at seed 0 (the agents' random draws must be the same, draw for draw).

Each is compared beside the run its checks use (one run per scenario): compartment
scenarios in ``test_shipped_scenarios.py``, tissue scenarios in
``tissue/test_shipped_tissue.py``. This module holds what they share.

Every readout must agree within a relative difference of 1e-6 at every output time; values
below the solver's default absolute tolerance (a thousandth of a cell, 1 pM of drug) count as
that floor.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from exotwin.model.ode.solve import Tolerances

REFERENCE = Path(__file__).parent / "reference"
TOLERANCE = 1e-6
FLOOR = {  # the solver's default absolute tolerance of each kind of quantity
    "count": 1e-3,
    "killed": 1e-3,
    "exosomes": 1e-3,
    "drug": 1e-9,
    "offtarget_exposure": 1e-9,
}
TIGHT = Tolerances(rtol=1e-10, atol_scale=1e-6)


def reference(name: str) -> dict[str, Any]:
    if not (REFERENCE / name).exists():
        pytest.skip(f"no reference recorded for {name} (tests/model/reference/record.py)")
    with gzip.open(REFERENCE / name, "rt", encoding="utf-8") as fh:
        return json.load(fh)  # type: ignore[no-any-return]


def compare(
    expected: dict[str, Any], times: dict[str, Any], readouts: dict[str, Any], kinds: dict[str, str]
) -> list[str]:
    problems = []
    for arm, values in expected["readouts"].items():
        assert np.allclose(times[arm], expected["times"][arm], rtol=0, atol=1e-9), arm
        for name, recorded in values.items():
            ref, got = np.asarray(recorded), np.asarray(readouts[arm][name])
            scale = np.maximum(np.maximum(np.abs(ref), np.abs(got)), FLOOR.get(kinds[name], 1e-12))
            worst = float((np.abs(got - ref) / scale).max()) if ref.size else 0.0
            if worst > TOLERANCE:
                problems.append(f"{arm}/{name}: max relative difference {worst:.3g}")
    return problems
