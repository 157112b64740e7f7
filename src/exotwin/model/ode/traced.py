"""A third backend for the equations: JAX arrays, so the right-hand side can be traced once
into an XLA program (jit, vmap over patients, jacfwd for the Jacobian).

The equations (:mod:`exotwin.model.ode.equations`) run unchanged on it; only the few backend
operations differ from :class:`exotwin.model.ode.algebra.Numeric`. Callers trace under
``jax.enable_x64(True)`` so every number is a 64-bit float.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np
from numpy.typing import NDArray

from ..rules.rows import CompiledModel
from .algebra import Segments
from .equations import Derived, Flux, derive, fluxes

Array = Any  # a jax array (or a tracer)
DENSE_SUM = 20_000  # rows x outputs of a scatter-add done as sums of columns (above it a
# scatter: on the ~600-variable model a one-hot matmul made one patient's right-hand side 5x
# slower)


class Traced:
    """JAX arrays whose last axis is the equations' own, leading axes a batch."""

    symbolic = False

    @staticmethod
    def where(condition: Any, a: Any, b: Any) -> Array:
        return jnp.where(condition, a, b)

    @staticmethod
    def put(x: Array, index: Any, values: Any) -> Array:
        """A copy of ``x`` with ``values`` at ``[..., index]``."""
        return jnp.asarray(x).at[..., index].set(values)

    @staticmethod
    def stack(parts: list[Any]) -> Array:
        return jnp.stack(jnp.broadcast_arrays(*parts), axis=-1)

    @staticmethod
    def ones(shape: tuple[int, ...], like: Any = None) -> Array:
        return jnp.ones(shape)

    @staticmethod
    def positive(x: Array) -> Array:
        return jnp.maximum(x, 0.0)

    @staticmethod
    def log(x: Array) -> Array:
        return jnp.log(x)

    @staticmethod
    def maximum(a: Array | float, b: Array | float) -> Array:
        return jnp.maximum(a, b)

    @staticmethod
    def segment_sum(x: Array, segments: Segments) -> Array:
        """Sum the rows of ``x`` (last axis) into their segments."""
        rows = jnp.shape(x)[-1]
        if rows * segments.size > DENSE_SUM:
            return jnp.zeros((*jnp.shape(x)[:-1], segments.size)).at[..., segments.ids].add(x)
        # small: each output the sum of its rows' columns, which XLA fuses into one loop
        # (a matmul with a one-hot matrix cost ~40 % of the small model's right-hand side)
        parts: list[list[Array]] = [[] for _ in range(segments.size)]
        for row, target in enumerate(segments.ids):
            parts[target].append(x[..., row])
        zero = jnp.zeros(jnp.shape(x)[:-1])
        return jnp.stack([sum(p[1:], p[0]) if p else zero for p in parts], axis=-1)

    @staticmethod
    def after(time: Array, start: float, factor: Array) -> Array:
        """``factor`` once ``time`` has reached ``start``, else 1."""
        return jnp.where(time >= start, factor, 1.0)

    @staticmethod
    def divide_or_zero(a: Array, b: Array) -> Array:
        return jnp.where(b > 0, a / jnp.where(b > 0, b, 1.0), 0.0)

    @staticmethod
    def gather_max(theta: Array, index: NDArray[np.int64], default: NDArray[np.float64]) -> Array:
        """Per row the largest of its parameters (``index`` rows padded with -1), else the
        row's default."""
        if index.shape[1] == 0:
            return jnp.broadcast_to(default, (*theta.shape[:-1], len(default)))
        values = jnp.where(index >= 0, theta[..., np.maximum(index, 0)], -jnp.inf).max(axis=-1)
        return jnp.where(index[:, 0] >= 0, values, default)

    @staticmethod
    def named(x: Array, prefix: str) -> Array:
        return x


TRACED = Traced()


def derivative(found: list[Flux], size: int) -> Array:
    """dy/dt from fluxes: what each flux takes from its source and adds to its target."""
    rates = jnp.concatenate([jnp.atleast_1d(jnp.asarray(f.rate, dtype=float)) for f in found], -1)
    target = np.concatenate([f.rows(f.target) for f in found])
    source = np.concatenate([f.rows(f.source) for f in found])
    into, out = np.flatnonzero(target >= 0), np.flatnonzero(source >= 0)
    gained = TRACED.segment_sum(rates[..., into], Segments(target[into], size))
    return gained - TRACED.segment_sum(rates[..., out], Segments(source[out], size))


def parameters(model: CompiledModel, theta: Array) -> Derived:
    """What depends on one patient's parameters alone, traced."""
    return derive(model, TRACED, theta)  # type: ignore[arg-type]


def right_hand_side(model: CompiledModel, derived: Derived, t: Array, y: Array) -> Array:
    """dy/dt of one patient (``y``: variables) at time ``t``, traced."""
    return derivative(fluxes(model, TRACED, derived, t, y), model.layout.size)  # type: ignore[arg-type]
