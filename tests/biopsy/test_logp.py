"""p-values in log space: equal to scipy's where scipy is precise, finite where it underflows."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from exotwin.biopsy import logp


@pytest.fixture
def always_log_space(monkeypatch: pytest.MonkeyPatch) -> None:
    """Use the log-space identities for every p, to compare them with scipy."""
    monkeypatch.setattr(logp, "_PRECISE", 1.0)


def _samples(shift: float, n1: int = 40, n2: int = 60, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    return rng.normal(shift, 1.0, (n1, 4)), rng.normal(0.0, 1.3, (n2, 4))


@pytest.mark.usefixtures("always_log_space")
@pytest.mark.parametrize("shift", [0.8, 2.0, 4.0])
def test_log_space_identities_match_scipy(shift: float) -> None:
    a, b = _samples(shift)
    expected = stats.ttest_ind(a, b, equal_var=False).pvalue
    np.testing.assert_allclose(logp.log_p_welch(a, b), np.log(expected), rtol=1e-9)
    expected = stats.mannwhitneyu(a, b).pvalue
    np.testing.assert_allclose(logp.log_p_mannwhitney(a, b), np.log(expected), rtol=1e-9)
    c = np.random.default_rng(1).normal(shift / 2, 1.0, (30, 4))
    expected = stats.f_oneway(a, b, c).pvalue
    np.testing.assert_allclose(logp.log_p_anova([a, b, c]), np.log(expected), rtol=1e-9)
    expected = stats.kruskal(a, b, c).pvalue
    np.testing.assert_allclose(logp.log_p_kruskal([a, b, c]), np.log(expected), rtol=1e-9)


def test_underflowing_p_values_stay_finite_and_ordered() -> None:
    """scipy says 0 for all of these; in log space they are finite and keep their order."""
    rng = np.random.default_rng(2)
    a = rng.normal(0, 1, (1500, 3)) + np.array([3.0, 4.0, 5.0])
    b = rng.normal(0, 1, (2000, 3))
    assert (stats.ttest_ind(a, b, equal_var=False).pvalue == 0).all()
    for log_p in (
        logp.log_p_welch(a, b),
        logp.log_p_mannwhitney(a, b),
        logp.log_p_anova([a, b]),
        logp.log_p_kruskal([a, b]),
    ):
        assert np.isfinite(log_p).all() and (log_p / np.log(10) < -300).all()
        assert log_p[0] > log_p[1] > log_p[2]  # larger shift, smaller p
