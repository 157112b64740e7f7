"""What every ``exotwin`` command shares: the one error boundary and the ``--overwrite`` option.

Every Typer app of the CLI is built with :class:`ErrorBoundary` as its click group, so a
command never catches errors itself: a project error (:class:`~exotwin.errors.ExotwinError`)
or an OS error at a path becomes a one-line typed message on stderr and exit 1; any other
exception prints a short message and the file holding its full traceback; usage errors keep
click's exit 2.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import time
import traceback
from types import FrameType
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from . import __version__
from .errors import DataValidationError, ExotwinError
from .io import path_error

__all__ = ["ErrorBoundary", "OverwriteOption", "exit_on_sigterm", "message", "new_app"]

OverwriteOption = Annotated[
    bool,
    typer.Option(
        "--overwrite",
        help="Also write into an existing non-empty folder that exotwin did not make; only "
        "exotwin's own files are ever replaced.",
    ),
]


def message(exc: ExotwinError) -> list[str]:
    """The lines that report ``exc``: one typed line, preceded by one line per problem when a
    data file has several."""
    name = type(exc).__name__
    if isinstance(exc, DataValidationError) and len(exc.problems) == 1:
        return [f"{name}: {_one_line(str(exc.problems[0]))}"]
    if isinstance(exc, DataValidationError):
        lines = [_one_line(str(p)) for p in exc.problems[:50]]
        if len(exc.problems) > 50:
            lines.append(f"... and {len(exc.problems) - 50} more")
        return [*lines, f"{name}: {len(exc.problems)} problem(s) in the {exc.what}"]
    return [f"{name}: {_one_line(str(exc)) or 'failed'}"]


def _one_line(text: str) -> str:
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def _traceback_file(exc: BaseException) -> str:
    """Write the full traceback (with the command line) to a file under the temp folder."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    fd, path = tempfile.mkstemp(prefix=f"exotwin-traceback-{stamp}-", suffix=".txt")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(f"exotwin {__version__}: {' '.join(sys.argv)}\n\n")
        handle.write("".join(traceback.format_exception(exc)))
    return path


def _fail(lines: list[str]) -> NoReturn:
    for line in lines:
        typer.echo(line, err=True)
    raise typer.Exit(1)


class ErrorBoundary(TyperGroup):
    """A click group whose ``invoke`` is the CLI's one error boundary (see module docstring)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException, BrokenPipeError):
            raise  # exit codes, usage errors (2), output piped into `head`: click's own handling
        except ExotwinError as exc:
            _fail(message(exc))
        except OSError as exc:
            _fail(message(path_error(exc)))
        except Exception as exc:
            try:
                where = f"full traceback in {_traceback_file(exc)}"
            except OSError:
                where = "the traceback could not be written to the temp folder"
            _fail(
                [
                    f"InternalError: exotwin failed unexpectedly ({type(exc).__name__}: "
                    f"{str(exc).splitlines()[0] if str(exc) else ''}); {where}; please report it"
                ]
            )


def new_app(**kwargs: Any) -> typer.Typer:
    """A Typer app whose commands run inside the error boundary."""
    return typer.Typer(cls=ErrorBoundary, **kwargs)


def exit_on_sigterm() -> None:
    """Turn SIGTERM into ``SystemExit(143)`` so staged outputs are cleaned up like on Ctrl-C."""

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
