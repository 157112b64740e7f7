"""Run queued jobs in worker processes, at most one per core, and cancel them on request.

Each slot is a thread of the server that owns one long-lived worker process (imports and
the evidence graph are loaded once per worker, not per job): it claims the oldest queued job
from the index, hands its id to the worker and waits for the worker's ``idle``. Cancelling
a running job kills its worker's process group; the slot then starts a fresh worker.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from .jobs import JobStore

log = logging.getLogger("exotwin.web")
PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding ``exotwin``
THREAD_LIMITS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def max_workers(requested: int | None = None) -> int:
    """At most as many workers as cores (and at least one)."""
    cores = os.cpu_count() or 1
    return max(1, min(requested or cores, cores))


class Slot:
    """One worker process and the job it runs."""

    def __init__(self, runner: Runner, index: int) -> None:
        self.runner, self.name = runner, f"slot{index}-{os.getpid()}"
        self.proc: subprocess.Popen[str] | None = None
        self.current: str | None = None
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._loop, name=self.name, daemon=True)

    def _spawn(self) -> subprocess.Popen[str] | None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p
        )
        env.update({name: "1" for name in THREAD_LIMITS})
        proc = subprocess.Popen(
            [sys.executable, "-m", "exotwin.web.worker", str(self.runner.store.root)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
            env=env,
        )
        assert proc.stdout is not None
        if proc.stdout.readline() != "ready\n":
            log.error("a worker process failed to start (exit code %s)", proc.wait())
            return None
        return proc

    def _loop(self) -> None:
        stop = self.runner.stopping
        while not stop.is_set():
            if self.proc is None:
                self.proc = self._spawn()
                if self.proc is None:
                    stop.wait(5.0)
                    continue
            with self.lock:
                job = None if stop.is_set() else self.runner.store.claim(self.name)
                self.current = job.id if job else None
            if job is None:
                self.runner.wake.wait(0.5)
                continue
            self._run(self.proc, job.id)
        self.kill()

    def _run(self, proc: subprocess.Popen[str], job_id: str) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(job_id + "\n")
            proc.stdin.flush()
            answer = proc.stdout.readline()
        except OSError:
            answer = ""
        with self.lock:
            self.current = None
        if answer == "idle\n":
            return
        code = proc.wait()
        self.proc = None
        if self.runner.stopping.is_set():
            return  # the job stays running in the index; the next server queues it again
        job = self.runner.store.get(job_id)
        if job.state == "running":
            error = {"type": "worker_died", "message": f"the worker stopped (exit code {code})"}
            self.runner.store.finish(job_id, "failed", error)

    def kill(self, job_id: str | None = None) -> bool:
        """Kill the worker (only if it runs ``job_id``, when given)."""
        with self.lock:
            proc = self.proc
            if proc is None or (job_id is not None and self.current != job_id):
                return False
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            return True


class Runner:
    """The slots of one server over one jobs folder."""

    def __init__(self, store: JobStore, workers: int | None = None) -> None:
        self.store = store
        self.stopping = threading.Event()
        self.wake = threading.Event()
        self.slots = [Slot(self, i) for i in range(max_workers(workers))]

    def start(self) -> None:
        """Queue again what a stopped server left running, then start the workers."""
        requeued = self.store.recover()
        if requeued:
            log.info("queued again %d job(s) left running by a stopped server", len(requeued))
        for slot in self.slots:
            slot.thread.start()

    def notify(self) -> None:
        """A job was queued: let an idle slot claim it now."""
        self.wake.set()
        self.wake.clear()

    def cancel(self, job_id: str) -> None:
        """Mark the job cancelled and stop the worker that runs it, if any."""
        self.store.cancel(job_id)
        for slot in self.slots:
            if slot.kill(job_id):
                break

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        for slot in self.slots:
            slot.kill()
        for slot in self.slots:
            if slot.thread.is_alive():
                slot.thread.join(timeout=10)
