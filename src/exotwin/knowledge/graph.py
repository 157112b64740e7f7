"""The evidence graph as a networkx MultiDiGraph.

Nodes are entities (``cell:caf``, ``molecule:hsa-miR-222``, ``phenotype:m2_polarization``) and
records (``record:s000.mir222-invasion``); edges say how a record links them:

- ``secretes``: donor cell → record, ``acts_on``: record → recipient cell
- ``carries``: cargo/analyte molecule → record, ``targets``: record → target molecule
- ``agent_of``: a drug or inhibitor given in a therapy record → record
- ``promotes`` / ``inhibits``: record → phenotype
- ``is_a``: cell type → parent cell type
- ``same_as``: a molecule named less specifically → the molecule it names (miR-19a → miR-19a-3p)

Record nodes carry ``provenance`` (``field:class`` pairs of the fields the review does not
state, empty when all are), and every record edge carries ``provenance``: ``stated`` or the
class(es) of the fields it rests on (``inferred``, ``normalised``, ``added``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import networkx as nx

from .kb import KnowledgeBase, Record
from .provenance import covers, field_classes, provenance_text
from .query import record_cargo
from .schema import Biomarker, CellRef, Mechanism

if TYPE_CHECKING:
    Graph = nx.MultiDiGraph[str]
else:
    Graph = nx.MultiDiGraph


def build_graph(kb: KnowledgeBase) -> Graph:
    """All entities a record uses, every record, and the typed edges between them."""
    graph: Graph = nx.MultiDiGraph(name="exotwin evidence graph")
    for cell in kb.cell_types.values():
        graph.add_node(f"cell:{cell.id}", type="cell_type", label=cell.name, category=cell.category)
    for cell in kb.cell_types.values():
        if cell.parent:
            graph.add_edge(f"cell:{cell.id}", f"cell:{cell.parent}", relation="is_a")
    for record in kb.records.values():
        _add_record(graph, kb, record)
    for molecule in kb.molecules.values():
        if molecule.same_as and f"molecule:{molecule.id}" in graph:
            _add_molecule(graph, kb, molecule.same_as)
            graph.add_edge(
                f"molecule:{molecule.id}", f"molecule:{molecule.same_as}", relation="same_as"
            )
    return graph


def _edge_provenance(classes: Mapping[str, str], field: str) -> str:
    """``stated``, or the classes (``;``-joined) of the record's fields under ``field``."""
    found = {kind for path, kind in classes.items() if covers(field, path)} - {"stated"}
    return ";".join(sorted(found)) or "stated"


def _add_record(graph: Graph, kb: KnowledgeBase, record: Record) -> None:
    node = f"record:{record.id}"
    graph.add_node(
        node,
        type=record.kind,
        label=record.id,
        summary=record.summary,
        seed=record.seed,
        section=record.section,
        reference=record.reference,
        provenance=provenance_text(record),
    )
    classes = field_classes(record)
    cargo_field = "analyte" if isinstance(record, Biomarker) else "cargo"
    for name in record_cargo(record):
        _add_molecule(graph, kb, name)
        origin = _edge_provenance(classes, f"{cargo_field}[{name}]")
        graph.add_edge(f"molecule:{name}", node, relation="carries", provenance=origin)
    if isinstance(record, Biomarker):
        graph.nodes[node]["fluid"] = record.fluid
        origin = _edge_provenance(classes, "source_cell")
        _add_cell_edge(graph, record.source_cell, node, "secretes", origin, source_side=True)
        return
    for name in record.targets:
        _add_molecule(graph, kb, name)
        origin = _edge_provenance(classes, f"targets[{name}]")
        graph.add_edge(node, f"molecule:{name}", relation="targets", provenance=origin)
    if isinstance(record, Mechanism):
        if record.pathway:
            graph.nodes[node]["pathway"] = record.pathway
    else:
        graph.nodes[node]["agent"] = record.agent
        graph.nodes[node]["modality"] = record.modality
        for name in record.agents:
            _add_molecule(graph, kb, name)
            origin = _edge_provenance(classes, f"agents[{name}]")
            graph.add_edge(f"molecule:{name}", node, relation="agent_of", provenance=origin)
    donor, recipient = _edge_provenance(classes, "donor"), _edge_provenance(classes, "recipient")
    _add_cell_edge(graph, record.donor, node, "secretes", donor, source_side=True)
    _add_cell_edge(graph, record.recipient, node, "acts_on", recipient, source_side=False)
    for effect in record.effects:
        phenotype = kb.phenotypes[effect.phenotype]
        graph.add_node(
            f"phenotype:{phenotype.id}",
            type="phenotype",
            label=phenotype.name,
            category=phenotype.category,
        )
        origin = _edge_provenance(classes, f"effects[{phenotype.id}]")
        graph.add_edge(
            node, f"phenotype:{phenotype.id}", relation=effect.direction, provenance=origin
        )


def _add_molecule(graph: Graph, kb: KnowledgeBase, name: str) -> None:
    molecule = kb.molecules[name]
    graph.add_node(f"molecule:{name}", type="molecule", label=name, molecule_type=molecule.type)


def _add_cell_edge(
    graph: Graph, ref: CellRef | None, node: str, relation: str, origin: str, *, source_side: bool
) -> None:
    if ref is None:
        return
    cell = f"cell:{ref.cell}"
    attrs = {"relation": relation, "provenance": origin}
    if ref.state:
        attrs["state"] = ref.state
    if ref.lines:
        attrs["cell_lines"] = ";".join(ref.lines)
    if source_side:
        graph.add_edge(cell, node, **attrs)
    else:
        graph.add_edge(node, cell, **attrs)
