"""The jobs folder: a job left running by a stopped server runs again; never twice at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from exotwin.web.jobs import MAX_ATTEMPTS, JobStore, job_lock


def test_a_job_left_running_is_queued_again_then_fails_after_repeated_deaths(
    tmp_path: Path,
) -> None:
    store = JobStore(tmp_path)
    job = store.create("scenario", "t", {"seed": 0}, {"scenario.yaml": b"id: x"})
    assert store.claim("old-server").id == job.id  # type: ignore[union-attr]
    assert store.recover(wait=0) == [job.id]
    again = store.get(job.id)
    assert again.state == "queued" and again.attempts == 1 and again.worker is None
    for _ in range(MAX_ATTEMPTS - 1):
        store.claim("old-server")
        store.recover(wait=0)
    assert store.get(job.id).state == "failed"
    assert "stopped" in (store.get(job.id).error or {})["message"]


def test_a_job_whose_worker_still_holds_its_lock_is_left_alone(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    job = store.create("scenario", "t", {}, {})
    store.claim("w")
    with job_lock(tmp_path / job.id) as held:
        assert held
        assert store.recover(wait=0) == []
        assert store.get(job.id).state == "running"
    assert store.recover(wait=0) == [job.id]


def test_finishing_does_not_undo_a_cancel_and_inputs_are_kept(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    job = store.create("scenario", "t", {}, {"scenario.yaml": b"id: x"})
    store.claim("w")
    store.cancel(job.id)
    store.finish(job.id, "done")
    assert store.get(job.id).state == "cancelled"
    assert (tmp_path / job.id / "input" / "scenario.yaml").read_bytes() == b"id: x"
    assert store.counts()["cancelled"] == 1


def test_a_refused_check_leaves_no_job(tmp_path: Path) -> None:
    store = JobStore(tmp_path)

    def refuse(folder: Path) -> None:
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        store.create("scenario", "t", {}, {"a.csv": b"1"}, refuse)
    assert store.recent() == [] and [p.name for p in tmp_path.iterdir() if p.is_dir()] == []
