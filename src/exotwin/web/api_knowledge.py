"""``/api`` endpoints of the evidence explorer: search, records, network, neighbours, exports."""

from __future__ import annotations

import functools
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from ..knowledge import KnowledgeError, UnknownEntityError
from ..knowledge.browse import cell_cargo_network, facets, of_cargo_type, suggest
from ..knowledge.exports import FORMATS, csv_row
from ..knowledge.kb import Record
from ..knowledge.query import Query as KbQuery
from ..knowledge.query import neighbours, search
from .errors import ApiError
from .services import Services

router = APIRouter(prefix="/api", tags=["evidence"])
Text = Annotated[str | None, Query(max_length=200)]
RecordId = Annotated[str, Path(max_length=200, pattern=r"^[A-Za-z0-9._-]+$")]
EXPORT_SUFFIX = {
    "csv": ("csv", "text/csv"),
    "json": ("json", "application/json"),
    "graphml": ("graphml", "application/xml"),
    "cytoscape": ("cyjs.json", "application/json"),
    "physicell-rules": ("rules.csv", "text/csv"),
}


async def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


Svc = Annotated[Services, Depends(services)]


class Criteria:
    """Search criteria (those of ``exotwin kb search`` + cargo type)."""

    def __init__(self, query: KbQuery, cargo_type: str | None) -> None:
        self.query, self.cargo_type = query, cargo_type or None

    def hits(self, svc: Services) -> list[Record]:
        return [svc.kb.records[i] for i in _hits(svc, self.query, self.cargo_type)]


async def criteria(
    text: Text = None,
    kind: Annotated[Literal["mechanism", "biomarker", "therapy"] | None, Query()] = None,
    cargo: Text = None,
    cargo_type: Text = None,
    cell: Text = None,
    phenotype: Text = None,
    drug: Text = None,
    pathway: Text = None,
    subtype: Text = None,
    seed: Text = None,
    stated_only: bool = False,
) -> Criteria:
    """The search criteria as query parameters (``stated_only``: only records whose effects
    and directions the review states)."""
    query = KbQuery(
        text=text or None,
        kind=kind or None,
        cargo=cargo or None,
        cell=cell or None,
        phenotype=phenotype or None,
        drug=drug or None,
        pathway=pathway or None,
        subtype=subtype or None,
        seed=seed or None,
        stated_only=stated_only,
    )
    return Criteria(query, cargo_type)


@functools.lru_cache(maxsize=1024)
def _hits(svc: Services, query: KbQuery, cargo_type: str | None) -> tuple[str, ...]:
    """Ids of the matching records (the graph does not change while a server runs)."""
    try:
        found = search(svc.kb, query)
    except UnknownEntityError as exc:
        raise ApiError(422, "cell", str(exc), "unknown_entity") from None
    if cargo_type:
        if cargo_type not in facets(svc.kb)["cargo_types"]:
            raise ApiError(422, "cargo_type", f"unknown cargo type {cargo_type!r}")
        found = of_cargo_type(svc.kb, found, cargo_type)
    return tuple(r.id for r in found)


@functools.lru_cache(maxsize=1024)
def _rows(svc: Services, query: KbQuery, cargo_type: str | None) -> dict[str, Any]:
    hits = [svc.kb.records[i] for i in _hits(svc, query, cargo_type)]
    rows = [csv_row(svc.kb, r) | {"summary": r.summary} for r in hits]
    suggestions = suggest(svc.kb, query.text) if query.text and not hits else []
    return {"count": len(rows), "records": rows, "suggestions": suggestions}


@router.get("/facets", summary="Values each search filter takes")
def get_facets(svc: Svc) -> dict[str, Any]:
    return facets(svc.kb)


@router.get("/search", summary="Search records (every criterion given must hold)")
async def get_search(svc: Svc, found: Annotated[Criteria, Depends(criteria)]) -> dict[str, Any]:
    return _rows(svc, found.query, found.cargo_type)


@router.get("/records/{record_id}", summary="One record with its citation, dynamics and uses")
def get_record(svc: Svc, record_id: RecordId) -> dict[str, Any]:
    try:
        record = svc.kb.record(record_id)
    except KnowledgeError as exc:
        raise ApiError(404, "record_id", str(exc), "unknown_record") from None
    source = svc.kb.sources.get(record.seed)
    section = (
        next((s.title for s in source.sections if s.id == record.section), None) if source else None
    )
    data = record.model_dump(mode="json")
    return {
        "record": data,
        "source": {"id": record.seed, "title": source.title if source else "", "section": section},
        "file": svc.kb.record_files[record.id].name,
        "row": csv_row(svc.kb, record),
        "provenance": data.get("provenance"),
        "dynamics": svc.record_dynamics(record.id),
        "scenarios": svc.scenario_usage().get(record.id, []),
    }


@router.get("/network", summary="Cells and the cargo they exchange, for the matching records")
def get_network(svc: Svc, found: Annotated[Criteria, Depends(criteria)]) -> dict[str, Any]:
    return cell_cargo_network(svc.kb, found.hits(svc))


@router.get("/neighbours/{cell}", summary="What a cell type sends and receives")
def get_neighbours(
    svc: Svc, cell: Annotated[str, Path(max_length=100)]
) -> dict[str, list[dict[str, Any]]]:
    try:
        found = neighbours(svc.kb, cell)
    except KnowledgeError as exc:
        raise ApiError(404, "cell", str(exc), "unknown_entity") from None
    return {k: [asdict(e) for e in v] for k, v in found.items()}


@router.get(
    "/exports/{fmt}",
    summary="The whole graph as csv, json, graphml, cytoscape or physicell-rules",
    response_class=Response,
)
def get_export(svc: Svc, fmt: Annotated[Literal[FORMATS], Path()]) -> Response:  # type: ignore[valid-type]
    suffix, media = EXPORT_SUFFIX[fmt]
    return Response(
        svc.export_bytes(fmt),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="exotwin-evidence.{suffix}"'},
    )
