"""Rule semantics: PhysiCell's Hill response, in one place."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from exotwin.model.rules.response import behaviour, hill_sum, saturating

positive = st.floats(min_value=0, max_value=1e6, allow_nan=False)


def test_hill_matches_the_physicell_formula() -> None:
    s = hill_sum([(5.0, 5.0, 4.0)])  # signal at half-max: (1)^4 = 1, H = 1/2
    assert s == 1.0 and saturating(s) == 0.5
    # PhysiCell: U = b0 + (bmax - b0) H_up, then U + (bmin - U) H_down
    assert behaviour(1.0, 3.0, 0.0, 1.0, 0.0) == 2.0
    assert behaviour(1.0, 3.0, 0.0, 1.0, 1.0) == 1.0
    assert behaviour(1.0, 3.0, 0.0, 0.0, 0.0) == 1.0


def test_signals_add_before_saturating() -> None:
    assert hill_sum([(1.0, 1.0, 1.0), (2.0, 2.0, 2.0)]) == 2.0
    assert hill_sum([(-3.0, 1.0, 1.0)]) == 0.0  # negative signals count as none


@given(positive, positive, positive, positive, positive)
def test_response_stays_between_its_saturation_values(
    base: float, b_max: float, b_min: float, up: float, down: float
) -> None:
    value = behaviour(base, b_max, b_min, up, down)
    low, high = min(base, b_max, b_min), max(base, b_max, b_min)
    assert low - 1e-9 * (1 + high) <= value <= high + 1e-9 * (1 + high)


@given(positive, positive)
def test_more_signal_never_lowers_an_up_regulated_behaviour(s1: float, s2: float) -> None:
    lo, hi = sorted((s1, s2))
    assert behaviour(1.0, 5.0, 0.0, lo, 0.0) <= behaviour(1.0, 5.0, 0.0, hi, 0.0) + 1e-12
