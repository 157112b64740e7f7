"""A worker process: runs the jobs its server hands it (one id per line on stdin), one at a
time, answering ``idle`` on its own pipe after each; it exits when the server is gone.

Run as ``python -m exotwin.web.worker JOBS_DIR`` by :mod:`exotwin.web.runner`.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import TextIO

from ..datafiles import ExotwinError
from .errors import from_exotwin
from .jobs import JobStore, job_lock
from .tasks import TASKS, Context

PROGRESS_EVERY = 0.25  # seconds between progress writes to the index


def run_job(store: JobStore, ctx: Context, job_id: str) -> None:
    """Run one claimed job under its lock; record done, or failed with a typed error."""
    job = store.get(job_id)
    folder = store.root / job.id
    last = [0.0]

    def report(fraction: float, message: str) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY or fraction >= 1.0:
            last[0] = now
            store.progress(job.id, fraction, message)

    with job_lock(folder, wait=10.0) as held:
        if not held:
            return
        try:
            TASKS[job.kind](ctx, job, folder, report)
        except ExotwinError as exc:
            store.finish(job.id, "failed", from_exotwin(exc, "input").body()["error"])
        except Exception as exc:
            (folder / "log.txt").write_text(traceback.format_exc(), encoding="utf-8")
            message = f"internal error ({type(exc).__name__}: {str(exc)[:200]}); see the job log"
            store.finish(job.id, "failed", {"type": "internal", "message": message})
        else:
            store.finish(job.id, "done")


def _exit_with_parent() -> None:
    """Stop this process when the server that started it goes (its parent changes)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(3)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def serve(jobs: Path, commands: TextIO, answers: TextIO) -> None:
    """Read job ids from ``commands`` until it closes; answer ``idle`` after each job."""
    store = JobStore(jobs)
    ctx = Context()
    ctx.lib  # noqa: B018 (load the graph and library before the first job)
    answers.write("ready\n")
    answers.flush()
    for line in commands:
        job_id = line.strip()
        if job_id:
            run_job(store, ctx, job_id)
        answers.write("idle\n")
        answers.flush()


def main() -> None:
    _exit_with_parent()
    # the protocol gets its own copy of stdout; anything a task prints goes to stderr
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    serve(Path(sys.argv[1]), sys.stdin, answers)


if __name__ == "__main__":
    main()
