"""Record every shipped scenario's readouts (compartment and tissue) as reference outputs.

Run from the repository root: ``python tests/model/reference/record.py``. The rebuild of the
model (one equation set) must reproduce these within a relative difference of 1e-6.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

from exotwin.knowledge import load_knowledge
from exotwin.model.library import load_library
from exotwin.model.run import run_scenario
from exotwin.model.scenario import load_scenario, packaged_scenarios
from exotwin.model.tissue.run import run_tissue

HERE = Path(__file__).parent


def main(names: list[str]) -> None:
    kb = load_knowledge()
    lib = load_library(kb)
    for kind in ("scenarios", "tissue"):
        for name, path in packaged_scenarios(kind).items():
            if names and name not in names:
                continue
            scenario = load_scenario(path, kb, lib)
            if kind == "scenarios":
                result = run_scenario(kb, lib, scenario)
                times = {a: t.times.tolist() for a, t in result.trajectories.items()}
            else:
                result = run_tissue(kb, lib, scenario, seed=0, out=None, plots=False)
                times = {a: t.tolist() for a, t in result.times.items()}
            data = {
                "kind": kind,
                "times": times,
                "readouts": {
                    arm: {k: v.tolist() for k, v in values.items()}
                    for arm, values in result.readouts.items()
                },
            }
            target = HERE / f"{kind}-{name}.json.gz"
            with gzip.open(target, "wt", encoding="utf-8") as fh:
                json.dump(data, fh)
            print(target, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
