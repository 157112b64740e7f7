"""``/api/jobs``: list, look up, cancel, read results, download files and the run folder."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import FileResponse, Response

from ..model import load_scenario
from .api_knowledge import Svc
from .errors import ApiError
from .jobs import Job
from .results import biopsy_result, finite, predict_result, scenario_result, snapshot
from .services import Services
from .tasks import SCENARIO_FILE

router = APIRouter(prefix="/api/jobs", tags=["jobs"])
JobId = Annotated[str, Path(max_length=32)]
FILE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._ -]*(/[A-Za-z0-9_][A-Za-z0-9._ -]*)*$")
# a report written by a job is shown as a document that can run nothing
SANDBOX = {
    "Content-Security-Policy": "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
}


def _finished(svc: Services, job_id: str) -> tuple[Job, FsPath]:
    job = svc.store.get(job_id)
    output = svc.store.folder(job.id) / "output"
    if job.state != "done" or not output.is_dir():
        raise ApiError(409, "job_id", f"job {job.id} is {job.state}, not done", "job_not_done")
    return job, output


@router.get("", summary="Jobs, newest first")
def list_jobs(svc: Svc) -> dict[str, Any]:
    return {"jobs": [j.public() for j in svc.store.recent()], "counts": svc.store.counts()}


@router.get("/{job_id}", summary="One job: state, progress, error")
def get_job(svc: Svc, job_id: JobId) -> dict[str, Any]:
    return svc.store.get(job_id).public()


@router.post("/{job_id}/cancel", summary="Cancel a queued or running job")
def cancel_job(svc: Svc, job_id: JobId) -> dict[str, Any]:
    svc.runner.cancel(job_id)
    return svc.store.get(job_id).public()


@router.get("/{job_id}/result", summary="A finished job's results, as the pages chart them")
def get_result(svc: Svc, job_id: JobId) -> dict[str, Any]:
    job, output = _finished(svc, job_id)
    if job.kind == "scenario":
        sc = load_scenario(output.parent / "input" / SCENARIO_FILE, svc.kb, svc.lib)
        data = scenario_result(output, sc, job.params.get("solver", "compartment"), svc.kb)
    elif job.kind == "biopsy-fit":
        data = biopsy_result(output)
    else:
        data = predict_result(output)
    return finite({"job": job.public(), **data})


@router.get("/{job_id}/snapshot", summary="Cells and fields of one tissue snapshot")
def get_snapshot(
    svc: Svc,
    job_id: JobId,
    arm: Annotated[str, Query(max_length=100)],
    day: Annotated[float, Query(ge=0, le=3650)],
) -> dict[str, Any]:
    job, output = _finished(svc, job_id)
    if job.params.get("solver") != "tissue":
        raise ApiError(422, "job_id", f"job {job.id} is not a tissue run", "not_tissue")
    return finite(snapshot(output, arm, day))


def _files(output: FsPath) -> list[str]:
    return sorted(
        str(p.relative_to(output))
        for p in output.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    )


@router.get("/{job_id}/files", summary="The files a finished job wrote")
def list_files(svc: Svc, job_id: JobId) -> list[str]:
    return _files(_finished(svc, job_id)[1])


@router.get("/{job_id}/files/{name:path}", summary="One output file", response_class=FileResponse)
def get_file(svc: Svc, job_id: JobId, name: Annotated[str, Path(max_length=300)]) -> FileResponse:
    _, output = _finished(svc, job_id)
    if not FILE.match(name) or ".." in name.split("/") or name not in _files(output):
        raise ApiError(404, "name", f"job {job_id} wrote no file {name!r}", "unknown_file")
    shown = name.endswith((".html", ".svg", ".png", ".csv", ".json"))
    return FileResponse(
        output / name,
        filename=FsPath(name).name,
        headers=SANDBOX,
        content_disposition_type="inline" if shown else "attachment",
    )


@router.get("/{job_id}/archive", summary="The run folder as a zip", response_class=Response)
def get_archive(svc: Svc, job_id: JobId) -> Response:
    job, output = _finished(svc, job_id)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in _files(output):
            archive.write(output / name, name)
        scenario = output.parent / "input" / SCENARIO_FILE
        if scenario.is_file():
            archive.write(scenario, SCENARIO_FILE)
    filename = f"exotwin-{job.kind}-{job.id[:8]}.zip"
    return Response(
        buffer.getvalue(),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
