"""Benchmark: CPU of one chunk of a cohort spec in this process (default: patients 0-499 of
``tnbc-default-10k.yaml``, its first chunk), set-up included (compiling the arm, probing the
Jacobian's pattern, loading the lane programs, readouts), with lanes' Newton systems on the
static-pivot LU (``--newton static``, the default) or on SuperLU_MT (``--newton superlu``, the
solver before). The last line is one JSON object.

    python benchmarks/cohort_chunk.py [--first 0] [--count 500] [--newton superlu] [SPEC]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from exotwin.model.ode import lanes, solve
from exotwin.model.uncertainty import cohort

SPEC = Path(cohort.__file__).parent.parent / "data" / "cohorts" / "tnbc-default-10k.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("spec", nargs="?", type=Path, default=SPEC)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--newton", choices=["static", "superlu"], default="static")
    args = parser.parse_args()
    lanes.Lane.static_lu = args.newton == "static"
    alone: list[int] = []
    rerun = solve._alone
    solve._alone = lambda *a: (alone.append(1), rerun(*a))[1]  # type: ignore[assignment]
    kb, lib = cohort._packaged()
    spec, scenario = cohort.load_spec(args.spec, kb, lib)
    patients = list(range(args.first, args.first + args.count))
    cpu, wall = time.process_time(), time.perf_counter()
    rows = cohort.run_patients(spec, scenario, patients, kb, lib)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    found = {
        "newton": args.newton,
        "patients": args.count,
        "cpu_s": round(cpu, 1),
        "wall_s": round(wall, 1),
        "cpu_s_per_patient": round(cpu / args.count, 4),
        "days": scenario.duration,
        "rerun_alone": len(alone),
        "errors": sum(bool(r["error"]) for r in rows),
    }
    print(
        f"{args.newton}: patients {patients[0]}-{patients[-1]}: CPU {cpu:.1f} s, wall {wall:.1f} s"
    )
    print(json.dumps(found))


if __name__ == "__main__":
    main()
