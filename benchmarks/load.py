"""Benchmark: load, validate and index the packaged evidence graph (goal: under 1 s).

Prints the median and worst of N fresh loads; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from exotwin.knowledge import load_knowledge


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        kb = load_knowledge()
        times.append(time.perf_counter() - start)
    result = {
        "records": len(kb.records),
        "load_s_median": round(statistics.median(times), 4),
        "load_s_max": round(max(times), 4),
        "goal_s": 1.0,
    }
    print(
        f"loaded {result['records']} records: median {result['load_s_median']} s, "
        f"worst {result['load_s_max']} s over {args.repeat} loads (goal < 1 s)"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
