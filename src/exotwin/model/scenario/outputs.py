"""Scenario outputs: timeseries.csv, summary.json and report.html, written all or nothing.

``timeseries.csv`` has the columns ``arm,day,`` then one per readout (as ``exotwin tissue``
writes; before exotwin 0.2 the time column was called ``time_days``)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from ... import __version__
from ...io import output_folder
from ...knowledge import KnowledgeBase, non_stated_fields
from ..rules.library import Library
from ..rules.schema import Param
from .report import report_html
from .run import ScenarioResult


def timeseries_rows(result: ScenarioResult) -> tuple[list[str], list[list[Any]]]:
    names = [r.name for r in result.scenario.readouts]
    rows = []
    for arm, trajectory in result.trajectories.items():
        values = result.readouts[arm]
        for i, t in enumerate(trajectory.times):
            rows.append([arm, round(float(t), 6), *(float(values[n][i]) for n in names)])
    return ["arm", "day", *names], rows


def _param(p: Param) -> dict[str, Any]:
    return {"value": p.value, "unit": p.unit, "source": p.source, "low": p.low, "high": p.high}


def rules_used(kb: KnowledgeBase, lib: Library, result: ScenarioResult) -> list[dict[str, Any]]:
    """Every rule any arm used, with its record and parameters (value, unit, provenance), and
    the fields of its record(s) that the review does not state (``not_stated``)."""
    used: dict[str, dict[str, Any]] = {}
    for arm, model in result.models.items():
        for rule_id in model.rules_used:
            rule = lib.rules[rule_id]
            record = kb.records[rule.record]
            entry = used.setdefault(
                rule_id,
                {
                    "rule": rule_id,
                    "record": record.id,
                    "kind": record.kind,
                    "summary": record.summary,
                    "seed": record.seed,
                    "section": record.section,
                    "reference": record.reference,
                    "not_stated": [
                        {"record": r.id, "field": field, "class": kind}
                        for r in (record, *(kb.records[other] for other in rule.also))
                        for field, kind in non_stated_fields(r)
                    ],
                    "parameters": {
                        name: _param(lib.rule_param(rule, name))
                        for name in ("loading", "half_max", "hill", "max_rate", "fold")
                    },
                    "arms": [],
                },
            )
            entry["arms"].append(arm)
    return list(used.values())


def summary(kb: KnowledgeBase, lib: Library, result: ScenarioResult) -> dict[str, Any]:
    sc = result.scenario
    drugs = sorted({d for m in result.models.values() for d in m.drugs})
    return {
        "scenario": sc.id,
        "title": sc.title,
        "exotwin_version": __version__,
        "seed": result.seed,
        "deterministic": True,
        "duration_days": sc.duration,
        "passed": result.passed,
        "checks": [
            {
                "name": c.name,
                "claim": c.claim,
                "passed": c.passed,
                "op": c.op,
                "factor": c.factor,
                "left": c.left,
                "right": c.right,
            }
            for c in result.checks
        ],
        "final": {
            arm: {name: float(series[-1]) for name, series in values.items()}
            for arm, values in result.readouts.items()
        },
        "arms": {
            arm.name: {
                "description": arm.description,
                "populations": [p.label for p in result.models[arm.name].populations],
                "rules": result.models[arm.name].rules_used,
                "notes": result.models[arm.name].notes,
            }
            for arm in sc.arms
        },
        "rules": rules_used(kb, lib, result),
        "parameters": {k: _param(v) for k, v in sorted(lib.parameters.items())},
        "parameter_overrides": sc.parameters,
        "drugs": {
            d: {
                k: _param(getattr(lib.drugs[d], k))
                for k in (
                    "half_life",
                    "concentration_per_dose",
                    "kill_max",
                    "ec50",
                    "hill",
                    "resistance_fold",
                    "tumour_exchange",
                )
            }
            for d in drugs
        },
    }


def write_outputs(
    kb: KnowledgeBase, lib: Library, result: ScenarioResult, out: Path, overwrite: bool = False
) -> None:
    """Write the three outputs into ``out`` through :func:`exotwin.io.output_folder`: they
    appear complete or not at all, and nothing exotwin did not write is touched."""
    out = Path(out)
    with output_folder(out, overwrite) as staging:
        header, rows = timeseries_rows(result)
        with (staging / "timeseries.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
        (staging / "summary.json").write_text(
            json.dumps(summary(kb, lib, result), indent=1) + "\n", encoding="utf-8"
        )
        (staging / "report.html").write_text(report_html(kb, lib, result), encoding="utf-8")
