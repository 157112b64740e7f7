"""Search the evidence graph by cargo, cell type, phenotype, drug, pathway, subtype or text."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..errors import QueryError, UnknownEntityError, did_you_mean
from .kb import KnowledgeBase, Record
from .names import fold, name_key
from .provenance import is_stated
from .schema import Biomarker, CellRef, Mechanism, Therapy


def record_molecules(record: Record) -> set[str]:
    """Every molecule a record names: cargo, targets, analytes."""
    if isinstance(record, Mechanism):
        return {*record.cargo, *record.targets}
    if isinstance(record, Biomarker):
        return set(record.analyte)
    return {*record.cargo, *record.agents, *record.targets}


def record_cargo(record: Record) -> list[str]:
    """What the exosome carries (for a biomarker: the analyte)."""
    return list(record.analyte) if isinstance(record, Biomarker) else list(record.cargo)


def record_cells(record: Record) -> list[CellRef]:
    """Donor, recipient and source cells of a record."""
    if isinstance(record, Biomarker):
        cells = [record.source_cell]
    else:
        cells = [record.donor, record.recipient]
    return [c for c in cells if c is not None]


def record_phenotypes(record: Record) -> set[str]:
    return set() if isinstance(record, Biomarker) else {e.phenotype for e in record.effects}


def record_text(record: Record) -> str:
    """All free text of a record, for word search."""
    parts = [
        record.id,
        record.summary,
        record.curator_note,
        *record.as_written.values(),
        *record.tags,
        *record.context.cell_lines,
        record.context.cancer,
    ]
    if isinstance(record, Mechanism):
        parts.append(record.pathway)
    if isinstance(record, Therapy):
        parts += [record.agent, record.carrier, record.targeting, record.indication]
    parts += [line for ref in record_cells(record) for line in ref.lines]
    return " ".join(parts)


def _contains(text: str, needle: str) -> bool:
    """Whole-word match, insensitive to case, dashes and Greek spelling (NF-κB = NF-kB)."""
    pattern = rf"(?<![\w-]){re.escape(fold(needle.strip()))}(?![\w])"
    return re.search(pattern, fold(text)) is not None


@dataclass(frozen=True)
class Query:
    """Search criteria; every criterion given must hold (AND)."""

    text: str | None = None
    kind: str | None = None
    cargo: str | None = None
    cell: str | None = None
    phenotype: str | None = None
    drug: str | None = None
    pathway: str | None = None
    subtype: str | None = None
    seed: str | None = None
    stated_only: bool = False


CLAIM_FIELDS = {
    "mechanism": ("effects",),
    "therapy": ("effects",),
    "biomarker": ("changes",),
}


def claims_stated(record: Record) -> bool:
    """Whether the review states the record's claim as recorded: every effect and its
    direction (for a biomarker: every change and its direction) is *stated*."""
    return is_stated(record, CLAIM_FIELDS[record.kind])


def stated_only(records: list[Record]) -> list[Record]:
    """The records whose effects and directions the review states (see :func:`claims_stated`);
    the filter behind ``kb search --stated-only``, for any caller (CLI, web API)."""
    return [r for r in records if claims_stated(r)]


def _drug_ids(kb: KnowledgeBase, name: str) -> set[str]:
    drug = kb.find_molecule(name)
    return {drug.id} if drug is not None and drug.type == "drug" else set()


def _matches_drug(kb: KnowledgeBase, record: Record, name: str) -> bool:
    """The record involves the drug: as cargo, as the drug of a resistance, or in its text."""
    ids = _drug_ids(kb, name) or {name_key(name)}

    def is_drug(text: str) -> bool:
        found = kb.find_molecule(text)
        return (found.id if found else name_key(text)) in ids

    if any(is_drug(kb.phenotypes[p].drug or "") for p in record_phenotypes(record)):
        return True
    for ref in record_cells(record):
        state = kb.cell_states.get(ref.state or "")
        if state and any(is_drug(d) for d in state.resistant_to):
            return True
    return bool(ids & record_molecules(record)) or _contains(record_text(record), name)


def _matches_cell(kb: KnowledgeBase, record: Record, cell_id: str) -> bool:
    """The record's donor or recipient is the cell type (or a sub-type), or one of its effects
    turns cells into it (NF -> CAF matches a CAF query)."""
    wanted = kb.descendants(cell_id)
    if any(ref.cell in wanted for ref in record_cells(record)):
        return True
    return any(kb.phenotypes[p].transition_to in wanted for p in record_phenotypes(record))


def _matches_text(kb: KnowledgeBase, record: Record, text: str) -> bool:
    """Free text: any entity it names (molecule, cell type, phenotype, drug), else a word."""
    if kb.molecule_matches(text) & record_molecules(record):
        return True
    cell = kb.find_cell_type(text)
    if cell is not None and _matches_cell(kb, record, cell.id):
        return True
    phenotype = kb.find_phenotype(text)
    if phenotype is not None and phenotype.id in record_phenotypes(record):
        return True
    if _drug_ids(kb, text) and _matches_drug(kb, record, text):
        return True
    if name_key(text) in {name_key(s) for s in record.context.subtypes}:
        return True
    return _contains(record_text(record), text)


def _pathway(kb: KnowledgeBase, record: Record, name: str) -> bool:
    if not isinstance(record, Mechanism):
        return False
    return _contains(record.pathway, name) or bool(kb.molecule_matches(name) & set(record.targets))


KINDS = ("mechanism", "biomarker", "therapy")


def check_query(kb: KnowledgeBase, query: Query) -> None:
    """Refuse a query that cannot mean what was asked: an empty text, or a filter value
    outside its vocabulary (:class:`UnknownEntityError` with the closest known values)."""
    if query.text is not None and not query.text.strip():
        raise QueryError("the search text is empty; give a word, a name or an option")

    def unknown(
        what: str, value: str, known: Iterable[str], listed: int = 20
    ) -> UnknownEntityError:
        return UnknownEntityError(f"unknown {what} {value!r}{did_you_mean(value, known, listed)}")

    if query.kind and query.kind not in KINDS:
        raise unknown("kind", query.kind, KINDS)
    if query.seed and query.seed not in kb.sources:
        raise unknown("seed", query.seed, kb.sources)
    if query.phenotype and kb.find_phenotype(query.phenotype) is None:
        raise unknown("phenotype", query.phenotype, kb.phenotypes)
    if query.cargo and not kb.molecule_matches(query.cargo):
        raise unknown("cargo", query.cargo, kb.molecules)
    if query.drug and not _drug_ids(kb, query.drug):
        drugs = [m.id for m in kb.molecules.values() if m.type == "drug"]
        raise unknown("drug", query.drug, drugs)
    pathways = {m.pathway for m in kb.mechanisms if m.pathway}
    if query.pathway and not (
        kb.molecule_matches(query.pathway) or any(_contains(p, query.pathway) for p in pathways)
    ):
        words = {w for p in pathways for w in re.findall(r"[\w/-]{3,}", p)}
        raise unknown("pathway or target", query.pathway, words | set(kb.molecules), listed=0)
    subtypes = {name_key(s): s for r in kb.records.values() for s in r.context.subtypes}
    if query.subtype and name_key(query.subtype) not in subtypes:
        raise unknown("subtype", query.subtype, subtypes.values())


def search(kb: KnowledgeBase, query: Query) -> list[Record]:
    """Records matching every criterion of the query, in curation order.

    ``stated_only`` drops records whose effect or direction the review does not state.

    A query that :func:`check_query` refuses raises rather than matching nothing.
    """
    check_query(kb, query)
    checks: list[Callable[[Record], bool]] = []
    if query.kind:
        checks.append(lambda r: r.kind == query.kind)
    if query.seed:
        checks.append(lambda r: r.seed == query.seed)
    if query.text:
        text = query.text
        checks.append(lambda r: _matches_text(kb, r, text))
    if query.cargo:
        wanted = kb.molecule_matches(query.cargo)
        checks.append(lambda r: bool(wanted & set(record_cargo(r))))
    if query.cell:
        cell_id = kb.cell_type(query.cell).id
        checks.append(lambda r: _matches_cell(kb, r, cell_id))
    if query.phenotype:
        found = kb.find_phenotype(query.phenotype)
        ids = {found.id} if found else set()
        checks.append(lambda r: bool(ids & record_phenotypes(r)))
    if query.drug:
        drug = query.drug
        checks.append(lambda r: _matches_drug(kb, r, drug))
    if query.pathway:
        pathway = query.pathway
        checks.append(lambda r: _pathway(kb, r, pathway))
    if query.subtype:
        key = name_key(query.subtype)
        checks.append(lambda r: key in {name_key(s) for s in r.context.subtypes})
    if query.stated_only:
        checks.append(claims_stated)
    return [r for r in kb.records.values() if all(check(r) for check in checks)]


@dataclass(frozen=True)
class Exchange:
    """One exosomal message between two cells, as a mechanism record states it."""

    record_id: str
    donor: str
    recipient: str
    cargo: tuple[str, ...]
    effects: tuple[str, ...]


def neighbours(kb: KnowledgeBase, cell: str) -> dict[str, list[Exchange]]:
    """What a cell type (with its sub-types) sends to and receives from other cells."""
    wanted = kb.descendants(kb.cell_type(cell).id)
    sends: list[Exchange] = []
    receives: list[Exchange] = []
    for record in kb.mechanisms:
        exchange = Exchange(
            record.id,
            record.donor.cell,
            record.recipient.cell,
            tuple(record.cargo),
            tuple(f"{e.direction} {e.phenotype}" for e in record.effects),
        )
        if record.donor.cell in wanted:
            sends.append(exchange)
        if record.recipient.cell in wanted:
            receives.append(exchange)
    return {"sends": sends, "receives": receives}
