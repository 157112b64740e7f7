"""How the reference outputs were recorded, from main at commit fe09234, before the rebuild.

``python tests/model/reference/record.py`` wrote the tissue references (seed 0) and, with
``--tight``, the compartment references at rtol 1e-10 (it patches the old module
``exotwin.model.simulate``, which the rebuild removed; check that commit out to rerun it).
The rebuilt model must reproduce them within a relative difference of 1e-6.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

from exotwin.knowledge import load_knowledge
from exotwin.model.rules.library import load_library
from exotwin.model.scenario.load import load_scenario, packaged_scenarios
from exotwin.model.scenario.run import run_scenario
from exotwin.model.tissue.run import run_tissue

HERE = Path(__file__).parent


def tighten() -> None:
    """Integrate at rtol 1e-10 (atol 1e-6 of the default): references of the equations
    themselves, free of the solver's step choices."""
    import exotwin.model.simulate as simulate

    plain = simulate.solve_ivp

    def tight(*args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs["rtol"], kwargs["atol"] = 1e-10, kwargs["atol"] * 1e-6
        return plain(*args, **kwargs)

    simulate.solve_ivp = tight


def main(names: list[str], prefix: str = "") -> None:
    kb = load_knowledge()
    lib = load_library(kb)
    for kind in ("scenarios",) if prefix else ("scenarios", "tissue"):
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
            target = HERE / f"{prefix}{kind}-{name}.json.gz"
            with gzip.open(target, "wt", encoding="utf-8") as fh:
                json.dump(data, fh)
            print(target, flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--tight"]:  # python record.py --tight [names]
        tighten()
        main(sys.argv[2:], prefix="tight-")
    else:
        main(sys.argv[1:])
