"""Load curated YAML into a validated :class:`KnowledgeBase`, collecting every problem."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from ..datafiles import Item, parse_sections, yaml_files
from ..yaml_lines import line_of
from .errors import KnowledgeValidationError, Problem
from .kb import KnowledgeBase
from .names import mirna_arm, mirna_family, name_key
from .provenance import check_provenance
from .schema import (
    Biomarker,
    CellRef,
    CellState,
    CellType,
    Mechanism,
    Molecule,
    Phenotype,
    Record,
    Source,
    Therapy,
)

UNCITED = "uncited"
_NUMERIC_REF = re.compile(r"^\[(\d+(?:\s*[–-]\s*\d+)?(?:\s*,\s*\d+(?:\s*[–-]\s*\d+)?)*)\]$")


def packaged_data_dir() -> Path:
    """The folder of curated YAML shipped inside the package."""
    return Path(str(resources.files("exotwin.knowledge") / "data"))


_SECTIONS: dict[str, TypeAdapter[Any]] = {
    "sources": TypeAdapter(Source),
    "cell_types": TypeAdapter(CellType),
    "cell_states": TypeAdapter(CellState),
    "molecules": TypeAdapter(Molecule),
    "phenotypes": TypeAdapter(Phenotype),
    "records": TypeAdapter(Record),
}


def _items(parsed: list[Item], key: str) -> Iterator[Item]:
    return (item for item in parsed if item.loc[0] == key)


def _unique(items: Iterable[Item], what: str, problems: list[Problem]) -> dict[str, Item]:
    seen: dict[str, Item] = {}
    for item in items:
        ident = item.value.id
        if ident in seen:
            first = seen[ident]
            first_line, _ = line_of(first.raw, (*first.loc, "id"))
            problems.append(
                item.problem(
                    ("id",),
                    (f"duplicate {what} id {ident!r} (first defined at {first.file}:{first_line})"),
                )
            )
        else:
            seen[ident] = item
    return seen


def _check_reference(item: Item, source: Source, problems: list[Problem]) -> None:
    ref = item.value.reference
    if ref == UNCITED:
        if not item.value.curator_note:
            problems.append(
                item.problem(
                    ("curator_note",),
                    (
                        f"a statement the seed makes without a citation (reference {UNCITED!r}) needs "
                        "a curator_note saying where in the seed it stands"
                    ),
                )
            )
        return
    if source.citation_style == "author_year":
        unknown = [r for r in ref.split(";") if " ".join(r.split()) not in source.references]
        if unknown:
            problems.append(
                item.problem(
                    ("reference",),
                    (
                        f"reference {'; '.join(u.strip() for u in unknown)!r} is not a citation of seed "
                        f"{source.id} (expected author-year keys listed in sources.yaml, separated by "
                        "'; ', e.g. 'Ning et al., 2017' or 'Datta et al., 2018; Sun et al., 2018')"
                    ),
                )
            )
        return
    match = _NUMERIC_REF.match(ref)
    low, high = source.numeric_range or (1, 10**6)
    numbers = [int(n) for n in re.findall(r"\d+", match.group(1))] if match else []
    if not match or any(not low <= n <= high for n in numbers):
        problems.append(
            item.problem(
                ("reference",),
                (
                    f"reference {ref!r} is not a citation of seed {source.id} "
                    f"(expected '[n]', '[n,m]' or '[n–m]' with n in {low}..{high})"
                ),
            )
        )


class _Resolver:
    """Checks cross-references of records against the vocabularies and canonicalises names."""

    def __init__(self, kb: KnowledgeBase, problems: list[Problem]) -> None:
        self.kb = kb
        self.problems = problems

    def molecules(self, item: Item, field: str) -> list[str]:
        resolved = []
        for i, name in enumerate(getattr(item.value, field)):
            molecule = self.kb.find_molecule(name)
            if molecule is None:
                self.problems.append(
                    item.problem(
                        (field, i),
                        (
                            f"unknown molecule {name!r} (expected an id or synonym from molecules_*.yaml)"
                        ),
                    )
                )
            else:
                resolved.append(molecule.id)
        return resolved

    def cell(self, item: Item, field: str) -> None:
        ref: CellRef | None = getattr(item.value, field)
        if ref is None:
            return
        if ref.cell not in self.kb.cell_types:
            self.problems.append(
                item.problem(
                    (field, "cell"),
                    (f"unknown cell type {ref.cell!r} (expected an id from cell_types.yaml)"),
                )
            )
        if ref.state is not None and ref.state not in self.kb.cell_states:
            self.problems.append(
                item.problem(
                    (field, "state"),
                    (f"unknown cell state {ref.state!r} (expected an id from cell_states.yaml)"),
                )
            )

    def effects(self, item: Item) -> None:
        for i, effect in enumerate(item.value.effects):
            if effect.phenotype not in self.kb.phenotypes:
                self.problems.append(
                    item.problem(
                        ("effects", i, "phenotype"),
                        (
                            f"unknown phenotype {effect.phenotype!r} (expected an id from phenotypes.yaml)"
                        ),
                    )
                )

    def record(self, item: Item) -> Any:
        rec = item.value
        source = self.kb.sources.get(rec.seed)
        if source is None:
            self.problems.append(
                item.problem(
                    ("seed",),
                    (f"unknown seed {rec.seed!r} (expected one of {sorted(self.kb.sources)})"),
                )
            )
        else:
            if rec.section not in {s.id for s in source.sections}:
                self.problems.append(
                    item.problem(
                        ("section",),
                        (
                            f"seed {source.id} has no section {rec.section!r} "
                            f"(expected one of {[s.id for s in source.sections]})"
                        ),
                    )
                )
            _check_reference(item, source, self.problems)
        update: dict[str, Any] = {}
        if isinstance(rec, Mechanism):
            update = {
                "cargo": self.molecules(item, "cargo"),
                "targets": self.molecules(item, "targets"),
            }
            self.cell(item, "donor")
            self.cell(item, "recipient")
            self.effects(item)
        elif isinstance(rec, Biomarker):
            update = {"analyte": self.molecules(item, "analyte")}
            self.cell(item, "source_cell")
        elif isinstance(rec, Therapy):
            update = {
                field: self.molecules(item, field) for field in ("cargo", "agents", "targets")
            }
            self.cell(item, "donor")
            self.cell(item, "recipient")
            self.effects(item)
        resolved = rec.model_copy(update=update)
        flags, located = check_provenance(resolved, self._molecule_id)
        self.problems += [item.problem(field, message) for field, message in located]
        return resolved.model_copy(update={"provenance": flags})

    def _molecule_id(self, name: str) -> str | None:
        found = self.kb.find_molecule(name)
        return found.id if found else None


def _check_vocabularies(
    kb: KnowledgeBase, items: dict[str, dict[str, Item]], problems: list[Problem]
) -> None:
    for ident, item in items["cell_types"].items():
        parent = item.value.parent
        if parent is not None and parent not in kb.cell_types:
            problems.append(item.problem(("parent",), f"unknown parent cell type {parent!r}"))
        seen = {ident}
        while parent is not None and parent in kb.cell_types:
            if parent in seen:
                problems.append(
                    item.problem(("parent",), f"cycle in cell-type parents at {ident!r}")
                )
                break
            seen.add(parent)
            parent = kb.cell_types[parent].parent
    for item in items["cell_states"].values():
        parent = item.value.parent
        if parent is not None and parent not in kb.cell_states:
            problems.append(item.problem(("parent",), f"unknown parent cell state {parent!r}"))
    for item in items["phenotypes"].values():
        target = item.value.transition_to
        if target is not None and target not in kb.cell_types:
            problems.append(item.problem(("transition_to",), f"unknown cell type {target!r}"))
        _check_recruits(kb, item, problems)
        for j, cell in enumerate(item.value.receivers):
            if cell not in kb.cell_types:
                problems.append(item.problem(("receivers", j), f"unknown cell type {cell!r}"))
    for item in items["molecules"].values():
        target = item.value.same_as
        if target is not None and kb.molecules.get(target) in (None, item.value):
            problems.append(
                item.problem(("same_as",), f"same_as names no other molecule id: {target!r}")
            )
    owner: dict[str, Item] = {}
    for item in items["molecules"].values():
        for j, name in enumerate([item.value.id, *item.value.synonyms]):
            key = name_key(name)
            other = owner.setdefault(key, item)
            if other.value.id != item.value.id:
                field: tuple[str | int, ...] = ("id",) if j == 0 else ("synonyms", j - 1)
                problems.append(
                    item.problem(
                        field,
                        (
                            f"name {name!r} of molecule {item.value.id!r} is already a name of "
                            f"molecule {other.value.id!r} ({other.file})"
                        ),
                    )
                )


def _check_recruits(kb: KnowledgeBase, item: Item, problems: list[Problem]) -> None:
    """A phenotype's recruited cell type is known, and ``<cell type>_recruitment`` recruits it."""
    recruits, ident = item.value.recruits, item.value.id
    if recruits is not None and recruits not in kb.cell_types:
        problems.append(item.problem(("recruits",), f"unknown cell type {recruits!r}"))
    named = ident.removesuffix("_recruitment")
    if named != ident and named in kb.cell_types and recruits != named:
        problems.append(
            item.problem(("recruits",), f"expected recruits: {named} (the phenotype {ident!r})")
        )


def _check_mirna_links(kb: KnowledgeBase, items: dict[str, Item], problems: list[Problem]) -> None:
    """A miRNA printed without its arm must be linked (``same_as``) to an arm the graph holds."""
    arms: dict[str, list[str]] = {}
    for molecule in kb.molecules.values():
        family = mirna_family(molecule.id) if molecule.type == "miRNA" else None
        if family and mirna_arm(molecule.id):
            arms.setdefault(family, []).append(molecule.id)
    for ident, item in items.items():
        molecule = item.value
        family = mirna_family(ident) if molecule.type == "miRNA" else None
        if family in arms and not mirna_arm(ident) and molecule.same_as not in arms[family]:
            problems.append(
                item.problem(
                    ("same_as",),
                    f"{ident!r} names the same miRNA as {arms[family]} without its arm; "
                    "link it with same_as (and say in its note why that arm)",
                )
            )


def load_knowledge(paths: Iterable[Path | str] | None = None) -> KnowledgeBase:
    """Load, validate and index curated YAML (the packaged graph when no path is given).

    Raises :class:`KnowledgeValidationError` listing every problem with file, line and field.
    """
    roots = [Path(p) for p in paths] if paths is not None else [packaged_data_dir()]
    problems: list[Problem] = []
    missing = [p for p in roots if not p.exists()]
    for path in missing:
        problems.append(Problem(path, None, "", "no such file or directory"))
    files = yaml_files(p for p in roots if p.exists())
    if not files and not missing:
        problems.append(Problem(roots[0] if roots else Path("."), None, "", "no YAML files found"))
    parsed = [item for path in files for item in parse_sections(path, _SECTIONS, problems)]
    kinds = ("sources", "cell_types", "cell_states", "molecules", "phenotypes")
    items = {
        k: _unique(_items(parsed, k), k.rstrip("s").replace("_", " "), problems) for k in kinds
    }
    record_items = _unique(_items(parsed, "records"), "record", problems)
    kb = KnowledgeBase(**{k: {i: it.value for i, it in items[k].items()} for k in kinds})
    _check_vocabularies(kb, items, problems)
    _check_mirna_links(kb, items["molecules"], problems)
    resolver = _Resolver(kb, problems)
    records = [resolver.record(item) for item in record_items.values()]
    if problems:
        raise KnowledgeValidationError(problems)
    kb.add_records(records, {r.id: record_items[r.id].file for r in records})
    return kb
