"""``exotwin biopsy ...``: fit and evaluate a classifier, predict, differential abundance."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from ..cli_common import OverwriteOption, new_app
from ..io import check_output_folder, output_folder
from ..progress import Progress
from ..tables import Column, CsvOption, Format, JsonOption, Table, emit, output_format
from .classify import CVSettings, OperatingPoint, Task
from .de import differential, format_p, profile_shift
from .errors import BiopsyInputError, cell_problem
from .plots import volcano_svg
from .readers import Dataset, read_data
from .separation import separation_check
from .store import load_model, predict, write_fit, write_predictions
from .workflow import fit_and_report, signature_scores

biopsy_app = new_app(help="Liquid-biopsy analytics on expression data.", no_args_is_help=True)


class TaskOption(StrEnum):
    diagnosis = "diagnosis"
    subtype = "subtype"


class OperatingPointOption(StrEnum):
    accuracy = "accuracy"
    youden = "youden"


class FormatOption(StrEnum):
    auto = "auto"
    wide = "wide"
    h5ad = "h5ad"
    qpcr = "qpcr"
    counts = "counts"


DataArg = Annotated[Path, typer.Argument(help="Expression data (CSV/TSV, .h5ad, qPCR Ct, counts).")]
IdOpt = Annotated[
    str | None,
    typer.Option("--id", help="Sample-id column (default: the first, non-analyte column)."),
]
FmtOpt = Annotated[
    FormatOption, typer.Option("--format", help="Input format (auto: by suffix and content).")
]
MetaOpt = Annotated[
    Path | None,
    typer.Option("--meta", help="Per-sample metadata table holding the label (qPCR, counts)."),
]
NormOpt = Annotated[
    str | None,
    typer.Option(
        "--normalise", help="Variant: quantile (signal), reference (Ct), cpm|tmm|deseq2 (counts)."
    ),
]


SeedOpt = Annotated[int, typer.Option(min=0, max=2**32 - 1, help="Seed of folds and bootstrap.")]
BootstrapOpt = Annotated[
    int, typer.Option(min=0, max=1_000_000, help="Bootstrap resamples for the 95% CIs.")
]


OperatingPointOpt = Annotated[
    OperatingPointOption,
    typer.Option(
        help="Diagnosis cut-off, chosen on inner-CV predictions: fewest misclassifications "
        "(accuracy) or the Youden index."
    ),
]


def _jobs(value: int) -> int:
    if value == 0:
        raise typer.BadParameter("0 jobs cannot run; give 1 or more, or -1 for every core")
    return value


JobsOpt = Annotated[
    int, typer.Option(callback=_jobs, help="Parallel outer folds (-1: every core).")
]


def _read(
    path: Path,
    label: str | None,
    id_column: str | None,
    fmt: Any,
    meta: Path | None,
    group: str | None = None,
) -> Dataset:
    return read_data(path, label=label, id_column=id_column, fmt=fmt.value, meta=meta, group=group)


_SHORT = {
    "Newcombe score interval": " Newcombe",
    "Clopper-Pearson": " exact",
    "Bonferroni-combined Clopper-Pearson": " exact",
}


def _fmt(m: dict[str, Any], sign: str = "", digits: int = 4) -> str:
    """``value [low, high]``, tagged when the interval is not a bootstrap; ``value (no
    interval: reason)`` when there is none."""
    f = f"{sign}.{digits}f"
    if m.get("ci_low") is None:  # the reason without its detail (printed once above)
        return f"{m['value']:{f}} ({m.get('reason', 'no interval').split(':')[0]})"
    tag = _SHORT.get(m.get("method", ""), "")
    return f"{m['value']:{f}} [{m['ci_low']:{f}}, {m['ci_high']:{f}}]{tag}"


def _echo_separation(check: dict[str, Any] | None) -> None:
    """The separation check: a warning when it looks like a batch effect, a note when chance."""
    if check and check["kind"] == "batch":
        typer.secho(f"warning: {check['warning']}", fg="yellow", err=True)
    elif check and check["kind"] == "chance":
        typer.echo(f"note: {check['warning']}", err=True)


def _echo_fit(m: dict[str, Any]) -> None:
    """The fit's summary: positive class, model, how intervals were made, each metric
    against the baseline with the verdict of its paired interval, the panel."""
    for warning in m["warnings"]:
        typer.secho(f"warning: {warning}", fg="yellow", err=True)
    _echo_separation(m.get("separation"))
    if m["cv"]["group"]:
        typer.echo(f"grouped CV by {m['cv']['group']!r}: {m['cv']['n_groups']} groups")
    if "positive_class" in m:
        typer.echo(f"positive class: {m['positive_class']!r} = 1 ({m['positive_class_reason']})")
    typer.echo(f"model: {m['final_model']} ({m['final_choice']})")
    rule = m["intervals"]
    if not rule["bootstrap"]:
        unit = f"{rule['unit']}s"
        typer.echo(
            f"intervals: the smallest class holds {rule['smallest_class']} {unit}, the bootstrap "
            f"needs {rule['min_per_class']}: exact intervals where they exist (Clopper-Pearson, "
            f"Newcombe), else 'too few {unit} for an interval'"
        )
    for key in [k for k in m if k.startswith("cv_")]:
        base = m["baseline"].get(key)
        line = f"{key}: {_fmt(m[key])}"
        if base:
            delta = m["baseline"]["delta"][key]
            line += (
                f"   baseline {_fmt(base)}   model - baseline {_fmt(delta, '+', 5)}: "
                f"{delta['verdict']} ({delta['direction']})"
            )
        typer.echo(line)
    if "panel" in m:
        typer.echo(
            f"panel: {', '.join(m['panel']['features'])}   cv_auc {_fmt(m['panel']['cv_auc'])}"
        )


@biopsy_app.command()
def fit(
    data: DataArg,
    label: Annotated[str, typer.Option(help="Label column (diagnosis: two classes).")],
    out: Annotated[Path, typer.Option(help="Model folder to write.")],
    id_column: IdOpt = None,
    task: Annotated[
        TaskOption, typer.Option(help="diagnosis (binary) or subtype (multiclass).")
    ] = TaskOption.diagnosis,
    fmt: FmtOpt = FormatOption.auto,
    meta: MetaOpt = None,
    positive: Annotated[
        str | None,
        typer.Option(
            help="Case class of a diagnosis label (default: the class not named like a "
            "control, e.g. not 'healthy' or '0'; printed with how it was chosen)."
        ),
    ] = None,
    normalise: NormOpt = None,
    seed: SeedOpt = 0,
    outer_folds: Annotated[int, typer.Option(min=2, help="Outer CV folds.")] = 5,
    inner_folds: Annotated[int, typer.Option(min=2, help="Inner CV folds (tuning, panel).")] = 3,
    bootstrap: BootstrapOpt = 1000,
    panel: Annotated[int, typer.Option(min=0, help="Largest panel size searched (0: none).")] = 5,
    jobs: JobsOpt = 1,
    group: Annotated[
        str | None,
        typer.Option(
            help="Group column (e.g. patient): samples of one group stay in one fold, outer "
            "and inner (stratified group K-fold)."
        ),
    ] = None,
    operating_point: OperatingPointOpt = OperatingPointOption.accuracy,
    overwrite: OverwriteOption = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="Print the summary (metrics, intervals, verdicts) as JSON instead."
        ),
    ] = False,
) -> None:
    """Nested-CV fit: prints the cross-validated metrics, writes model, metrics.json, report.html."""
    check_output_folder(out, overwrite)
    dataset = _read(data, label, id_column, fmt, meta, group)
    rule: OperatingPoint = operating_point.value
    settings = CVSettings(
        outer_folds=outer_folds,
        inner_folds=inner_folds,
        n_boot=bootstrap,
        seed=seed,
        n_jobs=jobs,
        panel_max=panel,
        normalisation=normalise,
        operating_point=rule,
    )
    task_name: Task = task.value
    title = f"exotwin biopsy fit: {data.name}"
    with Progress(f"biopsy fit {data.name}", 100, "%") as bar:
        outcome = fit_and_report(
            dataset,
            title,
            task_name,
            settings,
            positive,
            stage=lambda f, what: bar.update(100 * f, description=f"biopsy fit: {what}"),
        )
    extra = {"de.csv": outcome.table.to_csv()}
    write_fit(outcome.result, dataset, out, outcome.html, extra, overwrite)
    if as_json:
        typer.echo(json.dumps(fit_summary(outcome.result.metrics), indent=1))
    else:
        _echo_fit(outcome.result.metrics)
    typer.echo(
        f"wrote {out}/ (model.joblib, features.json, metrics.json, report.html)", err=as_json
    )


def fit_summary(m: dict[str, Any]) -> dict[str, Any]:
    """What ``biopsy fit`` prints, as data: classes, model, each metric with its interval,
    the baseline's and the paired difference with its verdict."""
    keys = [k for k in m if k.startswith("cv_")]
    return {
        "positive_class": m.get("positive_class"),
        "positive_class_reason": m.get("positive_class_reason"),
        "model": m["final_model"],
        "model_choice": m["final_choice"],
        "intervals": m["intervals"],
        "warnings": m["warnings"],
        "separation": (m.get("separation") or {}).get("warning"),
        "metrics": {
            k: {
                "model": m[k],
                "baseline": m["baseline"].get(k),
                "difference": m["baseline"]["delta"].get(k),
            }
            for k in keys
        },
        "panel": m["panel"]["features"] if "panel" in m else None,
    }


@biopsy_app.command("predict")
def predict_command(
    model_dir: Annotated[Path, typer.Argument(help="Folder written by `exotwin biopsy fit`.")],
    data: Annotated[
        Path, typer.Argument(help="Expression data in the format of the training data.")
    ],
    out: Annotated[Path, typer.Option(help="Predictions CSV to write.")],
    id_column: IdOpt = None,
    fmt: FmtOpt = FormatOption.auto,
) -> None:
    """Write ``sample,predicted,score`` (subtype: ``sample,predicted`` + one column per class)."""
    model, spec = load_model(model_dir)
    dataset = read_data(data, id_column=id_column, fmt=fmt.value)
    if dataset.kind != spec["kind"]:
        message = f"{dataset.kind} data, but the model was fitted on {spec['kind']} data"
        raise BiopsyInputError([cell_problem(data, None, "", message)])
    table = predict(model, spec, dataset)
    write_predictions(table, out)
    typer.echo(f"wrote {len(table)} predictions to {out}")


@biopsy_app.command("de")
def de_command(
    data: DataArg,
    label: Annotated[str, typer.Option(help="Label column.")],
    out: Annotated[Path, typer.Option(help="Folder for de.csv, volcano.svg, signatures.json.")],
    id_column: IdOpt = None,
    fmt: FmtOpt = FormatOption.auto,
    meta: MetaOpt = None,
    positive: Annotated[str | None, typer.Option(help="Case class of a two-class label.")] = None,
    test: Annotated[str, typer.Option(help="welch or mannwhitney.")] = "welch",
    normalise: NormOpt = None,
    overwrite: OverwriteOption = False,
    top: Annotated[int, typer.Option(min=1, help="Analytes listed (largest effects).")] = 5,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """Differential abundance per analyte (effect, test, BH FDR), volcano plot, signatures."""
    printed = output_format(as_json, as_csv)
    check_output_folder(out, overwrite)
    dataset = _read(data, label, id_column, fmt, meta)
    if test not in {"welch", "mannwhitney"}:
        raise typer.BadParameter(f"must be welch or mannwhitney, got {test!r}", param_hint="--test")
    table = differential(dataset, positive=positive, test=test, method=normalise)  # type: ignore[arg-type]
    signatures = signature_scores(dataset, normalise, positive, dataset.classes)
    separation = separation_check(dataset, positive, normalise)
    with output_folder(out, overwrite) as staging:
        table.to_csv(staging / "de.csv")
        if "hedges_g" in table.columns:
            (staging / "volcano.svg").write_text(volcano_svg(table), encoding="utf-8")
        (staging / "signatures.json").write_text(
            json.dumps(signatures, indent=1) + "\n", encoding="utf-8"
        )
    _echo_de(table, separation, top, printed)
    typer.echo(
        f"wrote {out}/ (de.csv, signatures.json{', volcano.svg' if 'hedges_g' in table.columns else ''})",
        err=printed is not Format.table,
    )


def _echo_de(
    table: pd.DataFrame,
    separation: dict[str, Any] | None,
    top: int = 5,
    fmt: Format = Format.table,
) -> None:
    """Positive class, hits, the largest effects with their intervals, and warnings (the
    summary lines on stderr when the table is printed as JSON or CSV)."""
    shift = profile_shift(table)
    if shift:
        typer.secho(f"warning: {shift}", fg="yellow", err=True)
    _echo_separation(separation)
    quiet = fmt is not Format.table
    if "case" in table.attrs:
        typer.echo(
            f"positive class: {table.attrs['case']!r} (log2_fc and g = case - control; "
            f"{table.attrs['case_reason']})",
            err=quiet,
        )
    hits = int((table["q_value"] < 0.05).sum())
    smallest = format_p(float(table["log10_p"].min())) if len(table) else "-"
    typer.echo(f"{len(table)} analytes, {hits} at FDR < 0.05 (smallest p {smallest})", err=quiet)
    if "hedges_g" not in table.columns:
        shown = table.head(top)
        if quiet:
            emit(_frame_table(shown), fmt)
        else:
            typer.echo(f"top: {', '.join(map(str, shown.index))}")
        return
    shown = table.reindex(table["hedges_g"].abs().sort_values(ascending=False).index[:top])
    if quiet:
        emit(_frame_table(shown), fmt)
        return
    for name, row in shown.iterrows():
        typer.echo(
            f"  {name}: g {row['hedges_g']:+.2f} [{row['g_ci_low']:+.2f}, "
            f"{row['g_ci_high']:+.2f}], AUC {row['auc']:.3f}, p {format_p(row['log10_p'])}"
        )


def _frame_table(frame: pd.DataFrame) -> Table:
    """Rows of the DE table, as printed with --json / --csv (every column of de.csv)."""
    columns = [Column("analyte", "id")] + [Column(str(c), "number") for c in frame.columns]
    table = Table("differential abundance", columns)
    for name, row in frame.iterrows():
        table.add(str(name), *(v.item() if hasattr(v, "item") else v for v in row))
    return table
