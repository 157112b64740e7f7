"""Typed API errors: every refusal is a 4xx JSON body naming the field, never a traceback.

Body: ``{"error": {"type", "field", "message", "problems": [{"file", "line", "field",
"message"}]}}``; ``problems`` lists what a data file's validation found (file names only,
never a server path).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ..datafiles import DataValidationError, ExotwinError, Problem

log = logging.getLogger("exotwin.web")


class ApiError(Exception):
    """A refusal with its HTTP status, the field at fault and a one-line message."""

    def __init__(
        self,
        status: int,
        field: str,
        message: str,
        kind: str = "invalid",
        problems: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.field, self.message, self.kind = status, field, message, kind
        self.problems = problems or []

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "type": self.kind,
                "field": self.field,
                "message": self.message,
                "problems": self.problems,
            }
        }


def problem_json(problem: Problem, display: str | None = None) -> dict[str, Any]:
    """A validation problem with the file shown by name only."""
    return {
        "file": display or problem.file.name,
        "line": problem.line,
        "field": problem.field,
        "message": problem.message,
    }


def from_exotwin(exc: ExotwinError, field: str, display: str | None = None) -> ApiError:
    """A layer's typed error as a 422 naming ``field`` (and every problem it found)."""
    if isinstance(exc, DataValidationError):
        problems = [problem_json(p, display) for p in exc.problems]
        first = problems[0] if problems else None
        message = (
            f"{len(problems)} problem(s); first: line {first['line'] or '-'} "
            f"{first['field'] or ''}: {first['message']}"
            if first
            else str(exc)
        )
        return ApiError(422, field, message, type(exc).__name__, problems)
    return ApiError(422, field, str(exc).splitlines()[0] if str(exc) else field, type(exc).__name__)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a typed JSON answer."""

    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {
                "file": None,
                "line": None,
                "field": ".".join(str(p) for p in err["loc"] if p not in {"body", "query", "path"}),
                "message": err["msg"],
            }
            for err in exc.errors()
        ]
        first = problems[0] if problems else {"field": "", "message": "invalid request"}
        error = ApiError(422, first["field"], first["message"], "invalid_request", problems)
        return JSONResponse(error.body(), status_code=422)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        kind = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        error = ApiError(exc.status_code, "path", str(exc.detail), kind)
        return JSONResponse(error.body(), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(ExotwinError)
    async def _exotwin(_: Request, exc: ExotwinError) -> JSONResponse:
        error = from_exotwin(exc, "")
        return JSONResponse(error.body(), status_code=error.status)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error on %s %s", request.method, request.url.path)
        error = ApiError(500, "", "internal error (logged by the server)", "internal")
        return JSONResponse(error.body(), status_code=500)
