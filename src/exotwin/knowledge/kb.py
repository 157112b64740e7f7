"""The in-memory evidence graph: vocabularies, records and the indices to look them up."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import did_you_mean
from .errors import UnknownEntityError
from .names import mirna_family, name_key
from .schema import (
    Biomarker,
    CellState,
    CellType,
    Mechanism,
    Molecule,
    Phenotype,
    Source,
    Therapy,
)

Record = Mechanism | Biomarker | Therapy


@dataclass
class KnowledgeBase:
    """Validated vocabularies and records, indexed by every name a user may type."""

    sources: dict[str, Source] = field(default_factory=dict)
    cell_types: dict[str, CellType] = field(default_factory=dict)
    cell_states: dict[str, CellState] = field(default_factory=dict)
    molecules: dict[str, Molecule] = field(default_factory=dict)
    phenotypes: dict[str, Phenotype] = field(default_factory=dict)
    records: dict[str, Record] = field(default_factory=dict)
    record_files: dict[str, Path] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._molecule_names: dict[str, str] = {}
        self._mirna_families: dict[str, set[str]] = defaultdict(set)
        for molecule in self.molecules.values():
            for name in (
                molecule.id,
                molecule.name,
                molecule.hgnc,
                molecule.mirbase,
                *molecule.synonyms,
            ):
                if name:
                    self._molecule_names.setdefault(name_key(name), molecule.id)
            family = mirna_family(molecule.id) if molecule.type == "miRNA" else None
            if family:
                self._mirna_families[family].add(molecule.id)
                self._molecule_names.setdefault(
                    name_key(molecule.id.removeprefix("hsa-")), molecule.id
                )
        self._cell_names = _names_index(self.cell_types.values())
        self._phenotype_names = _names_index(self.phenotypes.values())
        self._children: dict[str, set[str]] = defaultdict(set)
        parents = [(c.id, c.parent) for c in self.cell_types.values()]
        parents += [(s.id, s.parent) for s in self.cell_states.values()]
        for child, parent in parents:
            if parent:
                self._children[parent].add(child)

    def add_records(self, records: list[Record], files: dict[str, Path]) -> None:
        """Index validated, canonicalised records."""
        self.records.update((r.id, r) for r in records)
        self.record_files.update(files)

    # ------------------------------------------------------------ views

    @property
    def mechanisms(self) -> list[Mechanism]:
        return [r for r in self.records.values() if isinstance(r, Mechanism)]

    @property
    def biomarkers(self) -> list[Biomarker]:
        return [r for r in self.records.values() if isinstance(r, Biomarker)]

    @property
    def therapies(self) -> list[Therapy]:
        return [r for r in self.records.values() if isinstance(r, Therapy)]

    def record(self, record_id: str) -> Record:
        try:
            return self.records[record_id]
        except KeyError:
            hint = did_you_mean(record_id, self.records, listed=0)
            raise UnknownEntityError(f"no record with id {record_id!r}{hint}") from None

    # ------------------------------------------------------------ name lookup

    def find_molecule(self, name: str) -> Molecule | None:
        """The molecule with this id or synonym (any case, dash or Greek spelling)."""
        ident = self._molecule_names.get(name_key(name))
        return self.molecules[ident] if ident else None

    def molecule_matches(self, name: str) -> set[str]:
        """Molecule ids a query names: the exact molecule, or every arm of a miRNA family."""
        found = self.find_molecule(name)
        matches = {found.id} if found else set()
        family = mirna_family(name)
        if family and (found is None or found.type == "miRNA"):
            matches |= self._mirna_families.get(family, set())
        linked = {m.id for m in self.molecules.values() if m.same_as in matches}
        return matches | linked | {self.molecules[m].same_as or m for m in matches}

    def find_cell_type(self, name: str) -> CellType | None:
        ident = self._cell_names.get(name_key(name))
        return self.cell_types[ident] if ident else None

    def cell_type(self, name: str) -> CellType:
        found = self.find_cell_type(name)
        if found is None:
            raise UnknownEntityError(
                f"unknown cell type {name!r}{did_you_mean(name, self.cell_types, listed=60)}"
            )
        return found

    def find_phenotype(self, name: str) -> Phenotype | None:
        ident = self._phenotype_names.get(name_key(name))
        return self.phenotypes[ident] if ident else None

    def descendants(self, cell_id: str) -> set[str]:
        """The cell type (or cell state) and every one below it in its hierarchy."""
        found, todo = {cell_id}, [cell_id]
        while todo:
            for child in self._children.get(todo.pop(), ()):
                if child not in found:
                    found.add(child)
                    todo.append(child)
        return found

    def ancestors(self, cell_id: str) -> list[str]:
        """The cell type and its parents up to the root, nearest first."""
        chain = [cell_id]
        while (parent := self.cell_types[chain[-1]].parent) is not None and parent not in chain:
            chain.append(parent)
        return chain


def _names_index(entities: object) -> dict[str, str]:
    index: dict[str, str] = {}
    for entity in entities:  # type: ignore[attr-defined]
        for name in (entity.id, entity.name, *entity.synonyms):
            index.setdefault(name_key(name), entity.id)
    return index
