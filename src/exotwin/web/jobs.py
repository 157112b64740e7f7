"""The jobs folder: one sub-folder per job (inputs, outputs, log) indexed in SQLite.

Layout of ``ROOT``: ``jobs.sqlite`` (the index), ``server.lock`` (held by the one server that
uses the folder) and ``JOB_ID/`` with ``input/`` (what the job reads, under generated names),
``output/`` (appears whole when the job succeeds), ``work/`` (scratch of a running job),
``lock`` (held by the worker running the job) and ``log.txt`` (internal errors). Every state
change is one SQLite transaction, so a server or worker killed at any moment leaves the
index consistent; a job whose worker is gone is queued again when a server starts.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ApiError

STATES = ("queued", "running", "done", "failed", "cancelled")
FINAL = frozenset({"done", "failed", "cancelled"})
MAX_ATTEMPTS = 3  # a job whose worker died this many times fails instead of running again
JOB_ID = re.compile(r"^[0-9a-f]{32}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    params TEXT NOT NULL,
    state TEXT NOT NULL,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    progress REAL NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    worker TEXT
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, created);
"""


@dataclass(frozen=True)
class Job:
    """One row of the index."""

    id: str
    kind: str
    title: str
    params: dict[str, Any]
    state: str
    created: float
    started: float | None
    finished: float | None
    progress: float
    message: str
    error: dict[str, Any] | None
    attempts: int
    worker: str | None

    def public(self) -> dict[str, Any]:
        """What the API shows of a job."""
        return {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "params": self.params,
            "state": self.state,
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
            "progress": self.progress,
            "message": self.message,
            "error": self.error,
            "attempts": self.attempts,
        }


def _job(row: sqlite3.Row) -> Job:
    return Job(
        id=row["id"],
        kind=row["kind"],
        title=row["title"],
        params=json.loads(row["params"]),
        state=row["state"],
        created=row["created"],
        started=row["started"],
        finished=row["finished"],
        progress=row["progress"],
        message=row["message"],
        error=json.loads(row["error"]) if row["error"] else None,
        attempts=row["attempts"],
        worker=row["worker"],
    )


class JobStore:
    """Create, claim, update and look up jobs in a jobs folder."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.index = self.root / "jobs.sqlite"
        with self._db() as db:
            db.executescript(_SCHEMA)

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.index, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA busy_timeout=30000")
            yield db
        finally:
            db.close()

    def folder(self, job_id: str) -> Path:
        if not JOB_ID.match(job_id):
            raise ApiError(404, "job_id", f"no job {job_id!r}", "unknown_job")
        return self.root / job_id

    def create(
        self,
        kind: str,
        title: str,
        params: dict[str, Any],
        inputs: dict[str, bytes | Path],
        check: Callable[[Path], None] | None = None,
    ) -> Job:
        """Write the inputs (content, or a file to copy), let ``check`` read them from the job
        folder, then queue the job; a crash or a refusal in between leaves no row."""
        job_id = uuid.uuid4().hex
        folder = self.root / job_id / "input"
        folder.mkdir(parents=True)
        try:
            for name, content in inputs.items():
                if isinstance(content, Path):
                    shutil.copyfile(content, folder / name)
                else:
                    (folder / name).write_bytes(content)
            if check is not None:
                check(folder.parent)
        except BaseException:
            shutil.rmtree(folder.parent, ignore_errors=True)
            raise
        with self._db() as db:
            db.execute(
                "INSERT INTO jobs (id, kind, title, params, state, created) VALUES (?,?,?,?,?,?)",
                (job_id, kind, title, json.dumps(params), "queued", time.time()),
            )
        return self.get(job_id)

    def get(self, job_id: str) -> Job:
        self.folder(job_id)
        with self._db() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise ApiError(404, "job_id", f"no job {job_id!r}", "unknown_job")
        return _job(row)

    def recent(self, limit: int = 200) -> list[Job]:
        with self._db() as db:
            rows = db.execute("SELECT * FROM jobs ORDER BY created DESC LIMIT ?", (limit,))
            return [_job(r) for r in rows.fetchall()]

    def counts(self) -> dict[str, int]:
        with self._db() as db:
            rows = db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall()
        return {state: 0 for state in STATES} | {r[0]: r[1] for r in rows}

    def claim(self, worker: str) -> Job | None:
        """The oldest queued job, now running on ``worker``; None when the queue is empty."""
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute(
                "SELECT id FROM jobs WHERE state = 'queued' ORDER BY created LIMIT 1"
            ).fetchone()
            if row is None:
                db.execute("COMMIT")
                return None
            db.execute(
                "UPDATE jobs SET state = 'running', worker = ?, started = ?, progress = 0, "
                "message = 'starting', attempts = attempts + 1 WHERE id = ?",
                (worker, time.time(), row["id"]),
            )
            db.execute("COMMIT")
        return self.get(row["id"])

    def progress(self, job_id: str, fraction: float, message: str) -> None:
        with self._db() as db:
            db.execute(
                "UPDATE jobs SET progress = ?, message = ? WHERE id = ? AND state = 'running'",
                (min(max(fraction, 0.0), 1.0), message[:300], job_id),
            )

    def finish(self, job_id: str, state: str, error: dict[str, Any] | None = None) -> None:
        """End a running job (a job cancelled meanwhile stays cancelled)."""
        progress = 1.0 if state == "done" else None
        with self._db() as db:
            db.execute(
                "UPDATE jobs SET state = ?, finished = ?, error = ?, "
                "progress = COALESCE(?, progress), message = ? WHERE id = ? AND state = 'running'",
                (
                    state,
                    time.time(),
                    json.dumps(error) if error else None,
                    progress,
                    state,
                    job_id,
                ),
            )

    def cancel(self, job_id: str) -> Job:
        """Mark a queued or running job cancelled; a finished job is left as it is (409)."""
        job = self.get(job_id)
        if job.state in FINAL:
            raise ApiError(409, "job_id", f"job {job_id} is already {job.state}", "job_finished")
        with self._db() as db:
            db.execute(
                "UPDATE jobs SET state = 'cancelled', finished = ?, message = 'cancelled' "
                "WHERE id = ? AND state IN ('queued', 'running')",
                (time.time(), job_id),
            )
        return self.get(job_id)

    def recover(self, wait: float = 5.0) -> list[str]:
        """Queue again every job left running by a server that stopped (its worker gone);
        fail one whose worker died :data:`MAX_ATTEMPTS` times. Returns the ids queued."""
        with self._db() as db:
            rows = db.execute("SELECT * FROM jobs WHERE state = 'running'").fetchall()
        queued = []
        for job in map(_job, rows):
            with job_lock(self.root / job.id, wait=wait) as held:
                if not held:
                    continue  # a worker still runs it
                with self._db() as db:
                    if job.attempts >= MAX_ATTEMPTS:
                        error = {"message": f"the worker stopped {job.attempts} times"}
                        db.execute(
                            "UPDATE jobs SET state = 'failed', finished = ?, error = ? "
                            "WHERE id = ? AND state = 'running'",
                            (time.time(), json.dumps(error), job.id),
                        )
                        continue
                    db.execute(
                        "UPDATE jobs SET state = 'queued', worker = NULL, progress = 0, "
                        "message = 'queued again after a restart' "
                        "WHERE id = ? AND state = 'running'",
                        (job.id,),
                    )
                queued.append(job.id)
        return queued


@contextlib.contextmanager
def job_lock(folder: Path, wait: float = 0.0) -> Iterator[bool]:
    """Hold the job's lock file while the block runs; yields False when another process holds
    it after ``wait`` seconds (the lock goes with the process that holds it)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.1)
        yield True
    finally:
        os.close(fd)
