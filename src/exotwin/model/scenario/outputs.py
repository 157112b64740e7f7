"""Scenario outputs: timeseries.csv, summary.json and report.html, written all or nothing."""

from __future__ import annotations

import csv
import html
import io
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from ... import __version__
from ...io import output_folder
from ...knowledge import KnowledgeBase, non_stated_fields
from ..rules.library import Library
from ..rules.schema import Param
from .run import ScenarioResult


def timeseries_rows(result: ScenarioResult) -> tuple[list[str], list[list[Any]]]:
    names = [r.name for r in result.scenario.readouts]
    rows = []
    for arm, trajectory in result.trajectories.items():
        values = result.readouts[arm]
        for i, t in enumerate(trajectory.times):
            rows.append([arm, round(float(t), 6), *(float(values[n][i]) for n in names)])
    return ["arm", "time_days", *names], rows


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


def _figure(result: ScenarioResult, readout: str, unit: str) -> str:
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    for arm, trajectory in result.trajectories.items():
        ax.plot(trajectory.times, result.readouts[arm][readout], label=arm)
    ax.set_xlabel("day")
    ax.set_ylabel(f"{readout} ({unit})" if unit else readout)
    values = [v for arm in result.readouts.values() for v in arm[readout]]
    if values and min(values) > 0 and max(values) / min(values) > 1e3:
        ax.set_yscale("log")
    ax.legend(fontsize=7)
    fig.tight_layout()
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def report_html(kb: KnowledgeBase, lib: Library, result: ScenarioResult) -> str:
    sc = result.scenario
    esc = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{esc(sc.title)}</title><style>body{{font-family:sans-serif;max-width:960px;"
        "margin:auto}} table{{border-collapse:collapse;font-size:13px}} td,th{{border:1px solid "
        "#ccc;padding:3px 6px;vertical-align:top}} .pass{{color:#060}} .fail{{color:#a00}}"
        "</style></head><body>",
        f"<h1>{esc(sc.title)}</h1><p>{esc(sc.description)}</p>",
        f"<p>Scenario <code>{esc(sc.id)}</code>, {sc.duration:g} days, seed {result.seed} "
        f"(deterministic), exotwin {__version__}.</p>",
        "<h2>Checks</h2><table><tr><th>check</th><th>claim</th><th>result</th></tr>",
    ]
    for c in result.checks:
        cls = "pass" if c.passed else "fail"
        parts.append(
            f"<tr><td>{esc(c.name)}</td><td>{esc(c.claim)}</td>"
            f"<td class='{cls}'>{esc(c.describe())}</td></tr>"
        )
    parts.append("</table><h2>Arms</h2><ul>")
    for arm in sc.arms:
        parts.append(f"<li><b>{esc(arm.name)}</b>: {esc(arm.description)}</li>")
    parts.append("</ul><h2>Readouts</h2>")
    for readout in sc.readouts:
        parts.append(f"<h3>{esc(readout.name)}</h3><p>{esc(readout.description)}</p>")
        parts.append(_figure(result, readout.name, readout.unit))
    parts.append(
        "<h2>Evidence behind every rule used</h2><table><tr><th>rule</th><th>record"
        "</th><th>what the review reports</th><th>citation</th><th>parameters</th>"
        "<th>fields not stated by the review</th></tr>"
    )
    for rule in rules_used(kb, lib, result):
        params = "<br>".join(
            f"{k} = {v['value']:g} {esc(v['unit'])} ({esc(v['source'])})"
            for k, v in rule["parameters"].items()
        )
        parts.append(
            f"<tr><td>{esc(rule['rule'])}</td><td>{esc(rule['record'])}</td>"
            f"<td>{esc(rule['summary'])}</td><td>seed {esc(rule['seed'])} &sect;"
            f"{esc(rule['section'])} {esc(rule['reference'])}</td><td>{params}</td>"
            f"<td>{_not_stated(rule['not_stated'])}</td></tr>"
        )
    parts.append(
        "</table><h2>Global parameters</h2><table><tr><th>parameter</th><th>value</th>"
        "<th>source</th></tr>"
    )
    for name, p in sorted(lib.parameters.items()):
        rng = f" [{p.low:g}, {p.high:g}]" if p.low is not None and p.high is not None else ""
        parts.append(
            f"<tr><td>{esc(name)}</td><td>{p.value:g} {esc(p.unit)}{rng}</td>"
            f"<td>{esc(p.source)}</td></tr>"
        )
    parts.append("</table></body></html>")
    return "\n".join(parts)


def _not_stated(fields: list[dict[str, str]]) -> str:
    """The report cell listing a rule's fields that the review does not state."""
    lines = [f"{f['record']}: {f['field']} ({f['class']})" for f in fields]
    return "<br>".join(html.escape(line) for line in lines) or "none (all stated)"


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
