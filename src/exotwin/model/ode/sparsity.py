"""Column colouring of a sparsity pattern, for Jacobians by finite differences (numpy only:
the single-run solver uses it without importing JAX)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def colouring(pattern: NDArray[np.bool_]) -> NDArray[np.int64]:
    """A greedy column colouring: columns of one colour share no row of ``pattern``."""
    size = pattern.shape[1]
    shares = pattern.T.astype(np.int64) @ pattern.astype(np.int64) > 0  # columns sharing a row
    colour = np.full(size, -1)
    for j in range(size):
        used = set(colour[shares[j]].tolist())
        colour[j] = next(c for c in range(size) if c not in used)
    return colour
