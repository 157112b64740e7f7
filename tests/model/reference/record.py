"""Record the reference outputs that tests/model/test_shipped_scenarios.py and
tests/model/tissue/test_shipped_tissue.py compare with (helpers: reference_outputs.py).

    python tests/model/reference/record.py [--tissue] [names...]

Compartment scenarios are integrated at rtol 1e-10 (``tight-*``), tissue scenarios at seed 0.
History: first recorded from main at commit fe09234 (before the one-equation-set rebuild of
issue 11, which reproduced them to 1e-8); re-recorded after the intended biology changes of
issue 16 (compartment at d1fc82e, tissue at the round-2 merge of the scenarios branch), and
all 47 compartment scenarios again after the niche, coverage4, drugexport and immunodose
merges of 2026-12-01 (commit 335161c); all 93 again on 2026-12-02 after the outsider2,
pending, plasmashare, tcells and invitro merges (commit c57a492). Re-record only when a change of the model's behaviour
is intended, and say so.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

from exotwin.knowledge import load_knowledge
from exotwin.model import load_library, load_scenario, packaged_scenarios, run_scenario
from exotwin.model.ode.solve import Tolerances
from exotwin.model.tissue.run import run_tissue

HERE = Path(__file__).parent
TIGHT = Tolerances(rtol=1e-10, atol_scale=1e-6)


def main(names: list[str], tissue: bool) -> None:
    kb = load_knowledge()
    lib = load_library(kb)
    kind = "tissue" if tissue else "scenarios"
    for name, path in packaged_scenarios(kind).items():
        if names and name not in names:
            continue
        scenario = load_scenario(path, kb, lib)
        if tissue:
            found = run_tissue(kb, lib, scenario, seed=0, out=None, plots=False)
            times = {a: t.tolist() for a, t in found.times.items()}
            target = HERE / f"tissue-{name}.json.gz"
        else:
            result = run_scenario(kb, lib, scenario, tol=TIGHT)
            times = {a: t.times.tolist() for a, t in result.trajectories.items()}
            found = result  # type: ignore[assignment]
            target = HERE / f"tight-scenarios-{name}.json.gz"
        data = {
            "kind": kind,
            "times": times,
            "readouts": {
                arm: {k: v.tolist() for k, v in values.items()}
                for arm, values in found.readouts.items()
            },
        }
        with gzip.open(target, "wt", encoding="utf-8") as fh:
            json.dump(data, fh)
        print(target, flush=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    main([a for a in args if a != "--tissue"], "--tissue" in args)
