"""Cross-check curated miRNA→target claims against a miRTarBase-style interaction table."""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

from ..errors import MtiFileError as MtiFileError
from ..errors import UnknownEntityError, did_you_mean
from .kb import KnowledgeBase
from .names import mirna_arm, mirna_family, name_key
from .schema import Species

MTI_COLUMNS = ("miRNA", "miRNA_mature", "target_gene", "species", "experiments", "support", "pmid")
Status = Literal["supported", "not_found", "mirna_absent"]


@dataclass(frozen=True)
class Interaction:
    mirna: str
    mature: str
    target: str
    species: str
    experiments: str
    support: str
    pmid: str


@dataclass
class MtiTable:
    """Interactions indexed by miRNA family (``mir-222``) for arm-aware lookup."""

    by_family: dict[str, list[Interaction]] = field(default_factory=lambda: defaultdict(list))
    rows: int = 0
    species: set[str] = field(default_factory=set)


def read_mti(path: Path) -> MtiTable:
    """Read a tab-separated miRTarBase export with at least :data:`MTI_COLUMNS`."""
    table = MtiTable()
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle, delimiter="\t")
            missing = [c for c in MTI_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise MtiFileError(
                    f"{path}:1: missing column(s) {missing}; expected a tab-separated table "
                    f"with columns {list(MTI_COLUMNS)}"
                )
            for line, row in enumerate(reader, start=2):
                if None in row or any(row[c] is None for c in MTI_COLUMNS):
                    raise MtiFileError(
                        f"{path}:{line}: expected {len(reader.fieldnames or [])} "
                        "tab-separated fields"
                    )
                family = mirna_family(row["miRNA_mature"]) or mirna_family(row["miRNA"])
                if family is None:
                    continue
                pmid = row["pmid"].removesuffix(".0")
                table.by_family[family].append(
                    Interaction(
                        row["miRNA"],
                        row["miRNA_mature"],
                        row["target_gene"],
                        row["species"],
                        row["experiments"],
                        row["support"],
                        pmid,
                    )
                )
                table.rows += 1
                table.species.add(row["species"])
    except (OSError, UnicodeDecodeError) as exc:
        raise MtiFileError(f"{path}: cannot read: {exc}") from exc
    return table


@dataclass(frozen=True)
class PairCheck:
    """One curated miRNA→target claim and what the external table says about it."""

    record_id: str
    mirna: str
    target: str
    status: Status
    evidence: tuple[Interaction, ...] = ()


def crosscheck(kb: KnowledgeBase, table: MtiTable, species: str | None = None) -> list[PairCheck]:
    """Check every miRNA cargo → gene/protein target pair of every mechanism record.

    A miRNA curated without its arm (``hsa-miR-222``) matches either arm; with an arm, only
    that arm. Target symbols compare case-insensitively (mouse ``Cbx5`` matches ``CBX5``).
    ``species=None`` accepts interactions of any species; a species neither in the table nor in
    the graph's vocabulary is an error.
    """
    vocabulary = table.species | {s.capitalize() for s in get_args(Species)}
    if species is not None and species.lower() not in {s.lower() for s in vocabulary}:
        raise UnknownEntityError(f"unknown species {species!r}{did_you_mean(species, vocabulary)}")
    checks: list[PairCheck] = []
    for record in kb.mechanisms:
        mirnas = [kb.molecules[c] for c in record.cargo if kb.molecules[c].type == "miRNA"]
        targets = [
            kb.molecules[t] for t in record.targets if kb.molecules[t].type in {"protein", "mRNA"}
        ]
        for mirna in mirnas:
            family = mirna_family(mirna.mirbase or mirna.id)
            arm = mirna_arm(mirna.mirbase or mirna.id)
            known = [
                i
                for i in table.by_family.get(family or "", [])
                if (species is None or i.species.lower() == species.lower())
                and (arm is None or mirna_arm(i.mature) in {arm, None})
            ]
            for target in targets:
                symbols = {name_key(s) for s in (target.hgnc, target.id) if s}
                hits = tuple(i for i in known if name_key(i.target) in symbols)
                status: Status = "supported" if hits else ("not_found" if known else "mirna_absent")
                checks.append(
                    PairCheck(record.id, mirna.id, target.hgnc or target.id, status, hits)
                )
    return checks


def summarise(checks: list[PairCheck]) -> dict[str, int]:
    """Counts of pairs by status and of records with at least one supported pair."""
    counts = {"pairs": len(checks), "supported": 0, "not_found": 0, "mirna_absent": 0}
    for check in checks:
        counts[check.status] += 1
    counts["records_checked"] = len({c.record_id for c in checks})
    counts["records_supported"] = len({c.record_id for c in checks if c.status == "supported"})
    return counts
