"""Random mutations of a valid curated file never crash the loader with an untyped error."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exotwin.knowledge import KnowledgeValidationError, load_knowledge, packaged_data_dir

from .helpers import ENTITIES

VALID = (packaged_data_dir() / "records" / "s000_drug_resistance.yaml").read_text(encoding="utf-8")
TOKENS = [
    ":",
    "-",
    " ",
    "\n",
    "  ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "'",
    '"',
    "&a",
    "*a",
    "!!int",
    "? ",
    "|",
    ">",
    "#",
    "null",
    "42",
    "promotes",
    "kind: therapy",
    "\t",
    "\x00",
    "é",
    "%",
]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = VALID
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "duplicate-line", "swap-lines"]))
        if op == "insert":
            text = text[:at] + draw(st.sampled_from(TOKENS) | st.text(max_size=5)) + text[at:]
        elif op == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)) :]
        else:
            lines = text.split("\n")
            i = draw(st.integers(0, len(lines) - 1))
            j = draw(st.integers(0, len(lines) - 1))
            if op == "duplicate-line":
                lines.insert(j, lines[i])
            else:
                lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
    return text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutations_raise_only_the_typed_error(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mutant.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            load_knowledge([ENTITIES, path])
        except KnowledgeValidationError as exc:
            assert exc.problems
            assert all(p.file in {path} or ENTITIES in p.file.parents for p in exc.problems)
