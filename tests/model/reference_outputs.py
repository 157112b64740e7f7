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

A tissue readout must agree within a relative difference of 1e-6 at every output time. A
compartment scenario's checks run at the solver's default tolerances, as ``exotwin`` runs them
(2-3 times faster than rtol 1e-10), and its readouts must agree with the tight references within
``DEFAULT_RUN`` (2e-3; on 35 scenarios the worst default-against-tight difference above the
floors was 8.9e-4). Values below a floor count as that floor: the solver's default absolute
tolerance for the tight and tissue comparisons (a thousandth of a cell, 1e-9 uM of drug), a
thousand times that against a default run (one cell, one exosome, 1e-6 uM of drug), where
the solver controls such values only to its absolute tolerance.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Agreement:
    """How close a run's readouts must come to a reference: relative ``tolerance`` above
    ``FLOOR`` times ``floor_scale``."""

    tolerance: float = TOLERANCE
    floor_scale: float = 1.0


EXACT = Agreement()  # the tissue's seeded runs, and tight runs
DEFAULT_RUN = Agreement(tolerance=2e-3, floor_scale=1e3)  # a run at the default tolerances


def reference(name: str) -> dict[str, Any]:
    if not (REFERENCE / name).exists():
        pytest.skip(f"no reference recorded for {name} (tests/model/reference/record.py)")
    with gzip.open(REFERENCE / name, "rt", encoding="utf-8") as fh:
        return json.load(fh)  # type: ignore[no-any-return]


def compare(
    expected: dict[str, Any],
    times: dict[str, Any],
    readouts: dict[str, Any],
    kinds: dict[str, str],
    within: Agreement = EXACT,
) -> list[str]:
    """Each readout that differs from its reference by more than ``within`` allows."""
    problems = []
    for arm, values in expected["readouts"].items():
        assert np.allclose(times[arm], expected["times"][arm], rtol=0, atol=1e-9), arm
        for name, recorded in values.items():
            ref, got = np.asarray(recorded), np.asarray(readouts[arm][name])
            floor = FLOOR.get(kinds[name], 1e-12) * within.floor_scale
            scale = np.maximum(np.maximum(np.abs(ref), np.abs(got)), floor)
            worst = float((np.abs(got - ref) / scale).max()) if ref.size else 0.0
            if worst > within.tolerance:
                problems.append(f"{arm}/{name}: max relative difference {worst:.3g}")
    return problems
