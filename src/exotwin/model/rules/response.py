"""Response functions, in one place: PhysiCell's Hill response (cell-behaviour hypothesis
grammar) for rules, the Emax response for drugs, and the kill of a culture held at a drug's
concentration (its in-vitro IC50).

For a behaviour with base value ``b0``, saturation values ``b_max`` (up) and ``b_min`` (down),
and signals ``s_i`` with half-max ``h_i`` and Hill power ``n_i``:

    S = sum_i (s_i / h_i) ** n_i,   H(S) = S / (1 + S)
    U = b0 + (b_max - b0) * H(S_up);  U = U + (b_min - U) * H(S_down)

Every function is plain arithmetic, so it evaluates numbers (any array shape) and the
formulas of the SBML export alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

Value = Any  # a float, an array, or a formula


def hill_terms(signal: Value, half_max: Value, hill: Value) -> Value:
    """``(s / h) ** n`` for each term: the summands of ``S``."""
    return (signal / half_max) ** hill


def hill_sum(terms: Iterable[tuple[float, float, float]]) -> float:
    """``S`` for (signal, half_max, hill) triples; negative signals count as zero."""
    return sum(hill_terms(max(signal, 0.0), half_max, hill) for signal, half_max, hill in terms)


def saturating(total: Value) -> Value:
    """``H(S) = S / (1 + S)``."""
    return total / (1.0 + total)


def behaviour(base: Value, b_max: Value, b_min: Value, s_up: Value, s_down: Value) -> Value:
    """The behaviour value after up- and down-regulating signals (PhysiCell semantics)."""
    value = base + (b_max - base) * saturating(s_up)
    return value + (b_min - value) * saturating(s_down)


def emax(concentration: Value, maximum: Value, ec50: Value, hill: Value) -> Value:
    """Drug effect ``E = Emax C^h / (EC50^h + C^h)`` at a non-negative concentration."""
    c = concentration**hill
    return maximum * c / (ec50**hill + c)


def ic50_kill(concentration: Value, ic50: Value, hill: Value, assay_time: Value, log: Any) -> Value:
    """Kill rate of cells held at ``concentration``: ``ln(1 + (C / IC50)^h) / T``, so that
    after the assay time ``T`` a growing culture keeps ``1 / (1 + (C / IC50)^h)`` of the
    viable cells of an untreated one (the dose-response curve an IC50 and Hill power
    describe; half at the IC50). ``log`` is the backend's natural logarithm."""
    return log(1.0 + (concentration / ic50) ** hill) / assay_time
