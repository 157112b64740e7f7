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
Ints = NDArray[np.int32]  # indices in 32 bits: the factorisation and solves are memory-bound


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
    update_ptr: Ints  # per multiplier a: its updates target[update_ptr[a]:update_ptr[a+1]]
    target: Ints  # entry (i, j) updated
    source: Ints  # by entry (k, j)
    row_ptr: Ints  # entries of the filled matrix are stored by (permuted) row: row k's are
    # row_ptr[k]:row_ptr[k+1], its pivot at pivot[k], their (permuted) columns in column
    pivot: Ints
    column: Ints
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
    lower_ptr, lower, update_ptr, target, source = [0], [], [0], [], []
    for k in range(size):
        right = np.flatnonzero(fill[k, k + 1 :]) + k + 1
        for i in np.flatnonzero(fill[k + 1 :, k]) + k + 1:
            lower.append(index[i, k])
            target += index[i, right].tolist()
            source += index[k, right].tolist()
            update_ptr.append(len(target))
        lower_ptr.append(len(lower))
    pcols, prows = np.nonzero(dense.T)  # CSC order of the pattern
    known = index[rank[prows], rank[pcols]]
    diagonal = index[rank, rank]

    def ints(values: list[int] | NDArray[np.int64]) -> Ints:
        return np.asarray(values, dtype=np.int32)

    return StaticLU(
        size, len(rows), ints(order), ints(diagonal), ints(known), ints(lower_ptr), ints(lower),
        ints(update_ptr), ints(target), ints(source),
        ints(np.searchsorted(rows, np.arange(size + 1))), ints(index[np.arange(size), np.arange(size)]),
        ints(cols), ints(prows), ints(pcols),
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
    _solve(values, b, out, lu.order, lu.row_ptr, lu.pivot, lu.column)


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
    w: Array, b: Array, x: Array, order: Ints, row_ptr: Ints, pivot: Ints, column: Ints
) -> None:
    """Forward and back substitution row by row: each row's factors are contiguous."""
    n = len(order)
    z = np.empty(n)  # the permuted solution
    for k in range(n):
        s = b[order[k]]
        for e in range(row_ptr[k], pivot[k]):
            s -= w[e] * z[column[e]]
        z[k] = s
    for k in range(n - 1, -1, -1):
        s = z[k]
        for e in range(pivot[k] + 1, row_ptr[k + 1]):
            s -= w[e] * z[column[e]]
        z[k] = s * w[pivot[k]]
        x[order[k]] = z[k]


def multiply(jacobian: Array, rows: Ints, cols: Ints, v: Array, out: Array) -> None:
    """``out`` = J ``v`` (``jacobian``: the pattern's values at ``rows``, ``cols``)."""
    _multiply(jacobian, rows, cols, v, out)


@njit(cache=True, nogil=True)
def _multiply(jac: Array, rows: Ints, cols: Ints, v: Array, out: Array) -> None:
    out[:] = 0.0
    for e in range(len(jac)):
        out[rows[e]] += jac[e] * v[cols[e]]
