"""Progress of a long command, wherever it runs: a live bar when stderr is a terminal, else a
plain line on stderr every few seconds (logs, CI, ``nohup``), each with elapsed time and ETA.

One :class:`Progress` per task; the work reports through :meth:`Progress.update` or
:meth:`Progress.advance` as often as it likes (updates are throttled here). Set
``EXOTWIN_PROGRESS_EVERY`` (seconds, default 10) to change how often plain lines are written.
"""

from __future__ import annotations

import math
import os
import sys
import time
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress

__all__ = ["Progress", "clock"]

DEFAULT_EVERY = 10.0  # seconds between plain progress lines
REFRESH = 0.1  # seconds between updates of the live bar


def clock(seconds: float) -> str:
    """``m:ss`` or ``h:mm:ss``; ``?`` when unknown."""
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:.1f}"


def _every() -> float:
    try:
        return max(0.0, float(os.environ.get("EXOTWIN_PROGRESS_EVERY", DEFAULT_EVERY)))
    except ValueError:
        return DEFAULT_EVERY


class Progress:
    """Progress of one task of ``total`` units (``None``: unknown until the work says), named
    by ``unit`` (``runs``, ``simulated days``; ``%`` shows the percentage alone).

    Used as a context manager: the live bar disappears on exit; plain output ends with a
    ``done`` line if it wrote any line before.
    """

    def __init__(
        self,
        description: str,
        total: float | None = None,
        unit: str = "",
        stream: TextIO | None = None,
    ) -> None:
        self.description, self.total, self.unit = description, total, unit
        self.completed = 0.0
        self.stream = stream or sys.stderr
        self.every = _every()
        self.start = self.last_line = self.last_draw = time.monotonic()
        self.lines = 0
        self._bar: RichProgress | None = None
        self._task: TaskID | None = None
        if self.stream.isatty():
            self._bar = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[unit]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
                transient=True,
            )

    def __enter__(self) -> Progress:
        if self._bar is not None:
            self._bar.start()
            self._task = self._bar.add_task(self.description, total=self.total, unit=self.unit)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
        elif self.lines and kind is None:
            self._write(f"done in {clock(time.monotonic() - self.start)}")

    def advance(self, units: float = 1.0, description: str | None = None) -> None:
        self.update(self.completed + units, description=description)

    def update(
        self, completed: float, total: float | None = None, description: str | None = None
    ) -> None:
        """Record ``completed`` units (of ``total``, when it becomes known)."""
        self.completed = completed
        if total is not None:
            self.total = total
        if description is not None:
            self.description = description
        now = time.monotonic()
        if self._bar is not None and self._task is not None:
            if now - self.last_draw >= REFRESH or completed == self.total:
                self.last_draw = now
                self._bar.update(
                    self._task, completed=completed, total=self.total, description=self.description
                )
        elif now - self.last_line >= self.every:
            self.last_line = now
            self._write(self.line(now - self.start))

    def line(self, elapsed: float) -> str:
        """``done/total unit (pct), elapsed m:ss, ETA m:ss`` (no ETA while the total is
        unknown)."""
        unit = f" {self.unit}" if self.unit else ""
        if not self.total:
            return f"{_number(self.completed)}{unit} done, elapsed {clock(elapsed)}"
        fraction = min(self.completed / self.total, 1.0)
        eta = elapsed * (1 - fraction) / fraction if fraction > 0 else math.nan
        done = f"{_number(self.completed)}/{_number(self.total)}{unit} ({fraction:.0%})"
        return f"{done if self.unit != '%' else f'{fraction:.0%}'}, elapsed {clock(elapsed)}, ETA {clock(eta)}"

    def _write(self, text: str) -> None:
        self.lines += 1
        print(f"progress: {self.description}: {text}", file=self.stream, flush=True)
