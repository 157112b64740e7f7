"""Views for browsing the graph interactively: filter values, did-you-mean suggestions, a
cargo-type filter and the network of cells and the cargo they exchange."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from .kb import KnowledgeBase, Record
from .names import name_key
from .query import record_cargo
from .schema import Biomarker

__all__ = ["cell_cargo_network", "facets", "of_cargo_type", "suggest"]


def facets(kb: KnowledgeBase) -> dict[str, Any]:
    """The values each search filter takes, with display names."""
    return {
        "kinds": sorted({r.kind for r in kb.records.values()}),
        "cargo_types": sorted(
            {kb.molecules[c].type for r in kb.records.values() for c in record_cargo(r)}
        ),
        "cell_types": [{"id": c.id, "name": c.name} for c in kb.cell_types.values()],
        "phenotypes": [{"id": p.id, "name": p.name} for p in kb.phenotypes.values()],
        "drugs": sorted(m.id for m in kb.molecules.values() if m.type == "drug"),
        "subtypes": sorted({s for r in kb.records.values() for s in r.context.subtypes}),
        "seeds": [{"id": s.id, "title": s.title} for s in kb.sources.values()],
    }


def _names(kb: KnowledgeBase) -> dict[str, str]:
    """Every name a user may type (folded) → the name to suggest."""
    names: dict[str, str] = {}
    entities: Iterable[Any] = [*kb.cell_types.values(), *kb.phenotypes.values()]
    for entity in entities:
        for name in (entity.id, entity.name, *entity.synonyms):
            names.setdefault(name_key(name), name)
    for molecule in kb.molecules.values():
        for name in (molecule.id, molecule.hgnc, molecule.mirbase, *molecule.synonyms):
            if name:
                names.setdefault(name_key(name), name)
    return names


def suggest(kb: KnowledgeBase, text: str, n: int = 5) -> list[str]:
    """Known names closest to ``text`` (a misspelt cargo, cell type, phenotype or drug)."""
    names = _names(kb)
    close = difflib.get_close_matches(name_key(text), list(names), n=n, cutoff=0.75)
    return [names[c] for c in close if c != name_key(text)]


def of_cargo_type(kb: KnowledgeBase, records: list[Record], cargo_type: str) -> list[Record]:
    """Records whose cargo (a biomarker's analyte) includes a molecule of this type."""
    return [r for r in records if any(kb.molecules[c].type == cargo_type for c in record_cargo(r))]


def cell_cargo_network(kb: KnowledgeBase, records: Iterable[Record]) -> dict[str, Any]:
    """Cytoscape.js elements: cell types and cargo as nodes; ``sends`` edges from a donor (a
    biomarker's source cell) to the cargo and ``reaches`` edges from the cargo to a recipient,
    each listing the records that state it."""
    nodes: dict[str, dict[str, Any]] = {}
    edges: dict[tuple[str, str, str], list[str]] = {}

    def cell(ident: str) -> str:
        nodes.setdefault(
            f"cell:{ident}",
            {"id": f"cell:{ident}", "label": kb.cell_types[ident].name, "type": "cell_type"},
        )
        return f"cell:{ident}"

    for record in records:
        donor = record.source_cell if isinstance(record, Biomarker) else record.donor
        recipient = None if isinstance(record, Biomarker) else record.recipient
        for name in record_cargo(record):
            node = f"molecule:{name}"
            nodes.setdefault(
                node,
                {
                    "id": node,
                    "label": name,
                    "type": "molecule",
                    "molecule_type": kb.molecules[name].type,
                },
            )
            if donor is not None:
                edges.setdefault((cell(donor.cell), node, "sends"), []).append(record.id)
            if recipient is not None:
                edges.setdefault((node, cell(recipient.cell), "reaches"), []).append(record.id)
    for data in nodes.values():
        data["records"] = sorted(
            {r for (a, b, _), ids in edges.items() if data["id"] in (a, b) for r in ids}
        )
    return {
        "elements": {
            "nodes": [{"data": n} for n in nodes.values()],
            "edges": [
                {
                    "data": {
                        "id": f"e{i}",
                        "source": a,
                        "target": b,
                        "relation": rel,
                        "records": ids,
                    }
                }
                for i, ((a, b, rel), ids) in enumerate(edges.items())
            ],
        }
    }
