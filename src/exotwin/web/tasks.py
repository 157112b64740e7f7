"""What a job does, by kind: thin calls of the same public API the CLI uses.

Each task reads its inputs from ``FOLDER/input`` and writes ``FOLDER/output`` through the
layer's own writers (which stage a folder and rename it into place), reporting progress as
``report(fraction, message)``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

from ..knowledge import KnowledgeBase, load_knowledge
from ..model import Library, load_library, load_scenario, run_scenario, run_tissue, write_outputs
from .jobs import Job

Report = Callable[[float, str], None]
SCENARIO_FILE = "scenario.yaml"


class Context:
    """What every task of a worker shares: the evidence graph and the model library."""

    @cached_property
    def kb(self) -> KnowledgeBase:
        return load_knowledge()

    @cached_property
    def lib(self) -> Library:
        return load_library(self.kb)


def scenario_task(ctx: Context, job: Job, folder: Path, report: Report) -> None:
    """Compartment run (timeseries.csv, summary.json, report.html) or, with
    ``solver: tissue``, the spatial run (per-arm cells and fields snapshots)."""
    scenario = load_scenario(folder / "input" / SCENARIO_FILE, ctx.kb, ctx.lib)
    seed = int(job.params.get("seed", 0))
    if job.params.get("solver") == "tissue":
        work = folder / "work"
        shutil.rmtree(work, ignore_errors=True)
        run_tissue(
            ctx.kb,
            ctx.lib,
            scenario,
            seed,
            out=work,
            arms=job.params.get("arms") or None,
            plots=False,
            progress=lambda arm, done: report(done, f"tissue: arm {arm}"),
        )
        os.replace(work, folder / "output")
        return
    done: list[str] = []

    def arm_done(arm: str) -> None:
        done.append(arm)
        report(0.95 * len(done) / len(scenario.arms), f"arm {arm} simulated")

    report(0.0, f"simulating {len(scenario.arms)} arm(s)")
    result = run_scenario(ctx.kb, ctx.lib, scenario, seed, progress=arm_done)
    report(0.96, "writing timeseries.csv, summary.json, report.html")
    write_outputs(ctx.kb, ctx.lib, result, folder / "output")


def _roc(result: Any) -> dict[str, Any]:
    """ROC points of the model and the baseline from out-of-fold scores (as report.html)."""
    from sklearn.metrics import roc_curve

    if result.task != "diagnosis":
        return {}
    case = result.classes[1]
    truth = (result.oof["label"] == case).to_numpy()
    curves = {"model": result.oof[f"p_{case}"].to_numpy()}
    if result.baseline_oof is not None:
        curves["baseline"] = result.baseline_oof
    out: dict[str, Any] = {}
    for name, score in curves.items():
        fpr, tpr, _ = roc_curve(truth, score)
        out[name] = {
            "fpr": [round(float(v), 5) for v in fpr],
            "tpr": [round(float(v), 5) for v in tpr],
        }
    return out


def biopsy_fit_task(ctx: Context, job: Job, folder: Path, report: Report) -> None:
    """``exotwin biopsy fit``: nested CV, differential abundance, signatures, report."""
    from ..biopsy.classify import CVSettings
    from ..biopsy.store import write_fit
    from ..biopsy.workflow import fit_and_report

    p = job.params
    report(0.02, "reading the data")
    dataset = read_upload(folder, p, label=p["label"], group=p.get("group"))
    settings = CVSettings(
        outer_folds=p["outer_folds"],
        inner_folds=p["inner_folds"],
        n_boot=p["bootstrap"],
        seed=p["seed"],
        panel_max=p["panel"],
        normalisation=p.get("normalise"),
        operating_point=p["operating_point"],
    )
    title = f"exotwin biopsy fit: {p['data_name']}"
    outcome = fit_and_report(dataset, title, p["task"], settings, p.get("positive"), report)
    report(0.95, "writing the model folder")
    extra = {"de.csv": outcome.table.to_csv(), "roc.json": json.dumps(_roc(outcome.result))}
    write_fit(outcome.result, dataset, folder / "output", outcome.html, extra)


def read_upload(folder: Path, p: dict[str, Any], **labels: Any) -> Any:
    """The job's data file read as ``exotwin biopsy`` reads it."""
    from ..biopsy import read_data

    meta = folder / "input" / p["meta"] if p.get("meta") else None
    return read_data(
        folder / "input" / p["data"],
        id_column=p.get("id_column"),
        fmt=p.get("fmt", "auto"),
        meta=meta,
        **labels,
    )


def biopsy_predict_task(ctx: Context, job: Job, folder: Path, report: Report) -> None:
    """``exotwin biopsy predict`` with the model of a finished fit job."""
    from ..biopsy.errors import BiopsyInputError, cell_problem
    from ..biopsy.store import load_model, predict, write_predictions

    p = job.params
    report(0.1, "loading the model")
    model, spec = load_model(folder.parent / p["model_job"] / "output")
    report(0.3, "reading the data")
    dataset = read_upload(folder, p)
    if dataset.kind != spec["kind"]:
        message = f"{dataset.kind} data, but the model was fitted on {spec['kind']} data"
        raise BiopsyInputError([cell_problem(Path(p["data_name"]), None, "", message)])
    report(0.6, "scoring")
    table = predict(model, spec, dataset)
    work = folder / "work"
    shutil.rmtree(work, ignore_errors=True)
    write_predictions(table, work / "predictions.csv")
    os.replace(work, folder / "output")


TASKS: dict[str, Callable[[Context, Job, Path, Report], None]] = {
    "scenario": scenario_task,
    "biopsy-fit": biopsy_fit_task,
    "biopsy-predict": biopsy_predict_task,
}
