"""The FastAPI app: pages, static front end, ``/api`` routers and the request guard."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from . import api_biopsy, api_jobs, api_knowledge, api_scenarios
from .errors import ApiError, install
from .services import Services
from .settings import Settings

STATIC = Path(__file__).parent / "static"
PAGES = {
    "/": "explorer.html",
    "/record": "record.html",
    "/network": "network.html",
    "/studio": "studio.html",
    "/biopsy": "biopsy.html",
    "/jobs": "jobs.html",
}
LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1"}
COOKIE = "exotwin_token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def plotly_js() -> Path:
    """Plotly.js as bundled with the ``plotly`` Python package (no CDN)."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _refuse(status: int, field: str, message: str, kind: str) -> JSONResponse:
    return JSONResponse(ApiError(status, field, message, kind).body(), status_code=status)


def _host(value: str) -> str:
    return (urlsplit(f"//{value}").hostname or "").lower()


def _guard(settings: Settings, request: Request) -> Response | None:
    """Why a request is refused (or the redirect that stores a token), else None."""
    host = request.headers.get("host", "")
    if settings.loopback_only and _host(host) not in LOOPBACK_NAMES:
        return _refuse(400, "host", "this server answers only on a loopback address", "bad_host")
    origin = request.headers.get("origin")
    if request.method not in SAFE_METHODS and origin and urlsplit(origin).netloc != host:
        return _refuse(
            403, "origin", "cross-origin requests may not change anything", "cross_origin"
        )
    token = settings.token
    if token is None:
        return None
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    given = given or request.cookies.get(COOKIE, "")
    if given and secrets.compare_digest(given.encode(), token.encode()):
        return None
    query = request.query_params.get("token")
    if request.method == "GET" and query and secrets.compare_digest(query.encode(), token.encode()):
        rest = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "token"])
        target = request.url.path + (f"?{rest}" if rest else "")
        redirect = RedirectResponse(target, status_code=303)
        redirect.set_cookie(COOKIE, token, httponly=True, samesite="strict")
        return redirect
    return _refuse(
        401,
        "token",
        "an access token is required (open the address printed by exotwin serve)",
        "unauthorized",
    )


class Guard:
    """ASGI middleware: refuse what :func:`_guard` refuses; add the security headers."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app, self.settings = app, settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    if name not in headers:
                        headers.append(name, value)
            await send(message)

        refusal = _guard(self.settings, Request(scope))
        if refusal is not None:
            await refusal(scope, receive, send_with_headers)
        else:
            await self.app(scope, receive, send_with_headers)


def create_app(settings: Settings) -> FastAPI:
    """The app over one jobs folder; workers start and stop with the app's lifespan."""
    services = Services(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        services.start()
        try:
            yield
        finally:
            services.stop()

    app = FastAPI(
        title="exotwin",
        version=__version__,
        summary="Evidence explorer, scenario studio and liquid biopsy over the exotwin API.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services
    install(app)

    app.add_middleware(Guard, settings=settings)

    for router in (api_knowledge, api_scenarios, api_biopsy, api_jobs):
        app.include_router(router.router)

    @app.get("/api/health", tags=["server"], summary="Version, workers, jobs and upload limit")
    def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "version": __version__,
            "workers": len(services.runner.slots),
            "jobs": services.store.counts(),
            "upload_limit": settings.upload_limit,
        }

    @app.get("/static/vendor/plotly.min.js", include_in_schema=False)
    def plotly() -> FileResponse:
        return FileResponse(
            plotly_js(), media_type="text/javascript", headers={"Cache-Control": "max-age=86400"}
        )

    for route, page in PAGES.items():
        app.add_api_route(route, _page(page), include_in_schema=False, methods=["GET"])
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _page(name: str) -> Callable[[], FileResponse]:
    def page() -> FileResponse:
        return FileResponse(STATIC / name, media_type="text/html")

    return page
