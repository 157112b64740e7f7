"""Analyte names in miRBase style (``hsa-miR-21-5p``), reference RNAs and spike-ins."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from ..knowledge.names import mirna_family, name_key

_MIRNA = re.compile(
    r"^(?:(hsa|mmu|rno|cel|ath)-)?(mir|mirna|microrna|let)-?(\d+[a-z]{0,2}(?:-\d+)?)(-[35]p|\*)?$"
)
_REFERENCE = re.compile(r"^(rnu\d|snord|snora|scarna|u6|u48|rny|5s-|5\.8s)")
_SPIKE = re.compile(r"^(unisp|cel-|ath-|spike|ercc|synth)")

__all__ = [
    "NameReport",
    "analyte_class",
    "graph_molecule",
    "is_analyte",
    "mirbase_name",
    "normalise_names",
    "same_mirna",
]


def mirbase_name(name: str) -> str | None:
    """``hsa-miR-21-5p`` for any spelling (``miR-21-5p``, ``hsa-mir-21``, ``MIR21_5p``...).

    ``let-7`` keeps its prefix (``hsa-let-7a``); an old star arm stays ``*``. None when the
    name is not a miRNA.
    """
    match = _MIRNA.match(name_key(name))
    if not match:
        return None
    species, kind, ident, arm = match.groups()
    if species in {"cel", "ath"}:
        return None  # non-human spike-ins
    prefix = "let" if kind == "let" else "miR"
    return f"{species or 'hsa'}-{prefix}-{ident}{arm or ''}"


def analyte_class(name: str) -> str:
    """``mirna``, ``reference`` (U6, SNORDs...), ``spike-in`` (UniSp6, cel-miR-39...),
    ``molecule`` (another exosomal analyte of the evidence graph: TRPC5, HOTAIR...) or
    ``other``."""
    key = name_key(name)
    if _SPIKE.match(key):
        return "spike-in"
    if _REFERENCE.match(key):
        return "reference"
    if mirbase_name(name):
        return "mirna"
    return "molecule" if graph_molecule(name) else "other"


def is_analyte(name: str) -> bool:
    """A measured quantity a model may use: a miRNA or another molecule of the graph."""
    return analyte_class(name) in {"mirna", "molecule"}


@lru_cache(maxsize=1)
def _graph_names() -> dict[str, str]:
    from ..knowledge import load_knowledge

    kb = load_knowledge()
    names: dict[str, str] = {}
    for molecule in kb.molecules.values():
        if molecule.type in {"miRNA", "drug"} or molecule.placeholder:
            continue
        for name in (molecule.id, molecule.hgnc, *molecule.synonyms):
            if name:
                names.setdefault(name_key(name), molecule.id)
    return names


def graph_molecule(name: str) -> str | None:
    """The evidence graph's id for a non-miRNA analyte name (protein, lncRNA, circRNA...)."""
    return _graph_names().get(name_key(name))


@dataclass
class NameReport:
    """What name normalisation did: renames, and names that matched no miRNA."""

    renamed: dict[str, str] = field(default_factory=dict)
    references: list[str] = field(default_factory=list)
    spike_ins: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "renamed": len(self.renamed),
            "references": self.references,
            "spike_ins": self.spike_ins,
            "unmatched": self.unmatched,
        }


def normalise_names(names: Iterable[str]) -> tuple[list[str], NameReport]:
    """miRBase-style names in order; reference RNAs, spike-ins and others keep theirs."""
    report = NameReport()
    out: list[str] = []
    for raw in names:
        raw = str(raw).strip()
        kind = analyte_class(raw)
        new = (
            mirbase_name(raw)
            if kind == "mirna"
            else graph_molecule(raw)
            if kind == "molecule"
            else None
        )
        if new is not None:
            if new != raw:
                report.renamed[raw] = new
            out.append(new)
            continue
        {"reference": report.references, "spike-in": report.spike_ins}.get(
            kind, report.unmatched
        ).append(raw)
        out.append(raw)
    return out, report


def same_mirna(measured: str, wanted: str) -> bool:
    """Whether a measured analyte is the wanted miRNA (any arm when ``wanted`` names none)."""
    a, b = mirbase_name(measured), mirbase_name(wanted)
    if a is None or b is None:
        return False
    if a == b:
        return True
    fa, fb = _family(a), _family(b)
    return fa is not None and fa == fb and not re.search(r"(-[35]p|\*)$", b)


def _family(name: str) -> str | None:
    if "-let-" in name:
        match = re.match(r"^[a-z]+-let-(\d+[a-z]?(?:-\d+)?)(?:-[35]p|\*)?$", name)
        return f"let-{match.group(1)}" if match else None
    return mirna_family(re.sub(r"\*$", "", name))
