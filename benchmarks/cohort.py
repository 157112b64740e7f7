"""Benchmark: virtual patients x 365 days of the default TNBC model (all applicable mechanisms).

Patients draw growth, secretion, uptake and tumour size as in a cohort spec. It times
exotwin's cohort solver (``simulate_patients``: batched for small models, one by one with a
sparse Jacobian for large ones such as this ~800-variable model) and, on a few patients, its
patient-by-patient solver, then libroadrunner on the exported SBML patient by patient (export
and load, then simulate, timed apart: the SBML inlines the patient's values, so each patient
is a new model for roadrunner), and reports
the largest relative difference between the two on every readout. Optionally it times a dask
sweep of the same patients with 1 and 2 workers. The last line is one JSON object.

    python benchmarks/cohort.py --patients 20 [--roadrunner-patients 5] [--dask-scaling]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from exotwin.knowledge import load_knowledge
from exotwin.model.batch import simulate_patients
from exotwin.model.cohort import CohortSpec, patient_draws, run_sweep
from exotwin.model.compiler import compile_arm
from exotwin.model.library import load_library
from exotwin.model.readouts import evaluate, relative_difference
from exotwin.model.robust import with_values
from exotwin.model.run import volumes
from exotwin.model.sbml import load_roadrunner, run_roadrunner, to_sbml
from exotwin.model.scenario import load_scenario
from exotwin.model.simulate import Trajectory, simulate_arm

SCENARIO = "tnbc-default-all-mechanisms"
ARM = "untreated"
SPEC = {
    "scenario": SCENARIO,
    "seed": 7,
    "arms": [ARM],
    "days": [0, 30, 90, 180, 365],
    "parameters": {
        "cancer_growth_rate": {"distribution": "loguniform", "low": 0.02, "high": 0.2},
        "secretion_rate": {"distribution": "range"},
        "uptake_max": {"distribution": "range"},
    },
    "population_scale": {"distribution": "lognormal", "sigma": 0.5},
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument(
        "--roadrunner-patients",
        type=int,
        default=None,
        help="patients also run with libroadrunner (default: all)",
    )
    parser.add_argument("--batch", type=int, default=50, help="patients per batched solve")
    parser.add_argument("--scenario", default=SCENARIO)
    parser.add_argument("--arm", default=ARM)
    parser.add_argument(
        "--single-patients", type=int, default=5, help="patients also timed one by one"
    )
    parser.add_argument("--dask-scaling", action="store_true")
    args = parser.parse_args()
    kb = load_knowledge()
    lib = load_library(kb)
    scenario = load_scenario(args.scenario, kb, lib)
    spec = CohortSpec.model_validate(
        {**SPEC, "scenario": args.scenario, "arms": [args.arm], "patients": args.patients}
    )
    arm = next(a for a in scenario.arms if a.name == args.arm)
    days = scenario.duration
    vol = volumes(lib, scenario)
    rr_patients = min(
        args.patients,
        args.patients if args.roadrunner_patients is None else args.roadrunner_patients,
    )

    libs, models = [], []
    for patient in range(args.patients):
        values, scale = patient_draws(spec, lib, patient)
        sampled = with_values(lib, {("parameters", k, "value"): v for k, v in values.items()})
        pops = [p.model_copy(update={"count": p.count * scale}) for p in scenario.populations]
        libs.append(sampled)
        models.append(
            compile_arm(kb, sampled, scenario.model_copy(update={"populations": pops}), arm)
        )

    ours: list[Trajectory] = []
    start = time.perf_counter()
    for first in range(0, args.patients, args.batch):
        ours += simulate_patients(
            kb, libs[first : first + args.batch], models[first : first + args.batch], args.batch
        )
        print(f"exotwin: {len(ours)}/{args.patients} patients", flush=True)
    ours_time = time.perf_counter() - start
    single_n = min(args.patients, args.single_patients)
    start = time.perf_counter()
    for i in range(single_n):
        simulate_arm(kb, libs[i], models[i])
    single_rate = single_n * days / (time.perf_counter() - start)

    rr_load, rr_sim, worst = 0.0, 0.0, 0.0
    for i in range(rr_patients):
        start = time.perf_counter()
        rr = load_roadrunner(to_sbml(kb, libs[i], models[i]), rtol=1e-6, atol=1e-9)
        rr_load += time.perf_counter() - start
        start = time.perf_counter()
        theirs = run_roadrunner(rr, models[i])
        rr_sim += time.perf_counter() - start
        a = evaluate(kb, ours[i], scenario.readouts, vol)
        b = evaluate(kb, theirs, scenario.readouts, vol)
        for readout in scenario.readouts:
            worst = max(worst, relative_difference(readout, a[readout.name], b[readout.name]))
        print(f"libroadrunner: {i + 1}/{rr_patients} patients", flush=True)

    ours_rate = args.patients * days / ours_time
    rr_rate = rr_patients * days / (rr_load + rr_sim) if rr_patients else float("nan")
    rr_sim_only = rr_patients * days / rr_sim if rr_patients else float("nan")
    print(f"scenario {args.scenario}, arm {args.arm}, {days:g} days")
    print(
        f"exotwin: {args.patients} patients x {days:g} days in {ours_time:.1f} s = "
        f"{ours_rate:.1f} patient-days/s in batches of {args.batch} "
        f"({single_rate:.1f} patient-days/s patient by patient)"
    )
    print(
        f"libroadrunner: {rr_patients} patients, export+load {rr_load:.1f} s + simulate "
        f"{rr_sim:.1f} s = {rr_rate:.1f} patient-days/s (simulation alone "
        f"{rr_sim_only:.1f} patient-days/s)"
    )
    print(f"max relative difference on any readout: {worst:.2e}")
    result = {
        "patients": args.patients,
        "roadrunner_patients": rr_patients,
        "exotwin_patient_days_per_s": round(ours_rate, 2),
        "exotwin_single_patient_days_per_s": round(single_rate, 2),
        "roadrunner_patient_days_per_s": round(rr_rate, 2),
        "roadrunner_simulate_only_patient_days_per_s": round(rr_sim_only, 2),
        "ratio": round(ours_rate / rr_rate, 2),
        "ratio_to_simulation_alone": round(ours_rate / rr_sim_only, 2),
        "max_rel_diff": worst,
    }
    if args.dask_scaling:
        for workers in (1, 2):
            with tempfile.TemporaryDirectory() as folder:
                spec_path = Path(folder) / "spec.yaml"
                spec = {
                    **SPEC,
                    "scenario": args.scenario,
                    "arms": [args.arm],
                    "patients": args.patients,
                    "chunk_size": max(1, args.patients // 8),
                }
                spec_path.write_text(json.dumps(spec))
                start = time.perf_counter()
                run_sweep(spec_path, Path(folder) / "out", workers=workers)
                seconds = time.perf_counter() - start
            print(f"dask sweep, {workers} worker(s): {seconds:.1f} s")
            result[f"dask_{workers}_workers_s"] = round(seconds, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
