"""``/api/uploads`` and the liquid-biopsy jobs: fit a classifier, score new samples."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from ..datafiles import ExotwinError
from .api_knowledge import Svc
from .errors import ApiError, from_exotwin
from .jobs import JOB_ID
from .services import Services
from .tasks import read_upload
from .uploads import Upload

router = APIRouter(prefix="/api", tags=["biopsy"])
UploadId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
Column = Annotated[str, Field(min_length=1, max_length=200)]
Format = Literal["auto", "wide", "h5ad", "qpcr", "counts"]


class Data(BaseModel):
    """An uploaded data file and how to read it (as ``exotwin biopsy`` options)."""

    model_config = ConfigDict(extra="forbid")
    data: UploadId
    id_column: Column | None = None
    format: Format = "auto"


class FitIn(Data):
    label: Column
    meta: UploadId | None = None
    positive: Column | None = None
    group: Column | None = None
    task: Literal["diagnosis", "subtype"] = "diagnosis"
    normalise: Literal["quantile", "reference", "cpm", "tmm", "deseq2"] | None = None
    seed: int = Field(0, ge=0, le=2**32 - 1)
    outer_folds: int = Field(5, ge=2, le=20)
    inner_folds: int = Field(3, ge=2, le=20)
    bootstrap: int = Field(1000, ge=0, le=10000)
    panel: int = Field(5, ge=0, le=20)
    operating_point: Literal["accuracy", "youden"] = "accuracy"


class PredictIn(Data):
    model_job: Annotated[str, Field(pattern=JOB_ID.pattern)]


@router.post(
    "/uploads",
    status_code=201,
    summary="Upload a data table (the request body is the file)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def post_upload(
    request: Request, svc: Svc, name: Annotated[str, Query(min_length=1, max_length=200)]
) -> dict[str, Any]:
    length = request.headers.get("content-length")
    declared = int(length) if length and length.isdigit() else None
    upload = await svc.uploads.save(name, request.stream(), declared)
    return upload.public() | {"limit": svc.settings.upload_limit}


@router.get("/uploads/{upload_id}", summary="What an upload holds")
def get_upload(svc: Svc, upload_id: Annotated[str, Path(max_length=32)]) -> dict[str, Any]:
    return svc.uploads.get(upload_id)[0].public()


def _inputs(
    svc: Services, body: Data, meta: str | None = None
) -> tuple[dict[str, bytes | FsPath], dict[str, Any], Upload]:
    """The uploads to copy in as the job's inputs (``data.SUFFIX``, ``meta.SUFFIX``)."""
    upload, path = svc.uploads.get(body.data, "data")
    files: dict[str, bytes | FsPath] = {f"data{upload.suffix}": path}
    params: dict[str, Any] = {
        "data": f"data{upload.suffix}",
        "data_name": upload.name,
        "id_column": body.id_column,
        "fmt": body.format,
    }
    if meta is not None:
        meta_upload, meta_path = svc.uploads.get(meta, "meta")
        files[f"meta{meta_upload.suffix}"] = meta_path
        params["meta"] = f"meta{meta_upload.suffix}"
    return files, params, upload


def _reader(params: dict[str, Any], **labels: Any) -> Callable[[FsPath], Any]:
    """A check that reads the job's inputs exactly as the job will (the CLI's validation)."""

    def check(folder: FsPath) -> Any:
        try:
            return read_upload(folder, params, **labels)
        except ExotwinError as exc:
            raise from_exotwin(exc, "data", params["data_name"]) from None

    return check


@router.post("/jobs/biopsy-fit", status_code=202, summary="Fit a classifier by nested CV")
def post_fit(svc: Svc, body: FitIn) -> dict[str, Any]:
    files, params, upload = _inputs(svc, body, body.meta)
    read = _reader(params, label=body.label, group=body.group)

    def check(folder: FsPath) -> None:
        classes = read(folder).classes
        if body.task == "diagnosis" and len(classes) != 2:
            message = f"a diagnosis needs two classes; {body.label!r} has {len(classes)}"
            raise ApiError(422, "task", message)
        if body.positive is not None and body.positive not in classes:
            raise ApiError(422, "positive", f"{body.positive!r} is not among {classes}")

    params |= body.model_dump(exclude={"data", "meta", "id_column", "format"})
    job = svc.store.create("biopsy-fit", f"fit {upload.name}: {body.label}", params, files, check)
    svc.runner.notify()
    return job.public()


@router.post(
    "/jobs/biopsy-predict", status_code=202, summary="Score new samples with a fitted model"
)
def post_predict(svc: Svc, body: PredictIn) -> dict[str, Any]:
    model = svc.store.get(body.model_job)
    if model.kind != "biopsy-fit" or model.state != "done":
        raise ApiError(422, "model_job", f"job {model.id} is not a finished biopsy fit")
    files, params, upload = _inputs(svc, body)
    params["model_job"] = model.id
    title = f"score {upload.name} with {model.title}"
    job = svc.store.create("biopsy-predict", title, params, files, _reader(params))
    svc.runner.notify()
    return job.public()
