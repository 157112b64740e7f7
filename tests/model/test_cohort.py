"""Virtual cohorts on a real dask LocalCluster: Parquet, resumption, a dying worker, biopsy."""

from __future__ import annotations

import math
import os
import signal
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

import exotwin.model
from exotwin.knowledge import KnowledgeBase
from exotwin.model.rules.library import Library
from exotwin.model.uncertainty.cohort import (
    CohortError,
    CohortSpecError,
    biopsy_table,
    load_spec,
    patient_draws,
    run_sweep,
)

SPEC = """\
scenario: hotair-falls-after-surgery
patients: 6
seed: 3
days: [0, 13, 44]
chunk_size: 2
parameters:
  tumour_drainage: {distribution: range}
  secretion_rate: {distribution: uniform, low: 800, high: 2000}
population_scale: {distribution: lognormal, sigma: 0.5}
labels:
  hotair_fell: {readout: plasma_hotair, arm: surgery, day: 44, op: "<", than_day: 13}
biopsy:
  arm: surgery
  days: [13, 44]
  readouts: [plasma_hotair]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def client():  # type: ignore[no-untyped-def]
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with Client(cluster) as c:
        yield c
    cluster.close()


def test_spec_errors_name_line_and_field(tmp_path: Path, kb: KnowledgeBase, lib: Library) -> None:
    bad = SPEC.replace(
        "tumour_drainage: {distribution: range}", "warp_factor: {distribution: range}"
    )
    with pytest.raises(CohortSpecError, match=r"spec.yaml:7: parameters.warp_factor: unknown"):
        load_spec(write(tmp_path, bad), kb, lib)
    flipped = SPEC.replace("low: 800, high: 2000", "low: 2000, high: 800")
    with pytest.raises(CohortSpecError, match=r"low 2000\.0 is greater than high 800\.0"):
        load_spec(write(tmp_path, flipped), kb, lib)


SHIPPED = sorted((Path(exotwin.model.__file__).parent / "data" / "cohorts").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_specs_load(path: Path, kb: KnowledgeBase, lib: Library) -> None:
    """Every shipped cohort spec validates against its scenario (the 10,000-patient one too)."""
    spec, scenario = load_spec(path, kb, lib)
    assert set(spec.arms) <= {arm.name for arm in scenario.arms} and spec.patients >= 1


def test_draws_do_not_depend_on_chunking(tmp_path: Path, kb: KnowledgeBase, lib: Library) -> None:
    spec, _ = load_spec(write(tmp_path, SPEC), kb, lib)
    first = patient_draws(spec, lib, 4)
    assert first == patient_draws(spec, lib, 4) != patient_draws(spec, lib, 5)
    low, high = lib.parameters["tumour_drainage"].low, lib.parameters["tumour_drainage"].high
    assert low <= first[0]["tumour_drainage"] <= high  # type: ignore[operator]


def test_sweep_resume_and_biopsy(
    tmp_path: Path,
    client,
    kb: KnowledgeBase,  # type: ignore[no-untyped-def]
    lib: Library,
) -> None:
    spec_path = write(tmp_path, SPEC)
    out = tmp_path / "run"
    result = pd.read_parquet(run_sweep(spec_path, out, client=client))
    assert len(result) == 6 * 2 * 3  # patients x arms x days
    assert set(result["arm"]) == {"no-surgery", "surgery"}
    assert (result["error"] == "").all()
    # an interrupted sweep resumes: a missing chunk is redone, the others are kept
    kept = (out / "chunks" / "chunk-00000.parquet").stat().st_mtime_ns
    (out / "chunks" / "chunk-00002.parquet").unlink()
    again = pd.read_parquet(run_sweep(spec_path, out, client=client))
    assert (out / "chunks" / "chunk-00000.parquet").stat().st_mtime_ns == kept
    pd.testing.assert_frame_equal(result, again)
    spec, scenario = load_spec(spec_path, kb, lib)
    table = pd.read_csv(biopsy_table(spec, scenario, again, kb, out))
    assert list(table.columns) == ["sample", "HOTAIR", "hotair_fell"]
    assert len(table) == 6 * 2 and table["sample"].is_unique
    assert (table["hotair_fell"] == "hotair_fell").all()  # surgery removes the source
    # the liquid-biopsy toolkit reads it: the analyte is a molecule of the evidence graph
    from exotwin.biopsy.readers import read_wide

    dataset = read_wide(out / "biopsy.csv", id_column="sample")
    assert list(dataset.values.columns) == ["HOTAIR"]
    # another spec may not reuse the folder
    with pytest.raises(CohortError, match="holds a different sweep"):
        run_sweep(write(tmp_path, SPEC.replace("seed: 3", "seed: 4")), out, client=client)


def test_a_worker_dying_mid_sweep_loses_nothing(tmp_path: Path, client) -> None:  # type: ignore[no-untyped-def]
    spec_path = write(tmp_path, SPEC.replace("patients: 6", "patients: 12"))
    out = tmp_path / "run"
    done: list[Path] = []
    thread = threading.Thread(target=lambda: done.append(run_sweep(spec_path, out, client=client)))
    thread.start()
    deadline = time.time() + 60
    while not list((out / "chunks").glob("*.parquet")) if (out / "chunks").exists() else True:
        assert time.time() < deadline
        time.sleep(0.05)
    pids = client.run(os.getpid)  # worker address -> process id
    os.kill(next(iter(pids.values())), signal.SIGKILL)
    thread.join(timeout=180)
    assert done, "the sweep finished"
    assert len(pd.read_parquet(done[0])) == 12 * 2 * 3


def test_unreachable_scheduler_fails_fast(tmp_path: Path) -> None:
    start = time.time()
    with pytest.raises(CohortError, match="cannot reach the dask scheduler"):
        run_sweep(write(tmp_path, SPEC), tmp_path / "run", scheduler="tcp://127.0.0.1:9")
    assert time.time() - start < 20


def test_sweep_folder_keeps_the_users_files_and_overwrite_replaces_a_sweep(
    tmp_path: Path,
    client,  # type: ignore[no-untyped-def]
) -> None:
    from exotwin.errors import OutputError

    spec_path = write(tmp_path, SPEC.replace("patients: 6", "patients: 2"))
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(OutputError, match="not written by exotwin"):
        run_sweep(spec_path, out, client=client)
    run_sweep(spec_path, out, client=client, overwrite=True)
    assert (out / "chunks" / "chunk-00000.parquet").is_file()
    other = write(
        tmp_path,
        SPEC.replace("patients: 6", "patients: 4").replace("chunk_size: 2", "chunk_size: 4"),
    )
    with pytest.raises(CohortError, match="--overwrite"):
        run_sweep(other, out, client=client)
    result = pd.read_parquet(run_sweep(other, out, client=client, overwrite=True))
    assert sorted(set(result["patient"])) == [0, 1, 2, 3]
    assert sorted(p.name for p in (out / "chunks").iterdir()) == ["chunk-00000.parquet"]
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_biopsy_noise_is_the_assay_s_and_keeps_the_mean(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    """The biopsy table measures with the simulated assay: log-normal noise of the stated CV
    that preserves the mean (exp(N(0, cv)) would read 13 % high at a CV of 0.5)."""
    text = SPEC.replace("patients: 6", "patients: 400") + "  cv: 0.5\n"
    spec, scenario = load_spec(write(tmp_path, text), kb, lib)
    frame = pd.DataFrame(
        [
            {"arm": "surgery", "patient": p, "day": d, "plasma_hotair": 100.0}
            for p in range(400)
            for d in (0.0, 13.0, 44.0)
        ]
    )
    table = pd.read_csv(biopsy_table(spec, scenario, frame, kb, tmp_path))
    values = table["HOTAIR"]
    assert len(values) == 800 and values.nunique() > 700
    assert values.mean() == pytest.approx(100.0, rel=0.06)
    assert (values.apply(math.log).std()) == pytest.approx(math.sqrt(math.log1p(0.25)), rel=0.1)
