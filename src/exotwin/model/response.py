"""Rule semantics, in one place: PhysiCell's Hill response (cell-behaviour hypothesis grammar).

For a behaviour with base value ``b0``, saturation values ``b_max`` (up) and ``b_min`` (down),
and signals ``s_i`` with half-max ``h_i`` and Hill power ``n_i``:

    S = sum_i (s_i / h_i) ** n_i,   H(S) = S / (1 + S)
    U = b0 + (b_max - b0) * H(S_up);  U = U + (b_min - U) * H(S_down)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

Value = TypeVar("Value", float, NDArray[np.float64])


def hill_sum(terms: Iterable[tuple[float, float, float]]) -> float:
    """``S`` for (signal, half_max, hill) triples; negative signals count as zero."""
    return sum((max(signal, 0.0) / half_max) ** hill for signal, half_max, hill in terms)


def saturating(total: Value) -> Value:
    """``H(S) = S / (1 + S)``."""
    return total / (1.0 + total)


def behaviour(base: float, b_max: float, b_min: float, s_up: float, s_down: float) -> float:
    """The behaviour value after up- and down-regulating signals (PhysiCell semantics)."""
    value = base + (b_max - base) * saturating(s_up)
    return value + (b_min - value) * saturating(s_down)
