"""Analyte names in miRBase style (``hsa-miR-21-5p``), reference RNAs and spike-ins."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..knowledge.names import mirna_family, name_key

_MIRNA = re.compile(
    r"^(?:(hsa|mmu|rno|cel|ath)-)?(mir|mirna|microrna|let)-?(\d+[a-z]{0,2}(?:-\d+)?)(-[35]p|\*)?$"
)
_REFERENCE = re.compile(r"^(rnu\d|snord|snora|scarna|u6|u48|rny|5s-|5\.8s)")
_SPIKE = re.compile(r"^(unisp|cel-|ath-|spike|ercc|synth)")

__all__ = ["NameReport", "analyte_class", "mirbase_name", "normalise_names", "same_mirna"]


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
    """``mirna``, ``reference`` (U6, SNORDs...), ``spike-in`` (UniSp6, cel-miR-39...) or ``other``."""
    key = name_key(name)
    if _SPIKE.match(key):
        return "spike-in"
    if _REFERENCE.match(key):
        return "reference"
    return "mirna" if mirbase_name(name) else "other"


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
        new = mirbase_name(raw) if kind == "mirna" else None
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
