"""Exports of the evidence graph: CSV, JSON, GraphML, Cytoscape.js and PhysiCell rules."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx

from .. import __version__
from ..io import atomic_write, atomic_write_text
from .graph import build_graph
from .kb import KnowledgeBase, Record
from .provenance import provenance_text
from .schema import Biomarker, CellRef, Context, Mechanism, Therapy

CSV_COLUMNS = [
    "id",
    "kind",
    "cargo",
    "cargo_type",
    "donor",
    "recipient",
    "targets",
    "mechanism",
    "effect",
    "direction",
    "context",
    "evidence",
    "seed",
    "reference",
    "provenance",
]
EXTRA_COLUMNS = ["section", "table", "summary", "tags", "as_written", "curator_note"]
FORMATS = ("csv", "json", "graphml", "cytoscape", "physicell-rules")


def _cell(ref: CellRef | None) -> str:
    if ref is None:
        return ""
    details = [d for d in (ref.state, ", ".join(ref.lines)) if d]
    return f"{ref.cell} ({', '.join(details)})" if details else ref.cell


def _context(context: Context) -> str:
    parts: list[tuple[str, list[str]]] = [
        ("subtypes", list(context.subtypes)),
        ("organs", list(context.organs)),
        ("cell_lines", context.cell_lines),
        ("species", list(context.species)),
    ]
    text = [f"{key}={','.join(values)}" for key, values in parts if values]
    if context.cancer != "breast":
        text.append(f"cancer={context.cancer}")
    return ";".join(text)


def csv_row(kb: KnowledgeBase, record: Record) -> dict[str, str]:
    """One CSV row; lists joined with ';'; ``provenance`` lists ``field:class`` pairs of the
    fields the review does not state (empty when all are)."""
    row = {
        "id": record.id,
        "kind": record.kind,
        "context": _context(record.context),
        "evidence": ";".join(record.context.models),
        "seed": record.seed,
        "reference": record.reference,
        "provenance": provenance_text(record),
        "section": record.section,
        "table": record.table or "",
        "summary": record.summary,
        "tags": ";".join(record.tags),
        "as_written": ";".join(f"{k}={v}" for k, v in record.as_written.items()),
        "curator_note": record.curator_note,
        "targets": "",
        "mechanism": "",
    }
    if isinstance(record, Biomarker):
        cargo = record.analyte
        row |= {
            "donor": _cell(record.source_cell),
            "recipient": "",
            "effect": ";".join(
                [
                    *(f"{c.comparison}:{c.direction}" for c in record.changes),
                    *(f"use:{u}" for u in record.clinical_uses),
                ]
            ),
            "direction": ";".join(c.direction for c in record.changes),
            "mechanism": f"exosomal {', '.join(cargo)} in {record.fluid}",
        }
    else:
        cargo = record.cargo
        row |= {
            "donor": _cell(record.donor),
            "recipient": _cell(record.recipient),
            "effect": ";".join(e.phenotype for e in record.effects),
            "direction": ";".join(e.direction for e in record.effects),
        }
        if isinstance(record, Mechanism):
            row |= {"targets": ";".join(record.targets), "mechanism": record.pathway}
        elif isinstance(record, Therapy):
            targeting = f" (targeting: {record.targeting})" if record.targeting else ""
            row["mechanism"] = f"{record.modality}: {record.agent}{targeting}"
            row["targets"] = ";".join(record.targets)
    row["cargo"] = ";".join(cargo)
    row["cargo_type"] = ";".join(kb.molecules[c].type for c in cargo)
    return row


def to_csv(kb: KnowledgeBase) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS + EXTRA_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for record in kb.records.values():
        writer.writerow(csv_row(kb, record))
    return buffer.getvalue()


def to_json(kb: KnowledgeBase) -> str:
    def dump(items: Any) -> list[Any]:
        return [item.model_dump(mode="json") for item in items]

    document = {
        "format": "exotwin-evidence-graph",
        "exotwin_version": __version__,
        "sources": dump(kb.sources.values()),
        "cell_types": dump(kb.cell_types.values()),
        "cell_states": dump(kb.cell_states.values()),
        "molecules": dump(kb.molecules.values()),
        "phenotypes": dump(kb.phenotypes.values()),
        "records": dump(kb.records.values()),
    }
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def to_cytoscape(kb: KnowledgeBase) -> str:
    """Cytoscape.js elements JSON (``{"elements": {"nodes": [...], "edges": [...]}}``)."""
    graph = build_graph(kb)
    data = nx.cytoscape_data(graph)
    for i, edge in enumerate(data["elements"]["edges"]):
        edge["data"]["id"] = f"e{i}"
        edge["data"]["interaction"] = edge["data"].get("relation", "")
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


# ------------------------------------------------------------ PhysiCell rules (CBHG 3.0)

HALF_MAX = 0.5
HALF_MAX_SOURCE = (
    "assumption: half-max 0.5 in units of internalised cargo relative to a receiver at "
    "steady state next to donors (range 0.1-2)"
)
HILL_POWER = 2
HILL_POWER_SOURCE = "assumption: Hill power 2 (range 1-4)"


def physicell_name(name: str) -> str:
    """A name safe inside a PhysiCell rules CSV (no commas, spaces or brackets)."""
    return re.sub(r"[^A-Za-z0-9_.+-]+", "_", name).strip("_")


def to_physicell_rules(kb: KnowledgeBase) -> str:
    """Mechanisms as PhysiCell rules: recipient, intracellular cargo, behaviour, Hill response.

    Effects without a PhysiCell behaviour are listed in ``//`` comment lines, which PhysiCell's
    rules parser skips.
    """
    rules: dict[tuple[str, str, str, str], tuple[float, list[str]]] = {}
    unmapped: list[str] = []
    flagged = {r.id: provenance_text(r) for r in kb.mechanisms if r.provenance}
    sources: set[str] = set()
    for record in kb.mechanisms:
        for effect in record.effects:
            entry = kb.phenotypes[effect.phenotype]
            mapping, kinds = (
                entry.physicell,
                {k for c in entry.receivers for k in kb.descendants(c)},
            )
            if mapping is None or (kinds and record.recipient.cell not in kinds):
                unmapped.append(
                    f"// unmapped {record.id}: {'+'.join(record.cargo)} {effect.direction} "
                    f"{effect.phenotype} in {record.recipient.cell}"
                    + (f" (not stated: {flagged[record.id]})" if record.id in flagged else "")
                )
                continue
            sign = mapping.sign if effect.direction == "promotes" else -mapping.sign
            response = "increases" if sign > 0 else "decreases"
            saturation = mapping.up if sign > 0 else mapping.down
            sources.add(f"// {mapping.behavior}: {mapping.source}")
            for cargo in record.cargo:
                key = (
                    physicell_name(record.recipient.cell),
                    f"intracellular {physicell_name(cargo)}",
                    response,
                    mapping.behavior,
                )
                rules.setdefault(key, (saturation, []))[1].append(record.id)
    lines = [
        f"// PhysiCell rules (CBHG 3.0) exported by exotwin {__version__} from the evidence graph",
        "// columns: cell type,signal,increases|decreases,behavior,saturation value,half-max,"
        "Hill power,applies to dead",
        "// signal: exosomal cargo internalised by the recipient (one substrate per cargo)",
        f"// half-max {HALF_MAX}: {HALF_MAX_SOURCE}",
        f"// Hill power {HILL_POWER}: {HILL_POWER_SOURCE}",
        "// 'not stated' lines list a record's fields that the review does not state as "
        "recorded (field:class; normalised, inferred, added)",
        "// saturation values per behaviour:",
        *sorted(sources),
    ]
    for (cell, signal, response, behavior), (saturation, ids) in rules.items():
        lines.append(f"// from {', '.join(ids)}")
        lines += [f"// not stated in {i}: {flagged[i]}" for i in dict.fromkeys(ids) if i in flagged]
        lines.append(
            f"{cell},{signal},{response},{behavior},{saturation:g},{HALF_MAX:g},{HILL_POWER},0"
        )
    lines += ["// effects with no PhysiCell behaviour:", *unmapped]
    return "\n".join(lines) + "\n"


def _text_writer(render: Callable[[KnowledgeBase], str]) -> Callable[[KnowledgeBase, Path], None]:
    return lambda kb, out: atomic_write_text(out, render(kb))


def _write_graphml(kb: KnowledgeBase, out: Path) -> None:
    graph = build_graph(kb)
    atomic_write(out, lambda tmp: nx.write_graphml(graph, tmp))


WRITERS: dict[str, Callable[[KnowledgeBase, Path], None]] = {
    "csv": _text_writer(to_csv),
    "json": _text_writer(to_json),
    "graphml": _write_graphml,
    "cytoscape": _text_writer(to_cytoscape),
    "physicell-rules": _text_writer(to_physicell_rules),
}


def export(kb: KnowledgeBase, fmt: str, out: Path) -> None:
    """Write the graph in one of :data:`FORMATS` to ``out`` (atomically)."""
    try:
        writer = WRITERS[fmt]
    except KeyError:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {FORMATS}") from None
    writer(kb, out)
