"""A sparse LU with a static pivot order, for CVODE's Newton matrix ``I - gamma J``.

The pattern of a model's Jacobian is the same for every patient and every step, so the
ordering, the fill and the list of updates are worked out once (:class:`StaticLU`); each
factorisation is then a loop over precomputed entry indices (numba), with no search, no
allocation and no pivoting (a pivot that is not finite raises: the caller retries the patient
another way).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numba import njit
from numpy.typing import NDArray

from .rosenbrock import elimination_order

Array = NDArray[np.float64]
Ints = NDArray[np.int64]


@dataclass(frozen=True)
class StaticLU:
    """The symbolic factorisation of a pattern: entries of the filled matrix, the pattern's
    entries (CSC order) among them, and per elimination step its updates."""

    size: int
    entries: int
    order: Ints  # pivot variables in elimination order
    diagonal: Ints  # entry of (i, i) per variable
    known: Ints  # per pattern entry (CSC order): its entry in the filled matrix
    lower_ptr: Ints  # per step k: its multipliers lower[lower_ptr[k]:lower_ptr[k+1]]
    lower: Ints  # entry (i, k) of each multiplier
    lower_row: Ints  # its row i
    update_ptr: Ints  # per multiplier a: its updates target[update_ptr[a]:update_ptr[a+1]]
    target: Ints  # entry (i, j) updated
    source: Ints  # by entry (k, j)
    upper_ptr: Ints  # per step k: entries (k, j) right of the pivot
    upper: Ints
    upper_col: Ints
    rows: Ints  # per pattern entry (CSC order): its row and column
    cols: Ints


@lru_cache(maxsize=4)
def _analyse(pattern: bytes, size: int) -> StaticLU:
    dense = np.frombuffer(pattern, dtype=bool).reshape(size, size)
    order = np.asarray(elimination_order(dense), dtype=np.int64)
    rank = np.empty(size, dtype=np.int64)
    rank[order] = np.arange(size)
    fill = (dense | np.eye(size, dtype=bool))[np.ix_(order, order)]
    for k in range(size):
        below = np.flatnonzero(fill[k + 1 :, k]) + k + 1
        fill[np.ix_(below, np.flatnonzero(fill[k, k + 1 :]) + k + 1)] = True
    index = -np.ones((size, size), dtype=np.int64)  # permuted positions -> entry
    rows, cols = np.nonzero(fill)
    index[rows, cols] = np.arange(len(rows))
    lower_ptr, lower, lower_row, update_ptr, target, source = [0], [], [], [0], [], []
    upper_ptr, upper, upper_col = [0], [], []
    for k in range(size):
        right = np.flatnonzero(fill[k, k + 1 :]) + k + 1
        upper += index[k, right].tolist()
        upper_col += order[right].tolist()
        upper_ptr.append(len(upper))
        for i in np.flatnonzero(fill[k + 1 :, k]) + k + 1:
            lower.append(index[i, k])
            lower_row.append(order[i])
            target += index[i, right].tolist()
            source += index[k, right].tolist()
            update_ptr.append(len(target))
        lower_ptr.append(len(lower))
    pcols, prows = np.nonzero(dense.T)  # CSC order of the pattern
    known = index[rank[prows], rank[pcols]]
    diagonal = index[rank, rank]

    def ints(values: list[int] | Ints) -> Ints:
        return np.asarray(values, dtype=np.int64)

    return StaticLU(
        size, len(rows), order, diagonal, known, ints(lower_ptr), ints(lower),
        ints(lower_row), ints(update_ptr), ints(target), ints(source), ints(upper_ptr),
        ints(upper), ints(upper_col), prows, pcols,
    )  # fmt: skip


def analyse(pattern: NDArray[np.bool_]) -> StaticLU:
    """The symbolic factorisation of ``pattern`` (dense boolean; cached per pattern)."""
    dense = np.ascontiguousarray(pattern, dtype=bool)
    return _analyse(dense.tobytes(), len(dense))


def factor(lu: StaticLU, jacobian: Array, gamma: float, out: Array) -> bool:
    """Factor ``I - gamma J`` (``jacobian``: the pattern's values, CSC order) into ``out``
    (the pivots stored inverted); False if a pivot is not finite or zero."""
    return bool(
        _factor(
            jacobian, gamma, out, lu.known, lu.diagonal, lu.order, lu.lower_ptr, lu.lower,
            lu.update_ptr, lu.target, lu.source,
        )
    )  # fmt: skip


def solve(lu: StaticLU, values: Array, b: Array, out: Array) -> None:
    """``out`` = (I - gamma J)^-1 ``b`` with the factors of :func:`factor`."""
    _solve(
        values, b, out, lu.order, lu.diagonal, lu.lower_ptr, lu.lower, lu.lower_row,
        lu.upper_ptr, lu.upper, lu.upper_col,
    )  # fmt: skip


@njit(cache=True, nogil=True)
def _factor(
    jac: Array,
    gamma: float,
    w: Array,
    known: Ints,
    diagonal: Ints,
    order: Ints,
    lower_ptr: Ints,
    lower: Ints,
    update_ptr: Ints,
    target: Ints,
    source: Ints,
) -> bool:
    w[:] = 0.0
    for e in range(len(known)):
        w[known[e]] = -gamma * jac[e]
    for v in range(len(diagonal)):
        w[diagonal[v]] += 1.0
    for k in range(len(order)):
        d = w[diagonal[order[k]]]
        if d == 0.0 or not np.isfinite(d):
            return False
        inv = 1.0 / d
        w[diagonal[order[k]]] = inv
        for a in range(lower_ptr[k], lower_ptr[k + 1]):
            e = lower[a]
            w[e] *= inv
            m = w[e]
            for u in range(update_ptr[a], update_ptr[a + 1]):
                w[target[u]] -= m * w[source[u]]
    return True


@njit(cache=True, nogil=True)
def _solve(
    w: Array,
    b: Array,
    x: Array,
    order: Ints,
    diagonal: Ints,
    lower_ptr: Ints,
    lower: Ints,
    lower_row: Ints,
    upper_ptr: Ints,
    upper: Ints,
    upper_col: Ints,
) -> None:
    x[:] = b
    for k in range(len(order)):
        xk = x[order[k]]
        if xk != 0.0:
            for a in range(lower_ptr[k], lower_ptr[k + 1]):
                x[lower_row[a]] -= w[lower[a]] * xk
    for k in range(len(order) - 1, -1, -1):
        i = order[k]
        s = x[i]
        for a in range(upper_ptr[k], upper_ptr[k + 1]):
            s -= w[upper[a]] * x[upper_col[a]]
        x[i] = s * w[diagonal[i]]


def multiply(jacobian: Array, rows: Ints, cols: Ints, v: Array, out: Array) -> None:
    """``out`` = J ``v`` (``jacobian``: the pattern's values at ``rows``, ``cols``)."""
    _multiply(jacobian, rows, cols, v, out)


@njit(cache=True, nogil=True)
def _multiply(jac: Array, rows: Ints, cols: Ints, v: Array, out: Array) -> None:
    out[:] = 0.0
    for e in range(len(jac)):
        out[rows[e]] += jac[e] * v[cols[e]]
