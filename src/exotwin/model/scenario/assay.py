"""A simulated liquid-biopsy assay: what a plasma measurement of an exosome readout reads.

The model's copies per mL (blood cells' background plus what the tumour adds) are measured
with multiplicative log-normal noise of a coefficient of variation (mean-preserving; the mean
of ``replicates`` measurements) and read 0, not detected, below the detection limit. The
draws depend only on the seed, the arm and the readout: the same seed gives the same result.

A strict check on an assay readout needs an effect beyond the assay's noise: at least the
smallest relative difference the measurements resolve at 95 % (two-sided), so a claim such as
"higher in cancer than in health" fails when what the tumour adds hides in the noise.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..rules.library import Library
from .schema import Check, Readout, Scenario

Series = NDArray[np.float64]
Measure = Callable[[Readout, Series], Series]
Z95 = 1.959963984540054  # two-sided 95 % quantile of the standard normal


@dataclass(frozen=True)
class AssaySettings:
    cv: float  # coefficient of variation of one measurement
    detection_limit: float  # copies/mL; below it a measurement reads 0
    replicates: int

    @property
    def sigma(self) -> float:
        """Standard deviation of the log of one measurement (log-normal with this CV)."""
        return math.sqrt(math.log1p(self.cv**2))

    def measure(self, values: Series, rng: np.random.Generator) -> Series:
        """Noisy measurements of ``values`` (one per output time), 0 below the limit."""
        draws = rng.standard_normal((self.replicates, len(values)))
        noise = np.exp(self.sigma * draws - self.sigma**2 / 2).mean(axis=0)
        measured = np.maximum(values, 0.0) * noise
        return np.where(measured >= self.detection_limit, measured, 0.0)

    def resolvable(self, op: str, paired: bool) -> float:
        """The smallest relative effect in the claimed direction (as checks measure it) that
        the assay resolves: two measured sides (``paired``) or one against a constant."""
        spread = Z95 * self.sigma * math.sqrt((2.0 if paired else 1.0) / self.replicates)
        return math.expm1(spread) if op in {">", ">="} else -math.expm1(-spread)


def assay_settings(lib: Library, scenario: Scenario) -> dict[str, AssaySettings]:
    """The assay of each readout that has one, its defaults from parameters.yaml (with the
    scenario's overrides)."""
    found = {}
    for r in scenario.readouts:
        if r.assay is None:
            continue
        cv = r.assay.cv
        limit = r.assay.detection_limit
        found[r.name] = AssaySettings(
            cv if cv is not None else lib.value("assay_cv", scenario.parameters),
            limit if limit is not None else lib.value("assay_detection_limit", scenario.parameters),
            r.assay.replicates,
        )
    return found


def measurer(assays: dict[str, AssaySettings], arm: str, seed: int) -> Measure:
    """What :func:`~exotwin.model.scenario.readouts.evaluate` applies to each readout of one
    arm: the assay's measurement where the readout has one, else the value itself."""

    def measure(readout: Readout, values: Series) -> Series:
        settings = assays.get(readout.name)
        if settings is None:
            return values
        rng = np.random.default_rng([seed % 2**63, _code(arm), _code(readout.name)])
        return settings.measure(values, rng)

    return measure


def check_noise(assays: dict[str, AssaySettings]) -> Callable[[Check], float]:
    """The smallest effect a check resolves: the largest over the assays of the readouts it
    compares (0 where neither side is an assay readout)."""

    def noise(check: Check) -> float:
        paired = check.than.value is None
        names = {check.readout, check.than.readout or check.readout} if paired else {check.readout}
        found = [assays[n].resolvable(check.op, paired) for n in names if n in assays]
        return max(found, default=0.0)

    return noise


def _code(name: str) -> int:
    """A stable number for a name (Python's hash of a string changes between runs)."""
    return zlib.crc32(name.encode("utf-8"))
