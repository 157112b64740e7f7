"""Which parameters decide whether a check holds over the robustness draws.

Monte Carlo filtering (Hornberger and Spear, J Environ Manage 1981; Saltelli et al., *Global
Sensitivity Analysis: The Primer*, 2008, ch. 5): the draws split into those in which a check
holds and those in which it does not, and a parameter drives the verdict where its values
differ between the two sets. The difference is scipy's two-sample Kolmogorov-Smirnov
statistic D (0: same distribution, 1: fully separated). Up to three parameters are listed,
strongest first, each with its D and its p-value Bonferroni-corrected for the number of
parameters tested (those the scenario uses); a parameter is listed only where its own
p-value is below ``ALPHA``. A corrected p below 0.05 is a driver with confidence; above it, a
lead to follow with more draws. A check with none listed holds or fails by chance as far as
the draws show, or depends on several parameters together (a product such as loading x
uptake / half-maximum), which one-at-a-time filtering does not see.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import ks_2samp

ALPHA = 0.05  # screening level of one parameter's own (uncorrected) p-value


@dataclass(frozen=True)
class Driver:
    """A parameter whose drawn values separate the draws where a check holds from the rest."""

    parameter: str
    statistic: float  # Kolmogorov-Smirnov D between holding and failing draws
    pvalue: float  # Bonferroni-corrected
    holds_when: str  # "high" or "low": where the check holds, the parameter's median is

    def describe(self) -> str:
        arrow = "\u2191" if self.holds_when == "high" else "\u2193"
        return f"{self.parameter}{arrow} (D {self.statistic:.2f}, p {self.pvalue:.2g})"

    def to_json(self) -> dict[str, object]:
        return {
            "parameter": self.parameter,
            "ks_statistic": round(self.statistic, 4),
            "p_bonferroni": float(f"{self.pvalue:.3g}"),
            "holds_when": self.holds_when,
        }


def drivers(
    values: Mapping[str, Sequence[float]],
    held: Sequence[bool],
    top: int = 3,
    alpha: float = ALPHA,
) -> tuple[Driver, ...]:
    """The up to ``top`` parameters (``values``: each parameter's value in every draw) whose
    draws differ most between those in which a check ``held`` and the others, strongest
    first; none where the check holds in every draw or in none."""
    outcome = np.asarray(held, dtype=bool)
    if outcome.all() or not outcome.any() or not values:
        return ()
    found = []
    for name, drawn in values.items():
        x = np.asarray(drawn, dtype=float)
        if np.ptp(x) == 0:
            continue
        test = ks_2samp(x[outcome], x[~outcome])
        if test.pvalue < alpha:
            p = min(1.0, float(test.pvalue) * len(values))
            high = np.median(x[outcome]) >= np.median(x[~outcome])
            found.append(Driver(name, float(test.statistic), p, "high" if high else "low"))
    found.sort(key=lambda d: (-d.statistic, d.pvalue, d.parameter))
    return tuple(found[:top])
