"""Load on loopback (benchmarks/web_load.py): 50 concurrent searches with p95 under 200 ms,
20 scenario jobs queued at once with none lost."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "web_load.py"


def test_concurrent_searches_and_a_queue_of_jobs() -> None:
    spec = importlib.util.spec_from_file_location("web_load", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.run(search_count=50, job_count=20, rounds=3)
    searches, queue = result["searches"], result["queue"]
    assert searches["statuses"] == [200]
    assert searches["p95_ms"] < 200, searches
    assert queue["accepted"] == queue["done"] == queue["with_outputs"] == 20, queue
    assert queue["missing"] == queue["failed"] == 0
