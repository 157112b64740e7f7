"""A third backend for the equations: JAX arrays, so the right-hand side can be traced once
into an XLA program (jit, vmap over patients, jacfwd for the Jacobian).

The equations (:mod:`exotwin.model.ode.equations`) run unchanged on it; only the few backend
operations differ from :class:`exotwin.model.ode.algebra.Numeric`. Callers trace under
``jax.enable_x64(True)`` so every number is a 64-bit float.

Two forms: :class:`Traced` keeps the equations' own last axis on the arrays (one patient of a
large model: few, large operations); :class:`Columns` runs them, as the SBML export does, on
object arrays whose every element is one quantity for all the patients of a batch (a vector
over lanes), so the traced program is elementwise arithmetic on vectors that XLA fuses into a
few loops (the 33-variable benchmark model: 53 kernels and ~0.37 us per patient-evaluation at
1,024 patients, against 126 kernels and ~1.2 us with the equations' axis on the arrays).
"""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp
import numpy as np
from numpy.typing import NDArray

from ..rules.rows import CompiledModel
from .algebra import Segments, _map
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


def _dynamic(value: Any) -> bool:
    """Whether an element is a traced vector (not a number known when tracing)."""
    return not isinstance(value, int | float | np.number | np.bool_)


def _objects(x: Any) -> NDArray[Any]:
    out = np.empty(np.shape(x) if isinstance(x, np.ndarray) else (), dtype=object)
    out[...] = x
    return out


class Columns:
    """Object arrays (batch axis of length 1, as :class:`exotwin.model.ode.algebra.Symbolic`)
    whose elements are numbers or JAX vectors over the patients."""

    symbolic = False

    @staticmethod
    def where(condition: Any, a: Any, b: Any) -> NDArray[Any]:
        """Element by element (a static ``condition``, as every one of the equations is)."""
        pick = lambda c, x, y: jnp.where(c, x, y) if _dynamic(c) else (x if c else y)  # noqa: E731
        return _map(pick, condition, a, b)

    @staticmethod
    def put(x: Any, index: Any, values: Any) -> NDArray[Any]:
        out = np.array(x, dtype=object, copy=True)
        out[..., index] = values
        return out

    @staticmethod
    def stack(parts: list[Any]) -> NDArray[Any]:
        return np.stack(np.broadcast_arrays(*(_objects(p) for p in parts)), axis=-1)

    @staticmethod
    def ones(shape: tuple[int, ...], like: Any = None) -> NDArray[Any]:
        return np.full(shape, 1.0, dtype=object)

    @staticmethod
    def positive(x: Any) -> NDArray[Any]:
        return _map(lambda v: jnp.maximum(v, 0.0) if _dynamic(v) else max(v, 0.0), x)

    @staticmethod
    def log(x: Any) -> NDArray[Any]:
        return _map(lambda v: jnp.log(v) if _dynamic(v) else math.log(v), x)

    @staticmethod
    def maximum(a: Any, b: Any) -> NDArray[Any]:
        return _map(jnp.maximum, a, b)

    @staticmethod
    def segment_sum(x: Any, segments: Segments) -> NDArray[Any]:
        """Each output the sum of its rows, in row order (as :class:`Traced`)."""
        out = np.full((*x.shape[:-1], segments.size), 0.0, dtype=object)
        for row, target in enumerate(segments.ids):
            out[..., target] = _map(lambda a, b: a + b, out[..., target], x[..., row])
        return out

    @staticmethod
    def after(time: Any, start: float, factor: Any) -> NDArray[Any]:
        return _map(lambda f: jnp.where(time >= start, f, 1.0), factor)

    @staticmethod
    def divide_or_zero(a: Any, b: Any) -> NDArray[Any]:
        return _map(lambda x, y: Traced.divide_or_zero(x, y) if _dynamic(y) else (
            x / y if y > 0 else 0.0), a, b)  # fmt: skip

    @staticmethod
    def gather_max(theta: Any, index: NDArray[np.int64], default: NDArray[np.float64]) -> Any:
        out = np.empty((*theta.shape[:-1], len(index)), dtype=object)
        for row, params in enumerate(index):
            chosen = [theta[..., p] for p in params if p >= 0]
            out[..., row] = float(default[row]) if not chosen else chosen[0]
            for other in chosen[1:]:
                out[..., row] = _map(jnp.maximum, out[..., row], other)
        return out

    @staticmethod
    def named(x: Any, prefix: str) -> Any:
        return x


COLUMNS = Columns()


def _columns(x: Array | list[Any]) -> NDArray[Any]:
    """A (..., n) array, or its n columns, as a (1, n) object array of its columns."""
    parts = x if isinstance(x, list) else [x[..., i] for i in range(x.shape[-1])]
    out = np.empty((1, len(parts)), dtype=object)
    for i, part in enumerate(parts):
        out[0, i] = part
    return out


def column_parameters(model: CompiledModel, theta: Array) -> Derived:
    """:func:`parameters` on :class:`Columns` (``theta``: patients x parameters)."""
    return derive(model, COLUMNS, _columns(theta))  # type: ignore[arg-type]


def column_changes(model: CompiledModel, derived: Derived, t: Array, y: list[Any]) -> list[Any]:
    """dy/dt on :class:`Columns`, one vector (or number) per variable, from the state's
    columns ``y`` and ``derived`` from :func:`column_parameters`: gains and losses summed
    in the order of :func:`derivative`."""
    found = fluxes(model, COLUMNS, derived, t, _columns(y))  # type: ignore[arg-type]
    gained: list[list[Any]] = [[] for _ in range(model.layout.size)]
    lost: list[list[Any]] = [[] for _ in range(model.layout.size)]
    for flux in found:
        rates = np.broadcast_to(_objects(flux.rate), (1, np.shape(flux.rate)[-1]))[0]
        for rate, into, out in zip(
            rates, flux.rows(flux.target), flux.rows(flux.source), strict=True
        ):
            if into >= 0:
                gained[into].append(rate)
            if out >= 0:
                lost[out].append(rate)
    total = lambda p: sum(p[1:], p[0]) if p else 0.0  # noqa: E731
    return [total(g) - total(lo) for g, lo in zip(gained, lost, strict=True)]


def column_right_hand_side(model: CompiledModel, derived: Derived, t: Array, y: Array) -> Array:
    """dy/dt of :func:`column_changes` as an array (``y``: patients x variables)."""
    change = column_changes(model, derived, t, [y[..., i] for i in range(y.shape[-1])])
    lanes = jnp.shape(y)[:-1]
    return jnp.stack([jnp.broadcast_to(jnp.asarray(c, dtype=y.dtype), lanes) for c in change], -1)
