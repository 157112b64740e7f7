"""Benchmark: virtual patients x 365 days, exotwin against libroadrunner, on a large and a
small model.

- large: the default TNBC model (all applicable mechanisms, arm ``untreated``; 786 variables once pruned, 3,542 unpruned);
- small: ``nf-to-caf-mir9-mir125b``, arm ``exosomes`` (21 variables once pruned), run for 365 days.

Patients draw growth, secretion, uptake and tumour size as in a cohort spec. Each model is
compiled once; a patient is a row of parameter values and initial amounts. exotwin integrates
the patients with its cohort solver (``solver`` in the JSON: ``rosenbrock``, the batched Rodas4,
for many patients of a small model; ``compiled``, SUNDIALS CVODE on a compiled right-hand side
and Jacobian, for a large one; see ``exotwin.model.ode.solve.cohort_method``); libroadrunner loads the exported SBML once per model
(the fair comparison: one model per arm, parameters set per patient; CVODE at rtol 1e-6, atol
1e-9; the large model with libroadrunner's LLJIT backend without LLVM optimisation, a
documented Config setting, as its default MCJIT spends more than 15 CPU-minutes compiling it:
the JIT used is printed) and ``simulate`` is timed alone, its patients in two halves before and after exotwin's run (both sides see the same
load on a shared machine). exotwin's set-up (importing JAX, tracing, compiling or loading the
programs from JAX's disk cache; for the large model also probing and colouring the Jacobian's
sparsity) is timed apart, as libroadrunner's load is; ``ratio`` is solving against
``simulate`` alone, ``ratio_with_setup`` the same cohort with each side's set-up once. Both are
compared on every readout of the patients libroadrunner runs. Then a cohort
sweep of the small model runs on a local Dask cluster with 1 and with 2 workers (the
speed-up is printed; ``--dask-patients 0`` skips it). The last line is one JSON object with
keys ``large`` and ``small`` (and ``dask``).

    python benchmarks/cohort.py [--patients 1000] [--roadrunner-patients 20] [--only small]
        [--dask-patients 100] [--workers 1]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from math import nan
from pathlib import Path
from typing import Any

import numpy as np

from exotwin.knowledge import KnowledgeBase, load_knowledge
from exotwin.model import CompiledModel, Library, compile_arm, load_library, load_scenario
from exotwin.model.ode.sbml import (
    initial_state,
    load_roadrunner,
    needs_fast_jit,
    parameter_ids,
    run_roadrunner,
    to_sbml,
)
from exotwin.model.ode.solve import Trajectory, cohort_method, prepare_cohort, simulate_cohort
from exotwin.model.scenario.readouts import evaluate, relative_difference
from exotwin.model.uncertainty.cohort import CohortSpec, patient_draws, run_sweep

MODELS = {
    "large": ("tnbc-default-all-mechanisms", "untreated"),
    "small": ("nf-to-caf-mir9-mir125b", "exosomes"),
}
DAYS = 365.0
# AMICI on the default model (787 variables): SBML import 6 min, then its symbolic model
# (SymPy derivatives) unfinished after 10 more CPU-minutes, before any C++ is generated
AMICI_MAX_VARIABLES = 100
SPEC = {
    "seed": 7,
    "parameters": {
        "tnbc_growth_rate": {"distribution": "range"},
        "secretion_rate": {"distribution": "range"},
        "uptake_max": {"distribution": "range"},
    },
    "population_scale": {"distribution": "lognormal", "sigma": 0.5},
}


def patients(
    kb: KnowledgeBase, lib: Library, name: str, arm_name: str, count: int
) -> tuple[CompiledModel, np.ndarray, np.ndarray]:
    """The compiled arm (365 days) and each patient's parameter values and initial amounts."""
    scenario = load_scenario(name, kb, lib)
    scenario = scenario.model_copy(update={"duration": DAYS, "checks": []})
    arm = next(a for a in scenario.arms if a.name == arm_name)
    model = compile_arm(kb, lib, scenario, arm)
    spec = CohortSpec.model_validate(
        {**SPEC, "scenario": name, "arms": [arm_name], "patients": count}
    )
    names = model.parameters.names
    theta = np.tile(model.parameters.values, (count, 1))
    y0 = np.tile(model.initial, (count, 1))
    for patient in range(count):
        values, scale = patient_draws(spec, lib, patient)
        for key, value in values.items():
            if key in names:
                theta[patient, names.index(key)] = value
        y0[patient, : model.layout.pools] *= scale
    return model, theta, y0


def cpu_seconds() -> float:
    """CPU time of this process and of its ended child processes (workers), user and system."""
    found = os.times()
    return found.user + found.system + found.children_user + found.children_system


def roadrunner(
    rr: Any, model: CompiledModel, theta: np.ndarray, y0: np.ndarray
) -> tuple[list[Trajectory], float]:
    """libroadrunner on a loaded model: each patient's values, then a timed ``simulate``."""
    found, simulate, cpu = [], 0.0, time.process_time()
    for row, first in zip(theta, y0, strict=True):
        start = time.perf_counter()
        found.append(run_roadrunner(rr, model, row, first))
        simulate += time.perf_counter() - start
    print(f"  libroadrunner {len(theta)} patients: CPU (simulate and setting values) "
          f"{time.process_time() - cpu:.2f} s; simulate alone {simulate:.2f} s", flush=True)  # fmt: skip
    return found, simulate


def compare(
    kb: KnowledgeBase, model: CompiledModel, ours: list[Trajectory], theirs: list[Trajectory]
) -> float:
    readouts = model.scenario.readouts
    worst = 0.0
    for a_run, b_run in zip(ours, theirs, strict=False):
        a, b = evaluate(kb, a_run, readouts), evaluate(kb, b_run, readouts)
        for r in readouts:
            worst = max(worst, relative_difference(r, a[r.name], b[r.name]))
    return worst


def bench(
    kb: KnowledgeBase, lib: Library, key: str, count: int, rr_count: int, workers: int = 1
) -> dict[str, Any]:
    """exotwin's cohort between two halves of libroadrunner's patients (interleaved, so both
    sides see the same load on a shared machine); each side's set-up timed apart."""
    name, arm = MODELS[key]
    model, theta, y0 = patients(kb, lib, name, arm, count)
    n = min(rr_count, count)
    start = time.perf_counter()
    text = to_sbml(model) if n else ""  # load libroadrunner only when it runs patients
    export = time.perf_counter() - start
    jit = _jit(text)
    rr = load_roadrunner(text, rtol=1e-6, atol=1e-9) if n else None
    load = time.perf_counter() - start - export
    theirs, rr_sim = roadrunner(rr, model, theta[: n // 2], y0[: n // 2])
    start = time.perf_counter()
    prepare_cohort(model, theta, y0)  # importing JAX, tracing, compiling or loading from cache
    setup = time.perf_counter() - start
    start, cpu = time.perf_counter(), cpu_seconds()
    ours = simulate_cohort(
        model,
        theta,
        y0,
        progress=lambda done: print(f"{key}: exotwin {done}/{count}", flush=True),
        workers=workers,
    )
    ours_time, ours_cpu = time.perf_counter() - start, cpu_seconds() - cpu
    print(f"{key}: exotwin {count} patients in {ours_time:.1f} s", flush=True)
    more, rr_more = roadrunner(rr, model, theta[n // 2 : n], y0[n // 2 : n])
    theirs, rr_sim = theirs + more, rr_sim + rr_more
    worst = compare(kb, model, ours[:n], theirs)
    ours_rate = count * DAYS / ours_time
    rr_rate = n * DAYS / rr_sim if n else nan
    method = cohort_method(model.layout.size, count)
    # the same cohort with each side's once-per-process set-up: time(libroadrunner) / time(ours)
    cold = (export + load + rr_sim * count / n) / (setup + ours_time) if n else nan
    print(
        f"{key}: {name} [{arm}], {model.layout.size} variables, {DAYS:g} days\n"
        f"  exotwin ({method}, {workers} process{'es' if workers > 1 else ''}): set-up once {setup:.1f} s (import JAX, trace, compile or load "
        f"the program from disk); {count} patients solve {ours_time:.1f} s = {ours_rate:.1f} "
        f"patient-days/s (CPU {ours_cpu:.1f} s = {count * DAYS / ours_cpu:.1f} per CPU-s)\n"
        f"  libroadrunner ({jit}; CVODE rtol 1e-6, atol 1e-9): SBML export {export:.1f} s, "
        f"load once {load:.1f} s (SBML parse, LLVM compile); {n} patients "
        f"simulate {rr_sim:.1f} s = {rr_rate:.1f} patient-days/s\n"
        f"  ratio (solving alone, both sides) {ours_rate / rr_rate if n else nan:.2f}; "
        f"{count} patients with each side's set-up {cold:.2f}; "
        f"max relative difference {worst:.2e}",
        flush=True,
    )
    found = amici_anchor(kb, model, text, theta[:n], y0[:n], ours[:n])
    if found:
        found["amici_ratio"] = round(ours_rate / found["amici_patient_days_per_s"], 3)
    return {
        "patients": count,
        "roadrunner_patients": n,
        "variables": model.layout.size,
        "solver": method,
        "workers": workers,
        "exotwin_cpu_s": round(ours_cpu, 2),
        "exotwin_setup_s": round(setup, 2),
        "exotwin_patient_days_per_s": round(ours_rate, 2),
        "roadrunner_patient_days_per_s": round(rr_rate, 2),
        "roadrunner_load_s": round(load, 2),
        "roadrunner_export_s": round(export, 2),
        "roadrunner_jit": jit,
        "ratio": round(ours_rate / rr_rate, 3) if n else nan,
        "ratio_with_setup": round(cold, 3),
        "max_rel_diff": worst,
    } | found


def amici_anchor(
    kb: KnowledgeBase, model: CompiledModel, text: str, theta: np.ndarray, y0: np.ndarray,
    ours: list[Trajectory],
) -> dict[str, Any]:  # fmt: skip
    """AMICI, when importable (optional): the export imported and compiled once, each patient's
    parameter values and initial amounts set, ``run_simulation`` timed alone (CVODES, the same
    tolerances as libroadrunner)."""
    try:
        from amici.importers.sbml import SbmlImporter
        from amici.sim.sundials import run_simulation
    except ImportError as error:
        print(f"  AMICI skipped: not importable ({error})", flush=True)
        return {}
    if model.layout.size > AMICI_MAX_VARIABLES or not len(theta):
        print(f"  AMICI skipped: {model.layout.size} variables (at most {AMICI_MAX_VARIABLES})")
        return {}
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        (Path(folder) / "model.xml").write_text(text, encoding="utf-8")
        am = SbmlImporter(str(Path(folder) / "model.xml")).sbml2amici(
            "cohort", Path(folder) / "cohort", generate_sensitivity_code=False,
            compute_conservation_laws=False)  # fmt: skip
        build = time.perf_counter() - start
    solver = am.create_solver()
    solver.set_relative_tolerance(1e-6)
    solver.set_absolute_tolerance(1e-9)
    solver.set_max_steps(200000)
    times = ours[0].times
    am.set_timepoints(times)
    free, states = set(am.get_free_parameter_ids()), [int(s[1:]) for s in am.get_state_ids()]
    found, simulate = [], 0.0
    for row, first in zip(theta, y0, strict=True):
        for ident, value in zip(parameter_ids(model), row, strict=True):
            if ident in free:
                am.set_free_parameter_by_id(ident, float(value))
        start_state = initial_state(model, row, first)
        am.set_initial_state([float(start_state[i]) for i in states])
        start = time.perf_counter()
        data = run_simulation(am, solver)
        simulate += time.perf_counter() - start
        full = np.tile(start_state, (len(times), 1))
        full[:, states] = np.asarray(data.x)
        found.append(Trajectory(model, model.layout, times, full))
    rate, worst = len(theta) * DAYS / simulate, compare(kb, model, ours, found)
    print(f"  AMICI {len(theta)} patients: import and compile {build:.1f} s; run_simulation "
          f"{simulate:.2f} s = {rate:.1f} patient-days/s; max relative difference {worst:.2e}")  # fmt: skip
    return {"amici_patient_days_per_s": round(rate, 2), "amici_build_s": round(build, 2),
            "amici_max_rel_diff": worst}  # fmt: skip


def _jit(text: str) -> str:
    """libroadrunner's JIT for an export (see ``exotwin.model.ode.sbml.load_roadrunner``)."""
    if needs_fast_jit(text):
        return "LLJIT, LLVM optimisation NONE (non-default: the default MCJIT takes >15 CPU-min)"
    return "MCJIT (default)"


def dask_speedup(count: int) -> dict[str, float]:
    """Seconds of a small-model cohort sweep (365 days) on 1 and on 2 local Dask workers."""
    name, arm = MODELS["small"]
    seconds = {}
    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / "spec.json"
        body = {**SPEC, "scenario": name, "arms": [arm], "patients": count, "chunk_size": 25}
        spec.write_text(json.dumps(body), encoding="utf-8")
        for workers in (1, 2):
            start = time.perf_counter()
            run_sweep(spec, Path(folder) / f"out{workers}", workers=workers)
            seconds[workers] = time.perf_counter() - start
            print(f"dask: {count} patients on {workers} worker(s): {seconds[workers]:.1f} s")
    speedup = seconds[1] / seconds[2]
    print(f"dask: speed-up 1 -> 2 workers {speedup:.2f}", flush=True)
    return {"patients": count, "one_worker_s": round(seconds[1], 2),
            "two_workers_s": round(seconds[2], 2), "speedup": round(speedup, 2)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument(
        "--roadrunner-patients", type=int, default=20, help="patients also run with libroadrunner"
    )
    parser.add_argument(
        "--only", choices=sorted(MODELS), action="append", help="run only this model"
    )
    parser.add_argument(
        "--dask-patients", type=int, default=100, help="patients of the 1 vs 2 worker sweep"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes for the large model's patients",
    )
    args = parser.parse_args()
    kb = load_knowledge()
    lib = load_library(kb)
    result = {
        key: bench(kb, lib, key, args.patients, args.roadrunner_patients, args.workers)
        for key in args.only or MODELS
    }
    if args.dask_patients:
        result["dask"] = dask_speedup(args.dask_patients)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
