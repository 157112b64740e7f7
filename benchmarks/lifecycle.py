"""Benchmark: what the exosome lifecycle costs on the default TNBC model (compartment engine).

Three builds of ``tnbc-default-all-mechanisms``, arm ``untreated`` (doxorubicin-free):

- ``without``: one uptake route taking the whole capacity (the single saturating uptake term
  the model had before the lifecycle) and no intervention at a lifecycle step;
- ``with``: the shipped lifecycle (three uptake routes, each saturating on its own), no
  intervention: what every compartment run now pays;
- ``with_steps``: the shipped lifecycle plus an intervention at every step (MVB blocker, ESCRT
  depletion, lysosome inhibitor, an uptake route blocked in every receiver).

Each build is timed on right-hand-side evaluations at the starting state (the median of
``--repeats`` blocks of 20 calls) and on one solve of ``--days`` days. The ratios are against
``without``. The machine is shared: the first line prints the load average, and the last line
is one JSON object.

    python benchmarks/lifecycle.py [--days 56] [--repeats 15]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import time
from typing import Any

from exotwin.knowledge import KnowledgeBase, load_knowledge
from exotwin.model import CompiledModel, Library, compile_arm, load_library, load_scenario
from exotwin.model.ode.solve import RightHandSide, simulate_arm, starting_state

SCENARIO, ARM = "tnbc-default-all-mechanisms", "untreated"
STEPS = [
    {"type": "mvb_blocker", "agent": "rapamycin", "efficacy": 0.5},
    {"type": "machinery_depletion", "machinery": "escrt", "efficacy": 0.5},
    {"type": "lysosome_inhibitor", "efficacy": 0.5},
    {"type": "uptake_blocker", "route": "endocytosis", "efficacy": 0.5},
]


def one_route(lib: Library) -> Library:
    """The library with a single uptake route that takes the whole capacity and signals with
    all it takes up: the one saturating uptake term of the model before the lifecycle."""
    first = lib.lifecycle.routes[0]
    life = lib.lifecycle.model_copy(update={"routes": [first]})
    return dataclasses.replace(lib, lifecycle=life)


def build(kb: KnowledgeBase, lib: Library, steps: bool, days: float) -> CompiledModel:
    scenario = load_scenario(SCENARIO, kb, lib)
    arm = next(a for a in scenario.arms if a.name == ARM)
    if steps:
        arm = arm.model_validate({**arm.model_dump(), "interventions": STEPS})
    scenario = scenario.model_copy(update={"duration": days, "checks": []})
    return compile_arm(kb, lib, scenario, arm)


def time_model(model: CompiledModel, repeats: int) -> dict[str, float]:
    """Median seconds per right-hand-side call, and the seconds of one solve."""
    theta = model.parameters.values[None, :]
    rhs = RightHandSide(model, theta)
    y = starting_state(model, theta)[0]
    rhs(0.0, y)  # warm the caches
    blocks = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(20):
            rhs(1.0, y)
        blocks.append((time.perf_counter() - start) / 20)
    start = time.perf_counter()
    simulate_arm(model)
    return {"rhs_ms": statistics.median(blocks) * 1e3, "solve_s": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=56.0)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    kb = load_knowledge()
    lib = load_library(kb)
    builds = {
        "without": build(kb, one_route(lib), False, args.days),
        "with": build(kb, lib, False, args.days),
        "with_steps": build(kb, lib, True, args.days),
    }
    found: dict[str, Any] = {}
    for name, model in builds.items():
        found[name] = time_model(model, args.repeats)
        found[name]["variables"] = model.layout.size
        print(
            f"{name:10} {model.layout.size} variables  rhs {found[name]['rhs_ms']:.3f} ms  "
            f"solve {found[name]['solve_s']:.2f} s"
        )
    base = found["without"]
    for name in ("with", "with_steps"):
        found[name]["rhs_ratio"] = found[name]["rhs_ms"] / base["rhs_ms"]
        found[name]["solve_ratio"] = found[name]["solve_s"] / base["solve_s"]
        print(
            f"{name} / without: rhs x{found[name]['rhs_ratio']:.3f}, "
            f"solve x{found[name]['solve_ratio']:.3f}"
        )
    summary = {"benchmark": "lifecycle_cost", "scenario": SCENARIO, "arm": ARM}
    summary |= {"days": args.days, "load_average": round(os.getloadavg()[0], 2)}
    print(
        json.dumps(summary | {k: {m: round(v, 4) for m, v in d.items()} for k, d in found.items()})
    )


if __name__ == "__main__":
    main()
