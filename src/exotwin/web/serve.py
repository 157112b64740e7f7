"""``exotwin serve``: start the web app on loopback (or, with a token, on another address)."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path
from typing import Annotated

import typer

from .settings import MiB, Settings

MIN_TOKEN = 16


def default_jobs() -> Path:
    """``$XDG_DATA_HOME/exotwin/jobs`` (``~/.local/share/exotwin/jobs``)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "exotwin" / "jobs"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _fail(message: str) -> typer.Exit:
    typer.echo(f"exotwin serve: {message}", err=True)
    return typer.Exit(2)


def _check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise _fail(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def serve(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8765,
    host: Annotated[
        str, typer.Option(help="Address to listen on; other than loopback needs --token.")
    ] = "127.0.0.1",
    token: Annotated[
        str | None,
        typer.Option(
            envvar="EXOTWIN_TOKEN",
            help=f"Access token (at least {MIN_TOKEN} characters) required by every request.",
        ),
    ] = None,
    jobs: Annotated[
        Path | None,
        typer.Option(help="Jobs folder (inputs, outputs, SQLite index); default: per user."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Worker processes (at most the number of cores).")
    ] = None,
    upload_limit: Annotated[int, typer.Option(min=1, help="Largest upload, in MiB.")] = 64,
) -> None:
    """Start the web app: evidence explorer, scenario studio, liquid biopsy (Ctrl-C stops)."""
    import uvicorn

    from .app import create_app

    if not is_loopback(host) and not token:
        raise _fail(f"--host {host} is not a loopback address: give --token (refused without one)")
    if token is not None and len(token) < MIN_TOKEN:
        raise _fail(f"--token needs at least {MIN_TOKEN} characters")
    _check_port(host, port)
    folder = jobs or default_jobs()
    settings = Settings(
        jobs=folder,
        token=token,
        upload_limit=upload_limit * MiB,
        workers=workers,
        loopback_only=is_loopback(host),
    )
    try:
        app = create_app(settings)
    except OSError as exc:
        raise _fail(f"cannot use the jobs folder {folder}: {exc.strerror or exc}") from None
    shown = f"[{host}]" if ":" in host else host
    address = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
    typer.echo(f"exotwin serve: open {address}  (jobs in {folder}; Ctrl-C stops)")
    uvicorn.run(app, host=host, port=port, log_level="warning")
