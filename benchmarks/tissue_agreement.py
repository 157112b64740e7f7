"""Same rules, two solvers: a well-mixed tissue against the compartment model.

Runs ``tests/model/tissue/well_mixed.yaml`` (one 1000 µm voxel: the compartment model's
tumour volume, 600 TNBC cells and 600 fibroblasts, miR-9/miR-125b CAF rules, 8 days) with
both solvers and prints the largest differences; the test of the same name holds them to
about 3 SD of the agents' chance variation. The last line is one JSON object.

    python benchmarks/tissue_agreement.py [--seed 3]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from exotwin.knowledge import load_knowledge
from exotwin.model.rules.library import load_library
from exotwin.model.scenario.load import load_scenario
from exotwin.model.scenario.run import run_scenario
from exotwin.model.tissue.run import run_tissue

SCENARIO = Path(__file__).resolve().parents[1] / "tests" / "model" / "tissue" / "well_mixed.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    kb = load_knowledge()
    lib = load_library(kb)
    scenario = load_scenario(SCENARIO, kb, lib)
    ode = run_scenario(kb, lib, scenario).readouts["exosomes"]
    agents = run_tissue(kb, lib, scenario, seed=args.seed, plots=False).readouts["exosomes"]
    print(
        json.dumps(
            {
                "seed": args.seed,
                "caf_fraction_day8": {
                    "compartment": round(float(ode["caf_fraction"][-1]), 4),
                    "tissue": round(float(agents["caf_fraction"][-1]), 4),
                },
                "max_abs_caf_fraction_difference": round(
                    float(np.max(np.abs(agents["caf_fraction"] - ode["caf_fraction"]))), 4
                ),
                "max_relative_cancer_difference": round(
                    float(np.max(np.abs(agents["cancer"] / ode["cancer"] - 1))), 4
                ),
                "max_relative_mir9_exosome_difference": round(
                    float(np.max(np.abs(agents["exosomes"][1:] / ode["exosomes"][1:] - 1))), 4
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
