"""Field-level provenance of records: which structured fields the review states, and which not.

Every structured field of a record is *stated* by its review unless the record's
``provenance`` mapping flags it. A flag names a field path and a class:

- ``normalised``: the review's words, put into the graph's vocabulary (a garbled name
  repaired, a synonym mapped to its HGNC symbol, a phrase mapped to a phenotype);
- ``inferred``: the curator's reading of the context (a donor the text does not name, a
  direction that follows from the prose, a general phrase made specific);
- ``added``: taken from outside the review; ``source`` says from where.

Paths: ``donor``, ``donor.cell``, ``targets[PKM]``, ``effects[tumor_progression].direction``,
``changes[stage]``, ``context.species``. A list item is selected by its name (a molecule,
phenotype, comparison or value) or by its position (``effects[0]``). A flag covers every
field below its path; flags may not nest.

The curator note uses a small vocabulary (see docs/curation.md) so that notes and flags can
be checked against each other: :func:`note_disagreements`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Literal

from .schema import FieldFlag

if TYPE_CHECKING:
    from .kb import Record

ProvenanceClass = Literal["stated", "normalised", "inferred", "added"]
CLASSES: tuple[ProvenanceClass, ...] = ("stated", "normalised", "inferred", "added")

# Words of a curator note that say a field is not stated (case-insensitive, whole words).
NOTE_MARKERS: dict[str, re.Pattern[str]] = {
    "normalised": re.compile(r"\b(normali[sz]ed|normali[sz]ation|mapped to|read as)\b", re.I),
    "inferred": re.compile(
        r"\b(inferred|inference|curator's reading|extrapolat\w*|assumed|assumption)\b", re.I
    ),
    "added": re.compile(r"\b(added from|from outside the review)\b", re.I),
}

_PATH = re.compile(r"^[a-z_]+(?:\.[a-z_]+|\[[^\[\]]+\])*$")
_SEGMENT = re.compile(r"\.([a-z_]+)|\[([^\[\]]+)\]")
_MOLECULE_LISTS = {"cargo", "targets", "analyte", "agents"}
_CELL_FIELDS = ("donor", "recipient", "source_cell")
_SCALARS = (
    "agent",
    "modality",
    "carrier",
    "fluid",
    "targeting",
    "indication",
    "pathway",
)


def _leaves(record: Record) -> Iterator[str]:
    """The structured fields a record fills, as canonical paths (in schema order)."""
    yield from ("seed", "section", "reference")
    if record.table:
        yield "table"
    data = record.model_dump(mode="json")
    for name in ("cargo", "analyte", "agents", "targets"):
        for value in data.get(name) or []:
            yield f"{name}[{value}]"
    for name in _CELL_FIELDS:
        ref = data.get(name)
        if ref:
            yield f"{name}.cell"
            if ref["state"]:
                yield f"{name}.state"
            for line in ref["lines"]:
                yield f"{name}.lines[{line}]"
    for name in _SCALARS:
        if data.get(name):
            yield name
    for effect in data.get("effects") or []:
        yield f"effects[{effect['phenotype']}].phenotype"
        yield f"effects[{effect['phenotype']}].direction"
    for change in data.get("changes") or []:
        yield f"changes[{change['comparison']}].comparison"
        yield f"changes[{change['comparison']}].direction"
    for use in data.get("clinical_uses") or []:
        yield f"clinical_uses[{use}]"
    context = data["context"]
    for key in ("subtypes", "cell_lines", "organs", "models", "species"):
        for value in context[key]:
            yield f"context.{key}[{value}]"
    if context["cancer"] != "breast":
        yield "context.cancer"


def _item_name(item: object) -> str:
    """The name that selects a list item in a path: an effect's phenotype, a comparison..."""
    for attribute in ("phenotype", "comparison"):
        if hasattr(item, attribute):
            return str(getattr(item, attribute))
    return str(item)


def canonical_path(
    record: Record, path: str, molecule_id: Callable[[str], str | None]
) -> tuple[str | None, str]:
    """``(canonical path, "")`` or ``(None, why not)`` for a path a curator wrote.

    Item selectors become the item's name (a position, or a molecule synonym, becomes the
    id the record holds); the path must name at least one field the record fills.
    """
    if not _PATH.match(path):
        return None, "not a field path (expected e.g. donor.cell, targets[PKM], effects[0])"
    head = path.split(".")[0].split("[")[0]
    parts, parent, value = [head], head, getattr(record, head, None)
    for dotted, selector in _SEGMENT.findall(path[len(head) :]):
        if dotted:
            parts.append(f".{dotted}")
            parent, value = dotted, getattr(value, dotted, None)
            continue
        items = value if isinstance(value, list) else []
        names = [_item_name(item) for item in items]
        key = selector.strip()
        if key.isdigit() and int(key) < len(names):
            key = names[int(key)]
        elif parent in _MOLECULE_LISTS:
            key = molecule_id(key) or key
        if key not in names:
            return None, f"{parent} has no item {selector!r} (it has {names})"
        if names.count(key) > 1:
            return None, f"{parent} has more than one item {key!r}; select it by position"
        parts.append(f"[{key}]")
        value = items[names.index(key)]
    canonical = "".join(parts)
    if not any(covers(canonical, leaf) for leaf in _leaves(record)):
        return None, f"the record fills no field {path!r}"
    return canonical, ""


def covers(flag: str, leaf: str) -> bool:
    """Whether a flagged path covers a field path (itself or anything below it)."""
    return leaf == flag or leaf.startswith((f"{flag}.", f"{flag}["))


def field_classes(record: Record) -> dict[str, ProvenanceClass]:
    """The provenance class of every structured field of the record."""
    flags = record.provenance
    classes: dict[str, ProvenanceClass] = {}
    for leaf in _leaves(record):
        found = [path for path in flags if covers(path, leaf)]
        classes[leaf] = flags[max(found, key=len)].kind if found else "stated"
    return classes


def non_stated_fields(record: Record) -> list[tuple[str, str]]:
    """``(field path, class)`` for every flagged field of the record, in the curator's order."""
    return [(path, flag.kind) for path, flag in record.provenance.items()]


def describe(record: Record) -> list[str]:
    """Human-readable flags: ``modality: added (Liu et al., 2022)``."""
    return [
        f"{path}: {flag.kind}" + (f" ({flag.source})" if flag.source else "")
        for path, flag in record.provenance.items()
    ]


def provenance_text(record: Record) -> str:
    """``field:class`` pairs joined by ``;`` (empty when every field is stated)."""
    return ";".join(f"{path}:{kind}" for path, kind in non_stated_fields(record))


def is_stated(record: Record, prefixes: Iterable[str]) -> bool:
    """Whether every field under the given paths (e.g. ``effects``) is stated."""
    wanted = tuple(prefixes)
    return not any(
        any(covers(prefix, path) or covers(path, prefix) for prefix in wanted)
        for path in record.provenance
    )


def note_disagreements(record: Record) -> list[str]:
    """Where the curator note and the flags disagree (empty when they agree).

    A note that uses a class's words needs a flag of that class, and a flag needs the words
    of its class in the note, so that a reader of either sees the same.
    """
    note = record.curator_note
    flagged = {flag.kind for flag in record.provenance.values()}
    problems = []
    for kind, marker in NOTE_MARKERS.items():
        said = marker.search(note)
        if said and kind not in flagged:
            problems.append(
                f"curator_note says {said.group(0)!r} but no field is flagged {kind!r} "
                f"(add it under provenance, e.g. 'donor: {kind}')"
            )
        if kind in flagged and not said:
            problems.append(
                f"a field is flagged {kind!r} but the curator_note does not say so "
                f"(use one of the words of docs/curation.md, e.g. {_EXAMPLE[kind]!r})"
            )
    return problems


_EXAMPLE = {"normalised": "normalised", "inferred": "inferred", "added": "added from"}


def count_fields(records: Iterable[Record]) -> Counter[str]:
    """Number of structured fields by provenance class over the records."""
    counts: Counter[str] = Counter(dict.fromkeys(CLASSES, 0))
    for record in records:
        counts.update(field_classes(record).values())
    return counts


def unflagged_as_written(record: Record) -> list[str]:
    """``as_written`` keys whose field carries no flag (an original spelling was normalised)."""
    return [
        key
        for key in record.as_written
        if not any(covers(key, path) or covers(path, key) for path in record.provenance)
    ]


Located = tuple[tuple[str | int, ...], str]


def check_provenance(
    record: Record, molecule_id: Callable[[str], str | None]
) -> tuple[dict[str, FieldFlag], list[Located]]:
    """The record's flags under canonical paths, and every problem as (field, message).

    Problems: a path naming no field of the record, flags nested in one another, an
    ``as_written`` spelling without a flag on its field, a note that disagrees with the flags.
    """
    problems: list[Located] = []
    flags: dict[str, FieldFlag] = {}
    for path, flag in record.provenance.items():
        canonical, why = canonical_path(record, path, molecule_id)
        if canonical is None:
            problems.append((("provenance", path), why))
        elif canonical in flags:
            problems.append((("provenance", path), f"flags {canonical!r} a second time"))
        else:
            flags[canonical] = flag
    for path in flags:
        outer = [other for other in flags if other != path and covers(other, path)]
        if outer:
            problems.append(
                (("provenance", path), f"lies inside the flagged field {outer[0]!r}; flag one")
            )
    flagged = record.model_copy(update={"provenance": flags})
    for key in unflagged_as_written(flagged):
        problems.append(
            (
                ("as_written", key),
                f"keeps the review's spelling of {key!r}, so flag the field under provenance "
                f"(e.g. '{key}: normalised')",
            )
        )
    problems += [(("curator_note",), message) for message in note_disagreements(flagged)]
    return flags, problems
