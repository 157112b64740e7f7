"""Virtual cohorts: many patients (parameter and initial-condition draws) of a scenario,
run in chunks on dask.distributed, stored as Parquet, resumable; and a simulated liquid biopsy.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, model_validator

from ...datafiles import Item, Problem, load_model_file
from ...errors import CohortError as CohortError
from ...errors import CohortSpecError as CohortSpecError
from ...io import atomic_write, atomic_write_text, claim_folder, read_manifest, remove_outputs
from ...knowledge import KnowledgeBase, load_knowledge
from ...knowledge.schema import Identifier
from ..ode.solve import SimulationError, Trajectory, simulate_arm, simulate_patients
from ..rules.compiler import compile_arm
from ..rules.library import Library, load_library
from ..rules.rows import CompiledModel
from ..rules.schema import MAX_CELLS, Strict
from ..scenario.assay import AssaySettings
from ..scenario.load import load_scenario
from ..scenario.readouts import evaluate, value_at
from ..scenario.schema import Arm, PopulationSpec, Readout, Scenario


class Distribution(Strict):
    """A per-patient draw. ``range`` samples the parameter's own range (log if it spans a
    decade); the others take explicit bounds (``normal`` is truncated to ``low``..``high``)."""

    distribution: Literal["range", "uniform", "loguniform", "normal", "lognormal"]
    low: float | None = None
    high: float | None = None
    mean: float | None = None
    sigma: Annotated[float, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _bounds(self) -> Distribution:
        if self.distribution in {"uniform", "loguniform"}:
            if self.low is None or self.high is None:
                raise ValueError(f"{self.distribution} needs low and high")
            if self.low > self.high:
                raise ValueError(f"low {self.low} is greater than high {self.high}")
            if self.distribution == "loguniform" and self.low <= 0:
                raise ValueError("loguniform needs low > 0")
        if self.distribution in {"normal", "lognormal"} and self.sigma is None:
            raise ValueError(f"{self.distribution} needs sigma")
        if self.distribution == "normal" and self.mean is None:
            raise ValueError("normal needs mean")
        return self


class Label(Strict):
    """A per-patient label from a readout: ``readout`` at ``day`` compared with its value at
    ``than_day`` times ``factor`` (e.g. responder: tumour at day 126 < tumour at day 0)."""

    readout: Identifier
    arm: Identifier
    day: float
    op: Literal["<", ">"]
    than_day: float
    factor: Annotated[float, Field(gt=0)] = 1.0


class Biopsy(Strict):
    """Plasma sampling of one arm, measured by the simulated assay
    (:class:`~exotwin.model.scenario.assay.AssaySettings`: mean-preserving log-normal noise of
    coefficient of variation ``cv``, the mean of ``replicates``, 0 below ``detection_limit``)."""

    arm: Identifier
    days: Annotated[list[float], Field(min_length=1)]
    readouts: Annotated[list[Identifier], Field(min_length=1)]  # exosome readouts (analytes)
    cv: Annotated[float, Field(ge=0, le=2)] = 0.2
    detection_limit: Annotated[float, Field(ge=0)] = 0.0
    replicates: Annotated[int, Field(ge=1, le=100)] = 1


class CohortSpec(Strict):
    scenario: str
    patients: Annotated[int, Field(ge=1, le=1_000_000)]
    seed: int = 0
    arms: list[Identifier] = []  # default: all
    readouts: list[Identifier] = []  # default: all
    days: list[float] = []  # default: every output time
    chunk_size: Annotated[int, Field(ge=1)] = 25
    parameters: dict[str, Distribution] = {}
    population_scale: Distribution | None = None  # multiplies every initial count
    labels: dict[Identifier, Label] = {}
    biopsy: Biopsy | None = None


def load_spec(path: Path, kb: KnowledgeBase, lib: Library) -> tuple[CohortSpec, Scenario]:
    """Parse and validate a cohort spec; errors name file, line and field."""
    spec, raw = load_model_file(Path(path), CohortSpec, CohortSpecError)
    scenario = load_scenario(spec.scenario, kb, lib)
    item = Item(spec, Path(path), raw, ())
    problems = _selection_problems(spec, scenario, item)
    problems += _draws_problems(spec, lib, item)
    problems += _label_problems(spec, scenario, item)
    if problems:
        raise CohortSpecError(problems)
    return spec, scenario


def _selection_problems(spec: CohortSpec, scenario: Scenario, item: Item) -> list[Problem]:
    """Arms and readouts the spec selects but the scenario lacks."""
    arms = sorted(a.name for a in scenario.arms)
    readouts = {r.name for r in scenario.readouts}
    problems = [
        item.problem(("arms", i), f"unknown arm {arm!r} (arms: {', '.join(arms)})")
        for i, arm in enumerate(spec.arms)
        if arm not in arms
    ]
    return problems + [
        item.problem(("readouts", i), f"unknown readout {name!r}")
        for i, name in enumerate(spec.readouts)
        if name not in readouts
    ]


def _label_problems(spec: CohortSpec, scenario: Scenario, item: Item) -> list[Problem]:
    """Arms and readouts the labels and the biopsy name but the scenario lacks."""
    arms = {a.name for a in scenario.arms}
    kinds = {r.name: r.kind for r in scenario.readouts}
    problems = []
    for name, label in spec.labels.items():
        if label.arm not in arms:
            problems.append(item.problem(("labels", name, "arm"), f"unknown arm {label.arm!r}"))
        if label.readout not in kinds:
            problems.append(
                item.problem(("labels", name, "readout"), f"unknown readout {label.readout!r}")
            )
    if spec.biopsy is not None:
        if spec.biopsy.arm not in arms:
            problems.append(item.problem(("biopsy", "arm"), f"unknown arm {spec.biopsy.arm!r}"))
        problems += [
            item.problem(
                ("biopsy", "readouts", i), f"{name!r} is not an exosome readout of the scenario"
            )
            for i, name in enumerate(spec.biopsy.readouts)
            if kinds.get(name) != "exosomes"
        ]
    return problems


def _draws_problems(spec: CohortSpec, lib: Library, item: Item) -> list[Problem]:
    """Drawn parameters that the library lacks, or whose ``range`` it does not give."""
    problems = []
    for name, dist in spec.parameters.items():
        param = lib.parameters.get(name)
        if param is None:
            problems.append(item.problem(("parameters", name), f"unknown parameter {name!r}"))
        elif dist.distribution == "range" and (param.low is None or param.high is None):
            problems.append(
                item.problem(("parameters", name), f"{name!r} has no range in parameters.yaml")
            )
    return problems


# ------------------------------------------------------------ patients


def _draw(
    dist: Distribution,
    rng: np.random.Generator,
    low: float | None = None,
    high: float | None = None,
    value: float = 1.0,
) -> float:
    lo = dist.low if dist.low is not None else low
    hi = dist.high if dist.high is not None else high
    kind = dist.distribution
    if kind == "lognormal":
        return float(value * math.exp(rng.normal(0.0, dist.sigma or 0.0)))
    if kind == "normal":
        sample = float(rng.normal(dist.mean or 0.0, dist.sigma or 0.0))
        return min(
            max(sample, lo if lo is not None else -math.inf), hi if hi is not None else math.inf
        )
    if lo is None or hi is None:
        raise CohortError(f"a {kind} draw needs low and high")
    if kind == "range":
        kind = "loguniform" if lo > 0 and hi / lo > 10 else "uniform"
    if kind == "loguniform":
        return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
    return float(rng.uniform(lo, hi))


def patient_draws(spec: CohortSpec, lib: Library, patient: int) -> tuple[dict[str, float], float]:
    """Parameter values and initial-count scale of one patient (independent of chunking)."""
    rng = np.random.default_rng([spec.seed, patient])
    values = {}
    for name, dist in sorted(spec.parameters.items()):
        p = lib.parameters[name]
        values[name] = _draw(dist, rng, p.low, p.high, p.value)
    scale = _draw(spec.population_scale, rng) if spec.population_scale else 1.0
    return values, scale


@lru_cache(maxsize=1)
def _packaged() -> tuple[KnowledgeBase, Library]:
    kb = load_knowledge()
    return kb, load_library(kb)


def _scaled(populations: list[PopulationSpec], scale: float) -> list[PopulationSpec]:
    return [p.model_copy(update={"count": p.count * scale}) for p in populations]


def _patient_arm(scenario: Scenario, arm: Arm, scale: float) -> tuple[Scenario, Arm] | str:
    """The scenario and arm of a patient whose initial counts are scaled, or why the solver
    cannot integrate them."""
    pops = _scaled(scenario.populations, scale)
    if arm.populations:
        arm = arm.model_copy(update={"populations": _scaled(arm.populations, scale)})
    biggest = max(q.count for q in arm.populations or pops)
    if not biggest <= MAX_CELLS:
        return (
            f"population_scale {scale:g} gives {biggest:g} initial cells, above the "
            f"bound of {MAX_CELLS:g}"
        )
    return scenario.model_copy(update={"populations": pops}), arm


def _simulate_arm_of(models: list[CompiledModel]) -> list[Trajectory | str]:
    """All patients of one arm in one batch; patient by patient if the batch cannot run."""
    try:
        return list(simulate_patients(models))
    except (SimulationError, ValueError):
        found: list[Trajectory | str] = []
        for model in models:
            try:
                found.append(simulate_arm(model))
            except SimulationError as exc:
                found.append(str(exc))
        return found


def _patient_model(
    base: CompiledModel, patient: tuple[Scenario, Arm], values: dict[str, float], scale: float
) -> CompiledModel:
    """The arm of one patient (``patient``: its scenario and arm, counts scaled) from the arm
    compiled at nominal values: its drawn parameter values (where the scenario does not
    override them) and its initial counts scaled. The
    structure does not depend on either, so this is the model :func:`compile_arm` builds from
    the patient's library and counts (tests/model/test_cohort_compile.py), without compiling."""
    patient_scenario, patient_arm = patient  # from _patient_arm: the counts already scaled
    names, entries = base.parameters.names, list(base.parameters.entries)
    for name, value in values.items():
        if name in names and name not in patient_scenario.parameters:
            i = names.index(name)
            entries[i] = entries[i].model_copy(update={"value": value})
    for i, name in enumerate(names):  # declared counts read by the model (effector sources)
        if name.startswith("population") and name.endswith(".count"):
            entries[i] = entries[i].model_copy(update={"value": entries[i].value * scale})
    initial = base.initial.copy()
    initial[: base.layout.pools] *= scale
    counts = [count * scale for count in base.structure.initial]
    return replace(
        base,
        scenario=patient_scenario,
        arm=patient_arm,
        structure=replace(base.structure, initial=counts),
        parameters=replace(base.parameters, entries=tuple(entries)),
        initial=initial,
    )


def _solve_arm(
    scenario: Scenario,
    arm: Arm,
    patients: list[tuple[dict[str, float], float]],
    kb: KnowledgeBase,
    lib: Library,
) -> list[Trajectory | str]:
    """Each patient's trajectory of an arm (given its drawn values and initial-count scale),
    or why there is none; the arm is compiled once, and the patients the solver can take run
    as one batch."""
    models, refused = [], {}
    base: CompiledModel | None = None
    for i, (values, scale) in enumerate(patients):
        found = _patient_arm(scenario, arm, scale)
        if isinstance(found, str):
            refused[i] = found
            continue
        base = base or compile_arm(kb, lib, scenario, arm)
        models.append(_patient_model(base, found, values, scale))
    solved = iter(_simulate_arm_of(models) if models else [])
    return [refused[i] if i in refused else next(solved) for i in range(len(patients))]


def run_patients(
    spec: CohortSpec, scenario: Scenario, patients: list[int], kb: KnowledgeBase, lib: Library
) -> list[dict[str, object]]:
    """Rows (one per patient, arm and day) of readouts and draws; each arm is one batch."""
    draws = {p: patient_draws(spec, lib, p) for p in patients}
    names = spec.readouts or [r.name for r in scenario.readouts]
    rows: list[dict[str, object]] = []
    for arm in scenario.arms:
        if spec.arms and arm.name not in spec.arms:
            continue
        results = _solve_arm(scenario, arm, [draws[p] for p in patients], kb, lib)
        for p, result in zip(patients, results, strict=True):
            values, scale = draws[p]
            params = {f"param:{k}": v for k, v in values.items()}
            for day, error, at in _at_days(kb, scenario.readouts, result, spec.days, names):
                head = {"patient": p, "arm": arm.name, "day": float(day), "scale": scale}
                rows.append({**head, "error": error, **at, **params})
    return rows


def _at_days(
    kb: KnowledgeBase,
    readouts: list[Readout],
    result: Trajectory | str,
    days: list[float],
    names: list[str],
) -> Iterator[tuple[float, str, dict[str, float]]]:
    """(day, error, readout values) of one patient at the days (default: every output time);
    a patient without a trajectory has its error and no values."""
    if isinstance(result, str):
        for day in days or [0.0]:
            yield day, result, dict.fromkeys(names, math.nan)
        return
    series = evaluate(kb, result, readouts)
    for day in days or list(result.times) or [0.0]:
        yield day, "", {name: value_at(result.times, series[name], day) for name in names}


def run_chunk(spec: CohortSpec, scenario: Scenario, patients: list[int], out: Path) -> Path:
    """Simulate some patients and write their rows to one Parquet file (atomically)."""
    import pandas as pd

    kb, lib = _packaged()
    rows = run_patients(spec, scenario, patients, kb, lib)
    atomic_write(out, lambda tmp: pd.DataFrame(rows).to_parquet(tmp, index=False))
    return out


# ------------------------------------------------------------ sweeps on dask


SWEEP_FILE = "manifest.json"


def _fingerprint(spec: CohortSpec) -> str:
    return hashlib.sha256(spec.model_dump_json().encode()).hexdigest()[:16]


def connect(scheduler: str | None, workers: int):  # type: ignore[no-untyped-def]
    """A dask client: a local cluster by default, or a scheduler address (5 s to answer)."""
    from distributed import Client, LocalCluster

    if scheduler is None:
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        return Client(cluster)
    try:
        return Client(scheduler, timeout="5s")
    except (OSError, TimeoutError) as exc:
        raise CohortError(
            f"cannot reach the dask scheduler at {scheduler!r} within 5 s: {exc}"
        ) from None


def run_sweep(
    spec_path: Path,
    out: Path,
    scheduler: str | None = None,
    workers: int = 2,
    progress: Callable[[int, int], None] | None = None,
    client: Any = None,
    overwrite: bool = False,
) -> Path:
    """Run (or resume) a sweep; returns ``out/results.parquet``.

    Each chunk of patients is one task that writes ``out/chunks/chunk-NNNNN.parquet``; chunks
    already on disk are skipped, so an interrupted sweep resumes where it stopped. Tasks of a
    worker that dies are rerun by dask (``retries``). ``out`` is claimed as in
    :func:`exotwin.io.claim_folder`; ``overwrite`` also replaces another sweep's outputs.
    """
    import pandas as pd
    from distributed import as_completed

    kb, lib = _packaged()
    spec, scenario = load_spec(spec_path, kb, lib)
    fingerprint = _fingerprint(spec)
    chunks = [
        list(range(i, min(i + spec.chunk_size, spec.patients)))
        for i in range(0, spec.patients, spec.chunk_size)
    ]
    paths = [out / "chunks" / f"chunk-{k:05d}.parquet" for k in range(len(chunks))]
    _claim(out, spec, fingerprint, paths, overwrite)
    todo = [k for k, path in enumerate(paths) if not path.exists()]
    done = len(chunks) - len(todo)
    if progress:
        progress(done, len(chunks))
    if todo:
        own = client is None
        client = client or connect(scheduler, workers)
        try:
            futures = [
                client.submit(
                    run_chunk,
                    spec,
                    scenario,
                    chunks[k],
                    paths[k],
                    key=f"chunk-{fingerprint}-{k}",
                    retries=3,
                    pure=False,
                )
                for k in todo
            ]
            for future in as_completed(futures):
                future.result()
                done += 1
                if progress:
                    progress(done, len(chunks))
        finally:
            if own:
                cluster: Any = getattr(client, "cluster", None)
                client.close()
                if cluster is not None:
                    cluster.close()
    result = out / "results.parquet"
    frame = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    atomic_write(result, lambda tmp: frame.to_parquet(tmp, index=False))
    return result


def _claim(
    out: Path, spec: CohortSpec, fingerprint: str, paths: list[Path], overwrite: bool
) -> None:
    """Make ``out`` this sweep's folder: new, this sweep's own (resumed), or, with
    ``overwrite``, another exotwin sweep's whose outputs are removed first."""
    planned = [SWEEP_FILE, "results.parquet", "biopsy.csv"]
    planned += [p.relative_to(out).as_posix() for p in paths]
    previous = _previous_fingerprint(out)
    known = []
    if previous == fingerprint and read_manifest(out) is None:
        known = planned  # a sweep of an exotwin that wrote no output manifest yet: resume it
    elif previous is not None and previous != fingerprint:
        if not overwrite:
            raise CohortError(
                f"{out} holds a different sweep (its {SWEEP_FILE} does not match this spec); "
                "choose another --out, or add --overwrite to replace that sweep"
            )
        if read_manifest(out) is not None:
            remove_outputs(out, read_manifest(out) or [])
    claim_folder(out, planned, overwrite, known)
    text = json.dumps({"fingerprint": fingerprint, "spec": spec.model_dump()}, indent=1)
    atomic_write_text(out / SWEEP_FILE, text + "\n")


def _previous_fingerprint(out: Path) -> str | None:
    """The fingerprint of the sweep already in ``out``, if any."""
    try:
        data = json.loads((out / SWEEP_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    found = data.get("fingerprint") if isinstance(data, dict) else None
    return found if isinstance(found, str) else None


# ------------------------------------------------------------ labels and liquid biopsy


def labels(spec: CohortSpec, frame: object) -> dict[str, dict[int, bool]]:
    """Per-patient labels computed from the sweep's rows."""
    import pandas as pd

    data: pd.DataFrame = frame  # type: ignore[assignment]
    found: dict[str, dict[int, bool]] = {}
    for name, label in spec.labels.items():
        rows = data[data["arm"] == label.arm]
        value: dict[int, bool] = {}
        for patient, group in rows.groupby("patient"):
            series = group.set_index("day")[label.readout]
            now = float(np.interp(label.day, series.index, series.values))
            then = float(np.interp(label.than_day, series.index, series.values))
            value[int(patient)] = (
                now < label.factor * then if label.op == "<" else (now > label.factor * then)
            )
        found[name] = value
    return found


def biopsy_table(
    spec: CohortSpec, scenario: Scenario, frame: object, kb: KnowledgeBase, out: Path
) -> Path:
    """Samples x analytes (plasma exosome concentrations with noise) plus text label columns,
    in the wide CSV layout the liquid-biopsy toolkit reads: ``sample`` (``P00012_d42`` =
    patient 12, day 42), one column per analyte named by its cargo, then the labels."""
    import pandas as pd

    assert spec.biopsy is not None
    bio = spec.biopsy
    data: pd.DataFrame = frame  # type: ignore[assignment]
    cargo = {r.name: r.cargo for r in scenario.readouts}
    analytes = {
        name: (
            kb.find_molecule(cargo[name] or "").id  # type: ignore[union-attr]
            if kb.find_molecule(cargo[name] or "")
            else name
        )
        for name in bio.readouts
    }
    rows = []
    found = labels(spec, data)
    arm = data[data["arm"] == bio.arm]
    assay = AssaySettings(bio.cv, bio.detection_limit, bio.replicates)
    for patient, group in arm.groupby("patient"):
        rng = np.random.default_rng([spec.seed, int(patient), 7])
        for day in bio.days:
            row: dict[str, object] = {"sample": f"P{int(patient):05d}_d{day:g}"}
            for name in bio.readouts:
                series = group.set_index("day")[name]
                true = np.interp([day], series.index, series.values)
                row[analytes[name]] = float(assay.measure(true, rng)[0])
            for label_name, value in found.items():  # text, so readers never take it as data
                row[label_name] = (
                    label_name if value.get(int(patient), False) else f"not_{label_name}"
                )
            rows.append(row)
    path = out / "biopsy.csv"
    atomic_write(path, lambda tmp: pd.DataFrame(rows).to_csv(tmp, index=False))
    return path
