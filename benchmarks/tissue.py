"""Benchmark: wall seconds per simulated minute of the tissue engine, against PhysiCell 1.14.2.

PhysiCell's time steps (diffusion 0.01 min, mechanics 0.1 min, phenotype 6 min) and the three
configurations of ../shared/PARAMETERS.md:

  a  2D, 1000 x 1000 µm, 20 µm voxels (50 x 50), 1 field (exosomes), 1,000 cells
  b  3D, 1500 µm cube, 20 µm voxels (75^3), 2 fields (exosomes, oxygen), ~18,500 cells
  c  3D, 2000 µm cube, 20 µm voxels (100^3), 2 fields, 1,000,000 cells (memory)

Cancer cells (growth, death, exosome secretion and uptake) plus, in a and b, motile
macrophages, with the full engine: rules, division, death, mechanics, motility, fields. The
first phenotype step (numba compilation, caches) is not timed. Each case's last line is one
JSON object with keys case, cells, voxels, fields, s_per_sim_min, peak_rss_mb (and the
PhysiCell reference and speed-up where there is one).

``--lifecycle`` measures what the per-cell exosome lifecycle costs: each case runs without a
lifecycle intervention (the lifecycle is inert) and with an MVB blocker acting in every cell
within 100 µm of a cancer cell (each cell's endosome and MVB content advance, and the band is
found, every phenotype step), alternately ``--repeats`` times; the last line adds
lifecycle_ratio, the median s_per_sim_min with over the median without.

``--cells N`` runs case c with N cancer cells at case c's density: the spheroid's radius and
the box's edge grow with the cube root of N / 10^6 (voxels of 20 µm as before). ``--memory``
runs case c with 10^6 and 2·10^6 cells, each in a process of its own, and ends with one JSON
object: both peak RSS figures, the bytes each further cell adds (the difference over 10^6
cells: fields, cells and neighbour lists together) and the peak RSS that estimates for 10^7.

    python benchmarks/tissue.py [--case a|b|c] [--minutes M] [--lifecycle [--repeats N]]
    python benchmarks/tissue.py --case c --cells 2000000 --minutes 6
    python benchmarks/tissue.py --memory
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import subprocess
import sys
import time

from exotwin.knowledge import load_knowledge
from exotwin.model.rules.library import load_library
from exotwin.model.scenario.schema import Scenario
from exotwin.model.tissue.engine import TissueModel

# PhysiCell 1.14.2, 2 OpenMP threads, re-measured side by side on this kind of machine
# (../shared/PARAMETERS.md, 2026-12-01); the 18.7 ms of the first build overstated case a
PHYSICELL_S_PER_MIN = {"a": 0.0133, "b": 3.8}

CASES = {
    "a": {
        "dimensions": 2,
        "domain": [1000, 1000],
        "oxygen": False,
        "cells": [
            {"cell": "bc_tnbc", "count": 900, "layout": "spheroid", "radius": 300},
            {"cell": "macrophage", "count": 100, "layout": "random", "inner_radius": 320},
        ],
    },
    "b": {
        "dimensions": 3,
        "domain": [1500, 1500, 1500],
        "oxygen": True,
        "cells": [
            {"cell": "bc_tnbc", "count": 17_500, "layout": "spheroid", "radius": 260},
            {"cell": "macrophage", "count": 1_000, "layout": "random", "inner_radius": 300},
        ],
    },
    "c": {
        "dimensions": 3,
        "domain": [2000, 2000, 2000],
        "oxygen": True,
        "cells": [{"cell": "bc_tnbc", "count": 1_000_000, "layout": "spheroid", "radius": 990}],
    },
}


MVB_BLOCKER = {  # a lifecycle intervention in a band: the per-cell lifecycle's whole cost
    "type": "mvb_blocker",
    "agent": "U18666A",
    "efficacy": 0.5,
    "band": {"of": {"cell": "breast_cancer_cell"}, "max": 100},
}


def scaled_c(cells: int) -> dict[str, object]:
    """Case c with ``cells`` cancer cells at its density: radius and box grow as cbrt(cells/1e6)."""
    scale = (cells / 1_000_000) ** (1.0 / 3.0)
    edge = 20 * math.ceil(2000 * scale / 20)
    cell = {"cell": "bc_tnbc", "count": cells, "layout": "spheroid", "radius": 990 * scale}
    return {**CASES["c"], "domain": [edge] * 3, "cells": [cell]}


def scenario(case: str, lifecycle: bool = False, cells: int | None = None) -> Scenario:
    spec = scaled_c(cells) if cells is not None else CASES[case]
    return Scenario.model_validate(
        {
            "id": f"benchmark-{case}",
            "title": f"tissue benchmark {case}",
            "mechanisms": {"rules": []},
            "tissue": {
                **spec,
                "voxel": 20,
                "dt_diffusion": 0.01,
                "dt_mechanics": 0.1,
                "dt_phenotype": 6,
            },
            "arms": [{"name": "run", "interventions": [MVB_BLOCKER] if lifecycle else []}],
            "duration": 1,
            "output_every": 0.1,
            "readouts": [{"name": "cells", "kind": "count", "of": {"cell": "cell"}}],
        }
    )


def run(
    case: str, minutes: float, lifecycle: bool = False, cells: int | None = None
) -> dict[str, object]:
    kb = load_knowledge()
    lib = load_library(kb)
    sc = scenario(case, lifecycle, cells)
    tm = TissueModel(kb, lib, sc, sc.arms[0], seed=1)
    tm.advance(6.0)  # compile and warm up: not timed
    start = time.perf_counter()
    tm.advance(minutes)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # bytes (Linux: KiB)
    result: dict[str, object] = {
        "case": case,
        "lifecycle": lifecycle,
        "cells": len(tm.cells),
        "voxels": tm.grid.voxels,
        "fields": len(tm.fields.names),
        "s_per_sim_min": round(elapsed / minutes, 5),
        "peak_rss_mb": round(peak / 2**20, 1),
        "peak_rss_bytes_per_cell": round(peak / len(tm.cells)),
    }
    if case in PHYSICELL_S_PER_MIN:
        reference = PHYSICELL_S_PER_MIN[case]
        result["physicell_s_per_sim_min"] = reference
        result["speedup_vs_physicell"] = round(reference / (elapsed / minutes), 2)
    return result


def memory(minutes: float) -> dict[str, object]:
    """Case c at 10^6 and 2·10^6 cells, each in its own process (peak RSS is per process)."""
    peaks = {}
    for cells in (1_000_000, 2_000_000):
        command = [sys.executable, __file__, "--case", "c", "--cells", str(cells)]
        out = subprocess.run(
            [*command, "--minutes", str(minutes)], check=True, capture_output=True, text=True
        )
        print(out.stdout.strip(), flush=True)
        peaks[cells] = float(json.loads(out.stdout.strip().splitlines()[-1])["peak_rss_mb"])
    per_cell = (peaks[2_000_000] - peaks[1_000_000]) * 2**20 / 1_000_000
    estimate = peaks[1_000_000] * 2**20 + per_cell * 9_000_000
    return {
        "peak_rss_mb_1e6": peaks[1_000_000],
        "peak_rss_mb_2e6": peaks[2_000_000],
        "bytes_per_further_cell": round(per_cell),
        "estimated_peak_rss_gb_1e7": round(estimate / 2**30, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--case", choices=sorted(CASES), action="append")
    parser.add_argument(
        "--minutes", type=float, default=None, help="simulated minutes (default 60 / 12 / 6)"
    )
    parser.add_argument(
        "--lifecycle", action="store_true", help="time each case without and with the lifecycle"
    )
    parser.add_argument("--repeats", type=int, default=1, help="alternating pairs (--lifecycle)")
    parser.add_argument("--cells", type=int, default=None, help="case c with N cells, same density")
    parser.add_argument(
        "--memory", action="store_true", help="peak RSS of case c at 10^6 and 2·10^6 cells"
    )
    args = parser.parse_args()
    if args.memory:
        print(json.dumps(memory(args.minutes or 6.0)), flush=True)
        return
    if args.cells is not None and args.case != ["c"]:
        parser.error("--cells scales case c: give --case c")
    for case in args.case or sorted(CASES):
        minutes = args.minutes or {"a": 60.0, "b": 12.0, "c": 6.0}[case]
        if not args.lifecycle:
            print(json.dumps(run(case, minutes, cells=args.cells)), flush=True)
            continue
        times: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.repeats):
            for lifecycle in (False, True):
                result = run(case, minutes, lifecycle)
                times[lifecycle].append(float(result["s_per_sim_min"]))  # type: ignore[arg-type]
                print(json.dumps(result), flush=True)
        ratio = statistics.median(times[True]) / statistics.median(times[False])
        print(json.dumps({"case": case, "lifecycle_ratio": round(ratio, 3)}), flush=True)


if __name__ == "__main__":
    main()
