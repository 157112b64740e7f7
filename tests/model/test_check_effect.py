"""Checks have an effect size (issue 16, cause 8; docs/scenarios.md "Checks have an effect
size"): a strict check passes only with a relative effect of at least ``min_effect`` (default
1 %), never below the solver's noise (1e-4); another ``min_effect`` needs a reason; ``>=`` and
``<=`` compare as written; a compared side that is zero throughout is flagged as holding by
construction. The checker is fed made-up readout series, so each rule is tested on its own.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from exotwin.errors import ScenarioError
from exotwin.knowledge import KnowledgeBase
from exotwin.model.rules.library import Library
from exotwin.model.scenario.load import load_scenario
from exotwin.model.scenario.readouts import CheckResult, run_checks

from .conftest import SMALL_SCENARIO, write

CHECK = """\
checks:
  - name: more-cafs-with-exosomes
    readout: caf_fraction
    arm: exosomes
    day: 10
    op: "{op}"
    than: {{arm: no-release}}
{extra}"""


def _verdict(
    tmp_path: Path,
    kb: KnowledgeBase,
    lib: Library,
    left: float,
    right: float | list[float],
    op: str = ">",
    extra: str = "",
) -> CheckResult:
    """The one check of the small scenario on made-up series: ``left`` in the exosome arm and
    ``right`` in the other arm (a constant, or a series over the run's days)."""
    text = SMALL_SCENARIO.split("checks:")[0] + CHECK.format(op=op, extra=extra)
    scenario = load_scenario(write(tmp_path, text), kb, lib)
    times = np.linspace(0.0, 10.0, 11)
    other = np.full(11, right) if isinstance(right, float) else np.asarray(right)
    values = {
        "exosomes": {"caf_fraction": np.full(11, left)},
        "no-release": {"caf_fraction": other},
    }
    times_per_arm = {"exosomes": times, "no-release": times}
    [result] = run_checks(scenario, times_per_arm, values)
    return result


def test_a_strict_check_needs_the_default_one_percent(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    below = _verdict(tmp_path, kb, lib, 0.1005, 0.1)  # +0.5 %: in the claimed direction
    assert not below.passed
    assert below.effect == pytest.approx(0.005)
    assert below.min_effect == pytest.approx(0.01)
    assert "at least 1% needed" in below.describe()
    assert _verdict(tmp_path, kb, lib, 0.102, 0.1).passed  # +2 %


def test_a_reasoned_min_effect_replaces_the_default(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    reason = "    min_effect: 0.001\n    min_effect_reason: the paper reports a small shift\n"
    assert _verdict(tmp_path, kb, lib, 0.1005, 0.1, extra=reason).passed
    larger = "    min_effect: 0.5\n    min_effect_reason: the paper reports a doubling\n"
    assert not _verdict(tmp_path, kb, lib, 0.14, 0.1, extra=larger).passed  # +40 % < 50 %


def test_a_min_effect_without_reason_is_refused(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    text = SMALL_SCENARIO.split("checks:")[0] + CHECK.format(
        op=">", extra="    min_effect: 0.001\n"
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, text), kb, lib)
    found = [str(p) for p in info.value.problems]
    assert any("min_effect_reason" in p for p in found), found


def test_solver_noise_never_passes(tmp_path: Path, kb: KnowledgeBase, lib: Library) -> None:
    """Even a check that asks for no effect at all does not pass on a difference of 5e-5."""
    none = "    min_effect: 0\n    min_effect_reason: any difference would do\n"
    assert not _verdict(tmp_path, kb, lib, 1.00005, 1.0, extra=none).passed
    assert _verdict(tmp_path, kb, lib, 1.0002, 1.0, extra=none).passed


def test_non_strict_checks_compare_as_written(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    assert _verdict(tmp_path, kb, lib, 0.1, 0.1, op=">=").passed
    assert _verdict(tmp_path, kb, lib, 0.1, 0.1, op="<=").passed
    assert not _verdict(tmp_path, kb, lib, 0.1, 0.1, op=">").passed


def test_a_compared_side_zero_throughout_is_flagged(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    zero = _verdict(tmp_path, kb, lib, 0.2, 0.0)
    assert zero.passed and zero.by_construction
    assert "holds by construction" in zero.describe()
    # zero at the day compared but not throughout: a real comparison, not flagged
    earlier = _verdict(tmp_path, kb, lib, 0.2, [0.05] + [0.0] * 10)
    assert earlier.passed and not earlier.by_construction
