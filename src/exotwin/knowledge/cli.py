"""``exotwin kb ...``: validate, summarise, search, export and cross-check the evidence graph."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ..cli_common import new_app
from ..datafiles import yaml_files
from ..errors import KnowledgeValidationError, Problem, QueryError
from ..tables import Column, CsvOption, Format, Table, emit, output_format
from .crosscheck import crosscheck, read_mti, summarise
from .exports import FORMATS, csv_row, export
from .kb import KnowledgeBase
from .loader import load_knowledge, packaged_data_dir
from .provenance import CLASSES, count_fields, describe, provenance_text
from .query import Query, neighbours, search
from .schema import Biomarker, Mechanism, Therapy

kb_app = new_app(help="The evidence graph of both reviews.", no_args_is_help=True)
console = Console()

ExportFormat = Enum("ExportFormat", {f.replace("-", "_"): f for f in FORMATS}, type=str)  # type: ignore[misc]
DataOption = Annotated[
    list[Path] | None,
    typer.Option("--data", help="Curated YAML files/folders to use instead of the packaged graph."),
]


_VOCABULARY = re.compile(r"^(sources|cell_types|cell_states|molecules|phenotypes)\s*:", re.M)


def _with_vocabularies(paths: list[Path]) -> list[Path]:
    """The paths, with the packaged vocabularies first unless they hold vocabularies."""
    entities = packaged_data_dir() / "entities"
    for path in yaml_files(p for p in paths if p.exists()):
        if entities in path.resolve().parents:
            return paths
        try:
            if _VOCABULARY.search(path.read_text(encoding="utf-8")):
                return paths
        except (OSError, UnicodeDecodeError):
            continue  # the loader reports it
    return [entities, *paths]


def _load(data: list[Path] | None) -> KnowledgeBase:
    """The packaged graph, or the given files checked against the packaged vocabularies
    (unless they bring their own); curated data without a single record is an error."""
    if not data:
        return load_knowledge()
    kb = load_knowledge(_with_vocabularies(data))
    if not kb.records:
        where = data[0] if len(data) == 1 else Path(", ".join(map(str, data)))
        raise KnowledgeValidationError(
            [Problem(where, None, "", "no records (expected a 'records:' list of entries)")]
        )
    return kb


@kb_app.command()
def validate(
    path: Annotated[
        list[Path] | None,
        typer.Argument(
            help="YAML files or folders (default: the packaged graph). Files that define no "
            "vocabularies are checked against the packaged ones."
        ),
    ] = None,
) -> None:
    """Load and validate curated YAML; exit 1 on any problem."""
    start = time.perf_counter()
    kb = _load(path)
    elapsed = time.perf_counter() - start
    typer.echo(
        f"ok: {len(kb.records)} records ({len(kb.mechanisms)} mechanisms, "
        f"{len(kb.biomarkers)} biomarkers, {len(kb.therapies)} therapies), "
        f"{len(kb.molecules)} molecules, {len(kb.cell_types)} cell types, "
        f"{len(kb.phenotypes)} phenotypes; loaded and validated in {elapsed:.3f} s"
    )


@kb_app.command()
def summary(
    data: DataOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    as_csv: CsvOption = False,
) -> None:
    """Counts of records by kind, by seed section, and of the vocabularies."""
    fmt = output_format(as_json, as_csv)
    kb = _load(data)
    by_kind = Counter(r.kind for r in kb.records.values())
    by_section = Counter((r.seed, r.section, r.kind) for r in kb.records.values())
    by_cargo = Counter(kb.molecules[c].type for r in kb.mechanisms for c in r.cargo)
    vocabularies = {
        "cell_types": len(kb.cell_types),
        "cell_states": len(kb.cell_states),
        "molecules": len(kb.molecules),
        "phenotypes": len(kb.phenotypes),
    }
    fields = dict(count_fields(kb.records.values()))
    result = {
        "records": len(kb.records),
        "by_kind": dict(sorted(by_kind.items())),
        "by_seed_section": [
            {"seed": s, "section": sec, "kind": k, "records": n}
            for (s, sec, k), n in sorted(by_section.items())
        ],
        "mechanism_cargo_types": dict(by_cargo.most_common()),
        "vocabularies": vocabularies,
        "fields_by_provenance": fields,
    }
    if fmt is Format.json:
        typer.echo(json.dumps(result, indent=1))
        return
    table = Table(
        "Records by seed section",
        [Column("seed", "id"), Column("section", "id"), Column("title")]
        + [Column(k, "number") for k in ("mechanism", "biomarker", "therapy", "total")],
    )
    for source in kb.sources.values():
        for section in source.sections:
            counts = [
                by_section.get((source.id, section.id, k), 0)
                for k in ("mechanism", "biomarker", "therapy")
            ]
            if sum(counts):
                table.add(source.id, section.id, section.title, *counts, sum(counts))
    if fmt is Format.csv:
        emit(table, fmt)
        return
    plural = {"mechanism": "mechanisms", "biomarker": "biomarkers", "therapy": "therapies"}
    typer.echo(
        f"{len(kb.records)} records: "
        + ", ".join(f"{n} {plural[k]}" for k, n in sorted(by_kind.items()))
    )
    emit(table, fmt, console)
    typer.echo(
        "Mechanism cargo by type: " + ", ".join(f"{t} {n}" for t, n in by_cargo.most_common())
    )
    typer.echo(
        "Vocabularies: " + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in vocabularies.items())
    )
    typer.echo("Fields by provenance: " + ", ".join(f"{k} {n}" for k, n in fields.items()))


@kb_app.command("search")
def search_command(
    text: Annotated[
        str | None,
        typer.Argument(
            help="Free text: a cargo (any synonym), cell type, phenotype, drug, subtype or word."
        ),
    ] = None,
    kind: Annotated[str | None, typer.Option(help="mechanism, biomarker or therapy")] = None,
    cargo: Annotated[str | None, typer.Option(help="Cargo or analyte, any synonym.")] = None,
    cell: Annotated[
        str | None, typer.Option(help="Donor/recipient cell type (with sub-types).")
    ] = None,
    phenotype: Annotated[str | None, typer.Option(help="Effect phenotype.")] = None,
    drug: Annotated[str | None, typer.Option(help="Drug (as cargo, resistance or text).")] = None,
    pathway: Annotated[str | None, typer.Option(help="Pathway or target.")] = None,
    subtype: Annotated[str | None, typer.Option(help="luminal_a, her2_positive, tnbc, ...")] = None,
    seed: Annotated[str | None, typer.Option(help="Seed review id: 000 or 003.")] = None,
    stated_only: Annotated[
        bool,
        typer.Option(
            "--stated-only",
            help="Only records whose effects and directions the review states (no effect or "
            "direction normalised, inferred or added).",
        ),
    ] = False,
    data: DataOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    as_csv: CsvOption = False,
) -> None:
    """Search records; all given criteria must hold."""
    fmt = output_format(as_json, as_csv)
    kb = _load(data)
    query = Query(text, kind, cargo, cell, phenotype, drug, pathway, subtype, seed, stated_only)
    if query in (Query(), Query(stated_only=True)):
        raise QueryError("give a search text or at least one option (see --help)")
    hits = search(kb, query)
    if fmt is Format.json:
        typer.echo(
            json.dumps([r.model_dump(mode="json") for r in hits], indent=1, ensure_ascii=False)
        )
        return
    emit(_hits_table(kb, hits), fmt, console)


def _hits_table(kb: KnowledgeBase, hits: Sequence[Mechanism | Biomarker | Therapy]) -> Table:
    """One row per record: cargo, cells, effects, citation and the fields not stated."""
    names = ("cargo", "donor → recipient", "effect", "reference", "not stated")
    table = Table(
        f"{len(hits)} record(s)",
        [Column("id", "id"), Column("kind", "id")] + [Column(c) for c in names],
    )
    for record in hits:
        row = csv_row(kb, record)
        effect = "; ".join(
            f"{d} {e}"
            for e, d in zip(row["effect"].split(";"), row["direction"].split(";"), strict=False)
        )
        if record.kind == "biomarker":
            effect = row["effect"].replace(";", "; ")
        cells = f"{row['donor']} → {row['recipient']}" if row["recipient"] else row["donor"]
        table.add(
            record.id,
            record.kind,
            row["cargo"].replace(";", ", "),
            cells,
            effect,
            f"{record.seed} {record.reference}",
            row["provenance"].replace(";", "; "),
        )
    return table


@kb_app.command()
def show(record_id: str, data: DataOption = None) -> None:
    """Print one record in full (JSON); ``not_stated`` lists the fields the review does not
    state as recorded, with their class and source."""
    kb = _load(data)
    record = kb.record(record_id)
    payload = record.model_dump(mode="json") | {
        "file": str(kb.record_files[record.id]),
        "not_stated": describe(record),
    }
    typer.echo(json.dumps(payload, indent=1, ensure_ascii=False))


@kb_app.command("provenance")
def provenance_command(
    data: DataOption = None,
    records: Annotated[
        bool, typer.Option("--records", help="Also list every record with a field not stated.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    as_csv: CsvOption = False,
) -> None:
    """Count the structured fields of the graph by provenance: stated, normalised, inferred,
    added."""
    fmt = output_format(as_json, as_csv)
    kb = _load(data)
    by_kind = {
        kind: dict(count_fields(r for r in kb.records.values() if r.kind == kind))
        for kind in ("mechanism", "biomarker", "therapy")
    }
    total = dict(count_fields(kb.records.values()))
    flagged = [r for r in kb.records.values() if r.provenance]
    if fmt is Format.json:
        listing = {r.id: provenance_text(r) for r in flagged} if records else {}
        payload = {"fields": total, "by_kind": by_kind, "records_flagged": len(flagged)}
        typer.echo(json.dumps(payload | ({"records": listing} if records else {}), indent=1))
        return
    table = Table(
        f"Fields of {len(kb.records)} records by provenance",
        [Column("kind", "id")] + [Column(c, "number") for c in (*CLASSES, "total")],
    )
    for kind, counts in [*by_kind.items(), ("all", total)]:
        table.add(kind, *(counts[c] for c in CLASSES), sum(counts.values()))
    emit(table, fmt, console)
    if fmt is Format.csv:
        return
    typer.echo(
        f"{len(flagged)} of {len(kb.records)} records have a field not stated: "
        + ", ".join(f"{c} {total[c]}" for c in CLASSES)
    )
    for record in flagged if records else []:
        typer.echo(f"{record.id}: {provenance_text(record)}")


@kb_app.command("neighbours")
def neighbours_command(
    cell: Annotated[str, typer.Argument(help="Cell type id or synonym, e.g. caf, TAM, MDSC.")],
    data: DataOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    as_csv: Annotated[
        bool, typer.Option("--csv", help="Print CSV (one table, a 'direction' column).")
    ] = False,
) -> None:
    """What a cell type sends to and receives from other cells through exosomes."""
    fmt = output_format(as_json, as_csv)
    kb = _load(data)
    found = neighbours(kb, cell)
    if fmt is Format.json:
        typer.echo(json.dumps({k: [asdict(e) for e in v] for k, v in found.items()}, indent=1))
        return
    columns = [Column("record", "id"), Column("donor", "id"), Column("recipient", "id")]
    columns += [Column("cargo"), Column("effects")]
    both = Table(f"{cell} sends and receives", [Column("direction", "id"), *columns])
    for direction, exchanges in found.items():
        table = Table(f"{cell} {direction} ({len(exchanges)})", columns)
        for e in exchanges:
            row = (e.record_id, e.donor, e.recipient, ", ".join(e.cargo), "; ".join(e.effects))
            table.add(*row)
            both.add(direction, *row)
        if fmt is Format.table:
            emit(table, fmt, console)
    if fmt is Format.csv:
        emit(both, fmt)


@kb_app.command("export")
def export_command(
    fmt: Annotated[ExportFormat, typer.Option("--format", help="Output format.")],
    out: Annotated[Path, typer.Option("--out", help="File to write.")],
    data: DataOption = None,
) -> None:
    """Export the whole graph: csv, json, graphml, cytoscape or physicell-rules."""
    kb = _load(data)
    export(kb, fmt.value, out)
    typer.echo(f"wrote {out} ({fmt.value}, {len(kb.records)} records)")


@kb_app.command("crosscheck")
def crosscheck_command(
    mti: Annotated[
        Path, typer.Option("--mti", help="miRTarBase-style TSV of miRNA-target interactions.")
    ],
    species: Annotated[
        str | None,
        typer.Option(help="Only interactions of this species (e.g. Human); default any."),
    ] = None,
    data: DataOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    as_csv: CsvOption = False,
) -> None:
    """Report which curated miRNA→target claims strong external evidence supports."""
    fmt = output_format(as_json, as_csv)
    kb = _load(data)
    checks = crosscheck(kb, read_mti(mti), species)
    counts = summarise(checks)
    if fmt is Format.json:
        typer.echo(
            json.dumps(
                {
                    "summary": counts,
                    "pairs": [
                        {
                            "record": c.record_id,
                            "mirna": c.mirna,
                            "target": c.target,
                            "status": c.status,
                            "pmids": sorted({i.pmid for i in c.evidence}),
                            "species": sorted({i.species for i in c.evidence}),
                        }
                        for c in checks
                    ],
                },
                indent=1,
            )
        )
        return
    table = Table(
        f"miRNA→target claims checked against {mti.name}",
        [Column(c, "id") for c in ("record", "miRNA", "target", "status")]
        + [Column("species"), Column("PMIDs")],
    )
    for c in checks:
        pmids = sorted({i.pmid for i in c.evidence})
        species = ",".join(sorted({i.species for i in c.evidence}))
        cut = fmt is Format.table and len(pmids) > 4
        shown = ", ".join(pmids[:4] if cut else pmids) + (" …" if cut else "")
        table.add(c.record_id, c.mirna, c.target, c.status, species, shown)
    emit(table, fmt, console)
    if fmt is Format.csv:
        return
    typer.echo(
        f"pairs {counts['pairs']}: supported {counts['supported']}, not found "
        f"{counts['not_found']}, miRNA absent from table {counts['mirna_absent']}; records "
        f"with a supported pair {counts['records_supported']}/{counts['records_checked']}"
    )
