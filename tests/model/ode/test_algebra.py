"""The symbolic backend prints the equations' sums compactly."""

from __future__ import annotations

import numpy as np

from exotwin.model.ode.algebra import Formula, Segments, Symbolic


def test_repeated_summands_are_gathered_once() -> None:
    hill, other = Formula("(s1 / h)^n", 2), Formula("s2")
    rows = np.array([[hill, 2.0, other, hill, hill, 1.0, other]], dtype=object)
    out = Symbolic().segment_sum(rows, Segments.of([0, 0, 0, 0, 0, 0, 1], 3))
    assert out[0, 0].text == "3.0 * (s1 / h)^n + 2.0 + s2 + 1.0"
    assert out[0, 1].text == "s2" and out[0, 2] == 0.0
    numbers = np.array([[1.5, 2.0]], dtype=object)
    assert Symbolic().segment_sum(numbers, Segments.of([0, 0], 1))[0, 0] == 3.5
