"""The arithmetic the model's equations are written in, with two backends.

The equations (:mod:`exotwin.model.ode.equations`) are written once, as ordinary arithmetic on
arrays plus the few operations of a backend. :class:`Numeric` evaluates them on numbers with
leading batch axes (patients, or cells in the tissue); :class:`Symbolic` evaluates the very same
code on object arrays of :class:`Formula` and so prints the model as SBML infix formulas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[Any]
Ints = NDArray[np.int64]

SUM, PRODUCT, POWER, ATOM = 0, 1, 2, 3


def number(value: float) -> str:
    """A float as SBML L3 infix text."""
    if math.isinf(value):
        return "INF" if value > 0 else "-INF"
    return repr(float(value))


class Formula:
    """An SBML L3 infix expression; arithmetic builds new ones with minimal parentheses.

    ``deps`` holds the ids of the state variables it reads (for SBML modifiers).
    """

    __slots__ = ("deps", "level", "text")

    def __init__(self, text: str, level: int = ATOM, deps: frozenset[str] = frozenset()) -> None:
        self.text, self.level, self.deps = text, level, deps

    def __repr__(self) -> str:
        return self.text

    def wrapped(self, level: int) -> str:
        return self.text if self.level >= level else f"({self.text})"

    def __add__(self, other: object) -> Formula | float:
        return _combine(self, other, "+")

    def __radd__(self, other: object) -> Formula | float:
        return _combine(other, self, "+")

    def __sub__(self, other: object) -> Formula | float:
        return _combine(self, other, "-")

    def __rsub__(self, other: object) -> Formula | float:
        return _combine(other, self, "-")

    def __mul__(self, other: object) -> Formula | float:
        return _combine(self, other, "*")

    def __rmul__(self, other: object) -> Formula | float:
        return _combine(other, self, "*")

    def __truediv__(self, other: object) -> Formula | float:
        return _combine(self, other, "/")

    def __rtruediv__(self, other: object) -> Formula | float:
        return _combine(other, self, "/")

    def __pow__(self, other: object) -> Formula | float:
        return _combine(self, other, "^")

    def __rpow__(self, other: object) -> Formula | float:
        return _combine(other, self, "^")

    def __neg__(self) -> Formula:
        return Formula(f"-{self.wrapped(POWER)}", PRODUCT, self.deps)


def formula(value: object) -> Formula:
    """A formula for a number or a formula."""
    if isinstance(value, Formula):
        return value
    number_ = float(value)  # type: ignore[arg-type]
    return Formula(number(number_), ATOM if number_ >= 0 else SUM)


def _combine(a: object, b: object, op: str) -> Formula | float:
    """``a op b``, simplified where one side is the neutral or absorbing number."""
    if not isinstance(a, Formula) and not isinstance(b, Formula):
        return float(_NUMERIC[op](float(a), float(b)))  # type: ignore[arg-type]
    simple = _simplified(a, b, op)
    if simple is not None:
        return simple
    fa, fb = formula(a), formula(b)
    level = {"+": SUM, "-": SUM, "*": PRODUCT, "/": PRODUCT, "^": POWER}[op]
    left = fa.wrapped(ATOM if op == "^" else level)
    right = fb.wrapped(ATOM if op == "^" else level + (op in "-/"))
    return Formula(f"{left} {op} {right}", level, fa.deps | fb.deps)


def _simplified(a: object, b: object, op: str) -> Formula | float | None:
    """The result when a number operand makes the operation trivial (x + 0, x * 1, x * 0)."""
    a_is = lambda v: not isinstance(a, Formula) and a == v  # noqa: E731
    b_is = lambda v: not isinstance(b, Formula) and b == v  # noqa: E731
    if (op == "+" and a_is(0)) or (op == "*" and a_is(1)):
        return b  # type: ignore[return-value]
    if (op in "+-" and b_is(0)) or (op in "*/^" and b_is(1)):
        return a  # type: ignore[return-value]
    if op == "-" and a_is(0):
        return -formula(b)
    if op == "*" and (a_is(0) or b_is(0)):
        return 0.0
    return None


_NUMERIC = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "^": lambda a, b: a**b,
}


def call(name: str, *args: object) -> Formula:
    """A function call such as ``max(a, b)`` or ``piecewise(a, c, b)``."""
    parts = [formula(a) for a in args]
    deps = frozenset().union(*(p.deps for p in parts))
    return Formula(f"{name}({', '.join(p.text for p in parts)})", ATOM, deps)


@dataclass(frozen=True)
class Segments:
    """Which of ``size`` outputs each of a set of rows adds to (a scatter-add pattern)."""

    ids: Ints
    size: int

    @staticmethod
    def of(ids: list[int] | Ints, size: int) -> Segments:
        return Segments(np.asarray(ids, dtype=np.int64).reshape(-1), size)


class Numeric:
    """Numbers: arrays whose last axis is the equations' own, leading axes a batch."""

    symbolic = False

    @staticmethod
    def where(condition: Any, a: Any, b: Any) -> Array:
        return np.where(condition, a, b)

    @staticmethod
    def put(x: Array, index: Any, values: Any) -> Array:
        """A copy of ``x`` with ``values`` at ``[..., index]``."""
        out = np.array(x, copy=True)
        out[..., index] = values
        return out

    @staticmethod
    def stack(parts: list[Any]) -> Array:
        return np.stack(np.broadcast_arrays(*parts), axis=-1)

    @staticmethod
    def ones(shape: tuple[int, ...], like: Any = None) -> Array:
        return np.ones(shape)

    @staticmethod
    def positive(x: Array) -> Array:
        return np.maximum(x, 0.0)

    @staticmethod
    def log(x: Array) -> Array:
        return np.log(x)

    @staticmethod
    def maximum(a: Array | float, b: Array | float) -> Array:
        return np.maximum(a, b)

    @staticmethod
    def segment_sum(x: Array, segments: Segments) -> Array:
        """Sum the rows of ``x`` (last axis) into their segments."""
        lead = x.shape[:-1]
        if not x.shape[-1]:
            return np.zeros((*lead, segments.size))
        batch = math.prod(lead)
        if batch == 1:
            flat = np.bincount(segments.ids, x.reshape(-1), minlength=segments.size)
            return flat.reshape(*lead, segments.size)
        ids = segments.ids[None, :] + segments.size * np.arange(batch)[:, None]
        flat = np.bincount(ids.ravel(), x.reshape(batch, -1).ravel(), batch * segments.size)
        return flat.reshape(*lead, segments.size)

    @staticmethod
    def after(time: float, start: float, factor: Array) -> Array | float:
        """``factor`` once ``time`` has reached ``start``, else 1."""
        return factor if time >= start else 1.0

    @staticmethod
    def divide_or_zero(a: Array, b: Array) -> Array:
        return np.divide(a, b, out=np.zeros(np.broadcast(a, b).shape), where=b > 0)

    @staticmethod
    def gather_max(theta: Array, index: Ints, default: NDArray[np.float64]) -> Array:
        """Per row the largest of its parameters (``index`` rows padded with -1), else the
        row's default."""
        if index.shape[1] == 0:
            return np.broadcast_to(default, (*theta.shape[:-1], len(default))).copy()
        values = np.where(index >= 0, theta[..., np.maximum(index, 0)], -np.inf).max(axis=-1)
        return np.where(index[:, 0] >= 0, values, default)

    @staticmethod
    def named(x: Array, prefix: str) -> Array:
        return x


@dataclass
class Symbolic:
    """Formulas: the same equations printed as SBML infix text (batch axis of length 1).

    ``named`` intermediates become assignment rules, collected in ``rules`` in order.
    """

    rules: list[tuple[str, Formula]] = field(default_factory=list)
    symbolic = True

    @staticmethod
    def where(condition: Any, a: Any, b: Any) -> Array:
        return np.where(condition, a, b)

    @staticmethod
    def put(x: Array, index: Any, values: Any) -> Array:
        out = np.array(x, dtype=object, copy=True)
        out[..., index] = values
        return out

    @staticmethod
    def stack(parts: list[Any]) -> Array:
        arrays = np.broadcast_arrays(*(np.asarray(p, dtype=object) for p in parts))
        return np.stack(arrays, axis=-1)

    @staticmethod
    def ones(shape: tuple[int, ...], like: Any = None) -> Array:
        return np.full(shape, 1.0, dtype=object)

    @staticmethod
    def positive(x: Array) -> Array:
        return _map(lambda v: call("max", v, 0.0) if isinstance(v, Formula) else max(v, 0.0), x)

    @staticmethod
    def log(x: Array) -> Array:
        """The natural logarithm (SBML's ``ln``)."""
        return _map(lambda v: call("ln", v) if isinstance(v, Formula) else math.log(v), x)

    @staticmethod
    def maximum(a: Array | float, b: Array | float) -> Array:
        pairs = np.broadcast_arrays(np.asarray(a, dtype=object), np.asarray(b, dtype=object))
        out = np.empty(pairs[0].shape, dtype=object)
        for i in np.ndindex(out.shape):
            x, y = pairs[0][i], pairs[1][i]
            numeric = not isinstance(x, Formula) and not isinstance(y, Formula)
            out[i] = max(x, y) if numeric else call("max", x, y)
        return out

    @staticmethod
    def segment_sum(x: Array, segments: Segments) -> Array:
        """Each output the sum of its rows in row order, a formula repeated ``k`` times printed
        once as ``k * formula`` (rules sharing a signal would otherwise repeat its Hill term
        hundreds of times in one formula, which libroadrunner compiles for minutes)."""
        out = np.full((*x.shape[:-1], segments.size), 0.0, dtype=object)
        rows: dict[int, list[int]] = {}
        for row, target in enumerate(segments.ids):
            rows.setdefault(int(target), []).append(row)
        for target, chosen in rows.items():
            for i in np.ndindex(x.shape[:-1]):
                out[(*i, target)] = _gathered([x[(*i, row)] for row in chosen])
        return out

    @staticmethod
    def after(time: object, start: float, factor: Array) -> Array:
        if start <= 0:
            return factor
        return _map(
            lambda f: call("piecewise", f, Formula(f"time >= {number(start)}"), 1.0), factor
        )

    @staticmethod
    def divide_or_zero(a: Array, b: Array) -> Array:
        def one(x: object, y: object) -> object:
            if isinstance(y, Formula):
                return call("piecewise", x / y, Formula(f"{y.text} > 0", ATOM, y.deps), 0.0)
            return x / y if y > 0 else 0.0  # type: ignore[operator]

        return _map(one, a, b)

    @staticmethod
    def gather_max(theta: Array, index: Ints, default: NDArray[np.float64]) -> Array:
        out = np.empty((*theta.shape[:-1], len(index)), dtype=object)
        for row, params in enumerate(index):
            chosen = [theta[..., p] for p in params if p >= 0]
            if not chosen:
                out[..., row] = float(default[row])
            elif len(chosen) == 1:
                out[..., row] = chosen[0]
            else:
                out[..., row] = _map(lambda *v: call("max", *v), *chosen)
        return out

    def named(self, x: Array, prefix: str) -> Array:
        """Each non-trivial formula of ``x`` becomes an assignment rule ``prefix<i>``."""
        out = np.empty(x.shape, dtype=object)
        for i in np.ndindex(x.shape):
            value: object = x[i]
            if isinstance(value, Formula) and (value.level < ATOM or _is_call(value)):
                ident = f"{prefix}{i[-1]}"
                self.rules.append((ident, value))
                value = Formula(ident, ATOM, value.deps)
            out[i] = value
        return out


def _gathered(terms: list[object]) -> object:
    """The sum of ``terms`` in order, equal formulas gathered at their first place: ``k * f``."""
    counts: dict[str, int] = {}
    for term in terms:
        if isinstance(term, Formula):
            counts[term.text] = counts.get(term.text, 0) + 1
    total: object = 0.0
    for term in terms:
        if isinstance(term, Formula):
            count = counts.pop(term.text, 0)
            if not count:
                continue  # gathered at its first place
            term = term if count == 1 else count * term
        total = total + term  # type: ignore[operator]
    return total


def _is_call(value: object) -> bool:
    return isinstance(value, Formula) and value.text.endswith(")") and "(" in value.text


def _map(function: Any, *arrays: Any) -> Array:
    """Apply a Python function elementwise to (broadcast) object arrays."""
    parts = np.broadcast_arrays(*(np.asarray(a, dtype=object) for a in arrays))
    out = np.empty(parts[0].shape, dtype=object)
    for i in np.ndindex(out.shape):
        out[i] = function(*(p[i] for p in parts))
    return out


Backend = Numeric | Symbolic
