"""Uploaded data files: size-limited, checked by type, stored under generated names.

A file lands in ``ROOT/uploads/ID.SUFFIX`` (``ID`` a random hex id, ``SUFFIX`` one of
:data:`SUFFIXES`) with ``ID.json`` beside it (the name the user gave, size, format and
columns). The user's name is shown, never used as a path; nothing uploaded is executed.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..datafiles import ExotwinError
from .errors import ApiError, from_exotwin

SUFFIXES = (".csv", ".tsv", ".txt", ".tab", ".h5ad")
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
NAME = re.compile(r"^[^/\\\x00-\x1f]{1,200}$")


@dataclass(frozen=True)
class Upload:
    id: str
    name: str
    size: int
    suffix: str
    format: str
    columns: list[str]

    def public(self) -> dict[str, Any]:
        return asdict(self)


def checked_suffix(name: str) -> str:
    """The suffix of an upload's name, if its type is accepted (else 415)."""
    if not NAME.match(name) or name in {".", ".."}:
        raise ApiError(422, "name", "a file name without folders or control characters", "bad_name")
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise ApiError(
            415,
            "name",
            f"file type {suffix or '(none)'} not accepted; expected one of {', '.join(SUFFIXES)}",
            "unsupported_type",
        )
    return suffix


def _check_content(path: Path, suffix: str) -> None:
    with path.open("rb") as handle:
        head = handle.read(65536)
    if suffix == ".h5ad":
        if not head.startswith(HDF5_SIGNATURE):
            raise ApiError(415, "file", "not an HDF5/AnnData file", "unsupported_type")
        return
    if b"\x00" in head:
        raise ApiError(415, "file", "a binary file; expected a text table", "unsupported_type")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not merely a character cut by the 64 KiB window
            raise ApiError(415, "file", "not UTF-8 text", "unsupported_type") from None


def _columns(path: Path, fmt: str, name: str) -> list[str]:
    """Columns a label, id or group may come from (not the analytes)."""
    import pandas as pd

    from ..biopsy.names import is_analyte

    if fmt == "h5ad":
        import anndata

        try:
            return [str(c) for c in anndata.read_h5ad(path, backed="r").obs.columns]
        except Exception as exc:  # h5py/anndata raise many kinds
            raise ApiError(415, "file", f"cannot read AnnData: {exc}", "unsupported_type") from None
    if fmt in {"qpcr", "counts"}:
        return []
    try:
        header = pd.read_csv(path, sep=None, engine="python", nrows=0, dtype=str)
    except (ValueError, pd.errors.ParserError) as exc:
        raise ApiError(422, "file", f"{name}: cannot read a table header: {exc}") from None
    return [str(c).strip() for c in header.columns if not is_analyte(str(c))]


class UploadStore:
    """The uploads folder."""

    def __init__(self, root: Path, limit: int) -> None:
        self.root, self.limit = root / "uploads", limit
        self.root.mkdir(parents=True, exist_ok=True)

    async def save(self, name: str, chunks: AsyncIterator[bytes], declared: int | None) -> Upload:
        """Stream the body to a generated name, refusing more than the limit (413)."""
        suffix = checked_suffix(name)
        if declared is not None and declared > self.limit:
            raise self._too_big()
        ident = uuid.uuid4().hex
        path = self.root / f"{ident}{suffix}"
        size = 0
        try:
            with path.open("wb") as handle:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > self.limit:
                        raise self._too_big()
                    handle.write(chunk)
            if size == 0:
                raise ApiError(422, "file", "the file is empty", "empty_file")
            _check_content(path, suffix)
            upload = Upload(ident, name, size, suffix, *self._describe(path, name))
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        (self.root / f"{ident}.json").write_text(json.dumps(upload.public()), encoding="utf-8")
        return upload

    def _describe(self, path: Path, name: str) -> tuple[str, list[str]]:
        from ..biopsy.readers import detect_format

        try:
            fmt = detect_format(path)
        except ExotwinError as exc:
            raise from_exotwin(exc, "file", name) from None
        return fmt, _columns(path, fmt, name)

    def _too_big(self) -> ApiError:
        mib = self.limit / 2**20
        return ApiError(413, "file", f"the upload exceeds the limit of {mib:g} MiB", "too_large")

    def get(self, upload_id: str, field: str = "upload") -> tuple[Upload, Path]:
        meta = self.root / f"{upload_id}.json"
        if not UPLOAD_ID.match(upload_id) or not meta.is_file():
            raise ApiError(404, field, f"no upload {upload_id!r}", "unknown_upload")
        upload = Upload(**json.loads(meta.read_text(encoding="utf-8")))
        return upload, self.root / f"{upload.id}{upload.suffix}"
