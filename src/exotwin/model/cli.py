"""``exotwin simulate`` and ``exotwin scenarios``: thin commands over the model API."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table as RichTable

from ..cli_common import OverwriteOption, new_app
from ..errors import CohortError, Problem, ScenarioError, did_you_mean
from ..io import check_output_folder, output_folder
from ..knowledge import KnowledgeBase, load_knowledge
from ..progress import Progress
from ..tables import Column, CsvOption, JsonOption, Table, emit, output_format
from .rules.coverage import Coverage, RecordCoverage, coverage, summarise
from .rules.library import Library, load_library
from .scenario.load import load_scenario, packaged_scenarios
from .scenario.outputs import write_outputs
from .scenario.run import ScenarioResult, run_scenario
from .uncertainty.robust import robustness

if TYPE_CHECKING:
    from .scenario.schema import Scenario
    from .tissue.run import TissueResult
    from .uncertainty.sensitivity import Indices

console = Console()
scenarios_app = new_app(help="Shipped scenarios and their checks.", no_args_is_help=True)


def _run(kb: KnowledgeBase, lib: Library, name: str | Path, seed: int) -> ScenarioResult:
    scenario = load_scenario(name, kb, lib)
    with Progress(f"simulate {scenario.id}", len(scenario.arms), "arms") as bar:
        return run_scenario(kb, lib, scenario, seed, progress=lambda arm: bar.advance())


def simulate(
    scenario: Annotated[str, typer.Argument(help="Scenario file or shipped scenario id.")],
    out: Annotated[
        Path, typer.Option("--out", help="Output folder (exotwin's files in it are replaced).")
    ],
    seed: Annotated[
        int,
        typer.Option(
            min=0, help="Seed of simulated assay noise (the ODE model itself is deterministic)."
        ),
    ] = 0,
    overwrite: OverwriteOption = False,
) -> None:
    """Simulate a scenario: timeseries.csv, summary.json, report.html; exit 1 if a check fails."""
    result = simulate_into(scenario, out, seed, overwrite)
    typer.echo(f"wrote {out}/timeseries.csv, summary.json, report.html")
    if not result.passed:
        raise typer.Exit(1)


def simulate_into(
    scenario: str | Path, out: Path, seed: int = 0, overwrite: bool = False
) -> ScenarioResult:
    """Simulate, write the outputs into ``out`` and print the checks."""
    check_output_folder(out, overwrite)
    kb = load_knowledge()
    lib = load_library(kb)
    result = _run(kb, lib, scenario, seed)
    write_outputs(kb, lib, result, out, overwrite)
    for check in result.checks:
        _print_check(check.describe(), check.ok)
    return result


def _print_check(line: str, passed: bool) -> None:
    """A check's line, green or red on a terminal, never wrapped."""
    console.print(line, style="green" if passed else "red", markup=False, soft_wrap=True)


@scenarios_app.command("list")
def list_scenarios(as_json: JsonOption = False, as_csv: CsvOption = False) -> None:
    """The shipped scenarios with their arms and checks."""
    fmt = output_format(as_json, as_csv)
    kb = load_knowledge()
    lib = load_library(kb)
    table = Table(
        "Shipped scenarios",
        [Column("id", "id"), Column("title"), Column("arms"), Column("checks", "number")],
    )
    for path in packaged_scenarios().values():
        sc = load_scenario(path, kb, lib)
        table.add(sc.id, sc.title, ", ".join(a.name for a in sc.arms), len(sc.checks))
    emit(table, fmt, console)


@scenarios_app.command("check")
def check_scenarios(
    names: Annotated[
        list[str] | None, typer.Argument(help="Scenario ids or files (default all).")
    ] = None,
    robust: Annotated[
        int,
        typer.Option(
            min=0,
            max=100_000,
            help="Also run N Latin-hypercube parameter sets and report, per check, "
            "the fraction that passes.",
        ),
    ] = 0,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the parameter sampling.")] = 0,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """Run scenarios and their checks; exit 1 when any check fails at the nominal parameters."""
    fmt = output_format(as_json, as_csv)
    kb = load_knowledge()
    lib = load_library(kb)
    names = names or list(packaged_scenarios())
    columns = [Column("scenario", "id"), Column("check", "id"), Column("nominal", "id")]
    columns.append(Column("effect", "number", "+.1%"))  # in the claimed direction, at nominal
    if robust:  # the share of draws passing, the draws that could not be solved (failing),
        columns += [Column("robust", "number", ".0%"), Column("unsolved", "number", "d")]
        columns.append(Column("drivers"))  # and the parameters that decide the verdict
    title = "Scenario checks" + (f" (robustness over {robust} parameter sets)" if robust else "")
    table = Table(title, [*columns, Column("values")])
    with Progress("scenarios check", len(names) * (1 + robust), "runs") as bar:
        for name in names:
            scenario = load_scenario(name, kb, lib)
            result = run_scenario(kb, lib, scenario)
            bar.advance(description=f"scenarios check: {scenario.id}")
            spread = robustness(kb, lib, scenario, robust, seed, bar.advance) if robust else None
            for check in result.checks:
                verdict = "pass" if check.passed else "known fail" if check.ok else "FAIL"
                row: list[object] = [scenario.id, check.name, verdict, check.effect]
                if spread is not None:
                    found = spread.drivers.get(check.name, ())
                    row += [spread.fraction(check.name), spread.errors]
                    row.append("; ".join(d.describe() for d in found))
                table.add(*row, check.describe().split(": ", 1)[1])
    emit(table, fmt, console)
    failed = sum(row[2] == "FAIL" for row in table.rows)
    if failed:
        typer.echo(f"{failed} check(s) failed", err=True)
        raise typer.Exit(1)


class RecordKind(StrEnum):
    mechanism = "mechanism"
    therapy = "therapy"
    biomarker = "biomarker"


class CoverageStatus(StrEnum):
    simulated = "simulated"
    not_simulated = "not_simulated"
    unexplained = "unexplained"


def coverage_command(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    kind: Annotated[RecordKind | None, typer.Option(help="Only records of this kind.")] = None,
    status: Annotated[
        CoverageStatus | None, typer.Option(help="Only records with this status.")
    ] = None,
) -> None:
    """Which mechanism, therapy and biomarker records have dynamics (the rules that give them,
    and what each changes when compiled) and which do not (with their reason), and why the
    activity levels of simulated records change nothing (rules/inert_effects.yaml); exit 1 when
    a record has neither, a reason is stale, or an inert effect has no reason."""
    kb = load_knowledge()
    result = coverage(kb, load_library(kb))
    shown = [
        r
        for r in result.records
        if (kind is None or r.kind == kind.value) and (status is None or r.status == status.value)
    ]
    if as_json:
        payload = result.to_json()
        listed = {r.record for r in shown}
        payload["records"] = [p for p in payload["records"] if p["record"] in listed]
        typer.echo(json.dumps(payload, indent=1, ensure_ascii=False))
    else:
        _print_coverage(shown, result.counts(), result.inert_counts())
    if _coverage_problems(result):
        raise typer.Exit(1)


def _coverage_problems(result: Coverage) -> bool:
    """Print (to stderr) what leaves coverage unexplained; whether anything does."""
    bad = [r.record for r in result.records if r.status == "unexplained" or r.stale_reason]
    if bad:
        typer.echo(f"{len(bad)} record(s) unexplained or with a stale reason: {bad}", err=True)
    bare = sorted({f"{rid} ({d.phenotype})" for rid, _, d in result.inert() if not d.reason})
    if bare:
        typer.echo(f"{len(bare)} inert effect(s) without a reason: {bare}", err=True)
    if result.stale_inert:
        typer.echo(f"stale inert_effects entries (no inert effect): {result.stale_inert}", err=True)
    return bool(bad or bare or result.stale_inert)


def _coverage_lines(r: RecordCoverage) -> list[str]:
    """What a record's rules change, or its reason and what its rules do instead."""
    if r.status == "simulated":
        lines = [f"{rule.rule}: {summarise(rule.dynamics)}" for rule in r.rules if rule.dynamics]
    else:
        lines = [f"{r.reason}: {r.note}"] if r.reason else ["no rule and no reason"]
        lines += [
            f"rule {rule.rule}: " + (summarise(rule.inert) or rule.note or "nothing")
            for rule in r.rules
        ]
    lines += [
        f"{rule.rule} leaves out {phenotype} (not simulated: {why})"
        for rule in r.rules
        for phenotype, why in rule.omitted.items()
    ]
    if r.stale_reason:
        lines.append(f"stale reason {r.reason!r} in not_simulated.yaml: delete it")
    if r.status == "simulated":
        lines += _inert_lines(r)
    return lines


def _inert_lines(r: RecordCoverage) -> list[str]:
    """A simulated record's inert terms, counted by reason with their phenotypes; those
    without a reason one by one."""
    terms = [d for rule in r.rules for d in rule.inert]
    if not terms:
        return []
    by_reason: dict[str, list[str]] = {}
    for d in terms:
        if d.reason:
            by_reason.setdefault(d.reason, []).append(d.phenotype)
    parts = [
        f"{reason} {len(names)} ({', '.join(dict.fromkeys(names))})"
        for reason, names in by_reason.items()
    ]
    lines = [f"inert {len(terms)}: " + "; ".join(parts)] if parts else []
    lines += [
        f"INERT WITHOUT A REASON: {d.phenotype} in {d.cell}" + (f" ({d.note})" if d.note else "")
        for d in terms
        if not d.reason
    ]
    return lines


def _print_coverage(
    records: list[RecordCoverage], counts: dict[str, dict[str, int]], inert: dict[str, int]
) -> None:
    label = {"simulated": "yes", "not_simulated": "no", "unexplained": "UNEXPLAINED"}
    for kind, count in counts.items():
        rows = [r for r in records if r.kind == kind]
        if not rows:
            continue
        title = f"{kind}: {count['simulated']} of {count['total']} simulated"
        table = RichTable(title=title, show_lines=True)
        table.add_column("record", overflow="fold", ratio=2)
        table.add_column("simulated", no_wrap=True)
        table.add_column("rules and what they change, or the reason", overflow="fold", ratio=3)
        for r in rows:
            table.add_row(r.record, label[r.status], "\n".join(_coverage_lines(r)))
        console.print(table)
    console.print(
        f"Inert effects of simulated records: {inert['with_reason']} with a reason, "
        f"{inert['without_reason']} without"
    )
    console.print(
        "Simulated: "
        + ", ".join(f"{k} {c['simulated']} of {c['total']}" for k, c in counts.items())
    )


export_app = new_app(help="Export a compiled scenario to exchange formats.", no_args_is_help=True)


@export_app.command("sbml")
def export_sbml(
    scenario: Annotated[str, typer.Argument(help="Scenario file or shipped scenario id.")],
    out: Annotated[Path, typer.Option("--out", help="SBML file to write.")],
    arm: Annotated[str | None, typer.Option(help="Arm to export (default: the first).")] = None,
) -> None:
    """Write one arm of a scenario as SBML Level 3 (validated by libSBML)."""
    from .ode.sbml import write_sbml
    from .rules.compiler import compile_arm

    kb = load_knowledge()
    lib = load_library(kb)
    loaded = load_scenario(scenario, kb, lib)
    arms = {a.name: a for a in loaded.arms}
    if arm is not None and arm not in arms:
        message = f"no arm {arm!r} in {loaded.id}{did_you_mean(arm, arms)}"
        raise ScenarioError([Problem(Path(scenario), None, "--arm", message)])
    chosen = arms[arm] if arm else loaded.arms[0]
    write_sbml(compile_arm(kb, lib, loaded, chosen), out)
    typer.echo(f"wrote {out} (SBML L3V2, scenario {loaded.id}, arm {chosen.name})")


def sensitivity(
    scenario: Annotated[str, typer.Argument(help="Scenario file or shipped scenario id.")],
    arm: Annotated[str, typer.Option(help="Arm to analyse.")],
    readout: Annotated[str, typer.Option(help="Readout of the scenario.")],
    day: Annotated[float, typer.Option(help="Day at which the readout is taken.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for indices.csv/json and plot.png.")],
    method: Annotated[str, typer.Option(help="sobol or morris")] = "sobol",
    n: Annotated[
        int,
        typer.Option(min=1, max=100_000, help="Base samples (Sobol) or trajectories (Morris)."),
    ] = 64,
    parameters: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated parameters (default: every uncertain one the arm reads)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="Sampling seed.")] = 0,
    overwrite: OverwriteOption = False,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """Sobol or Morris sensitivity indices (SALib) of a readout, with a plot."""
    from .uncertainty.sensitivity import analyse

    if method not in {"sobol", "morris"}:
        raise typer.BadParameter(f"{method!r}: expected sobol or morris", param_hint="--method")
    fmt = output_format(as_json, as_csv)
    kb = load_knowledge()
    lib = load_library(kb)
    names = [p.strip() for p in parameters.split(",")] if parameters else None
    check_output_folder(out, overwrite)
    loaded = load_scenario(scenario, kb, lib)
    with Progress(f"sensitivity {method} {loaded.id}", unit="runs") as bar:
        indices = analyse(
            kb,
            lib,
            loaded,
            arm,
            readout,
            day,
            method,  # type: ignore[arg-type]
            n,
            seed,
            names,
            progress=lambda i, total: bar.update(i, total),
        )
    with output_folder(out, overwrite) as staging:
        _write_indices(indices, staging)
    emit(_indices_table(indices), fmt, console)
    typer.echo(f"wrote {out}/indices.csv, indices.json, plot.png", err=fmt != "table")


def _indices_table(indices: Indices) -> Table:
    """The indices, most influential (total index or sigma) first."""
    sobol = indices.method == "sobol"
    title = (
        f"{indices.method} indices of {indices.readout} [{indices.arm}, day {indices.day:g}] "
        f"({indices.runs} runs)"
    )
    columns = ["parameter", *(("S1", "S1_conf", "ST", "ST_conf") if sobol else ())]
    if not sobol:
        columns += ["mu_star", "mu_star_conf", "sigma", "sigma_conf"]
    table = Table(
        title, [Column(columns[0], "id")] + [Column(c, "number", ".3f") for c in columns[1:]]
    )
    for i in sorted(range(len(indices.names)), key=lambda i: -indices.total[i]):
        table.add(
            indices.names[i],
            indices.first[i],
            indices.first_conf[i],
            indices.total[i],
            indices.total_conf[i],
        )
    return table


def _write_indices(indices: Indices, folder: Path) -> None:
    """``indices.csv``, ``indices.json`` and ``plot.png`` into ``folder``."""
    from .uncertainty.sensitivity import plot

    header = "parameter,first,first_conf,total,total_conf\n"
    columns = (indices.first, indices.first_conf, indices.total, indices.total_conf)
    rows = "".join(
        f"{name},{a:.6g},{b:.6g},{c:.6g},{d:.6g}\n"
        for name, a, b, c, d in zip(indices.names, *columns, strict=True)
    )
    (folder / "indices.csv").write_text(header + rows, encoding="utf-8")
    (folder / "indices.json").write_text(
        json.dumps(indices.__dict__, indent=1) + "\n", encoding="utf-8"
    )
    plot(indices, folder / "plot.png")


def _sweep(
    spec: Path, out: Path, scheduler: str | None, workers: int, overwrite: bool = False
) -> Path:
    from .uncertainty.cohort import run_sweep

    with Progress(f"sweep {spec.name}", unit="chunks") as bar:
        return run_sweep(spec, out, scheduler, workers, progress=bar.update, overwrite=overwrite)


SchedulerOption = Annotated[
    str | None,
    typer.Option(help="dask scheduler address (tcp://host:8786); default: a local cluster."),
]
WorkersOption = Annotated[int, typer.Option(min=1, max=1024, help="Workers of the local cluster.")]


def sweep(
    spec: Annotated[Path, typer.Argument(help="Cohort spec (YAML): scenario, patients, draws.")],
    out: Annotated[
        Path, typer.Option("--out", help="Output folder (resumed if it holds this sweep).")
    ],
    scheduler: SchedulerOption = None,
    workers: WorkersOption = 2,
    overwrite: OverwriteOption = False,
) -> None:
    """Run many patients of a scenario on dask; results.parquet, resumable."""
    result = _sweep(spec, out, scheduler, workers, overwrite)
    typer.echo(f"wrote {result}")


def cohort(
    spec: Annotated[Path, typer.Argument(help="Cohort spec (YAML) with labels and biopsy.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    biopsy: Annotated[
        bool,
        typer.Option(
            "--biopsy", help="Also write biopsy.csv: plasma cargo per sample with noise and labels."
        ),
    ] = False,
    scheduler: SchedulerOption = None,
    workers: WorkersOption = 2,
    overwrite: OverwriteOption = False,
) -> None:
    """A virtual cohort: the sweep, per-patient labels and the simulated liquid biopsy."""
    import pandas as pd

    from .uncertainty.cohort import biopsy_table, load_spec

    kb = load_knowledge()
    loaded, scenario = load_spec(spec, kb, load_library(kb))
    if biopsy and loaded.biopsy is None:
        raise CohortError(f"{spec}: --biopsy needs a 'biopsy:' section in the spec")
    result = _sweep(spec, out, scheduler, workers, overwrite)
    if biopsy:
        table = biopsy_table(loaded, scenario, pd.read_parquet(result), kb, out)
        typer.echo(f"wrote {table}")
    typer.echo(f"wrote {result}")


def tissue(
    scenario: Annotated[
        str, typer.Argument(help="Scenario file with a tissue section, or a shipped tissue id.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Output folder (snapshots per arm).")],
    seed: Annotated[
        int, typer.Option(min=0, help="Seed of placement, division, death, switching.")
    ] = 0,
    arm: Annotated[
        list[str] | None, typer.Option("--arm", help="Run only these arms (checks need all).")
    ] = None,
    animate: Annotated[bool, typer.Option(help="Also write animation.gif per arm.")] = False,
    plots: Annotated[bool, typer.Option(help="PNG and SVG figure of each snapshot.")] = True,
    replicates: Annotated[
        int,
        typer.Option(
            min=0,
            max=10_000,
            help="Also rerun the scenario with the next N seeds (no snapshots) and report, per "
            "check, in how many it holds; written to replicates.json.",
        ),
    ] = 0,
    overwrite: OverwriteOption = False,
) -> None:
    """Simulate a scenario in space: cells and diffusing exosome fields with the same rules.

    Writes per arm cells_dayD.parquet, fields_dayD.npz and snapshot figures, plus
    timeseries.csv and summary.json (checks, mass ledger); exit 1 if a check fails.
    """
    result = tissue_into(scenario, out, seed, arm, plots, animate, replicates, overwrite)
    typer.echo(f"wrote {out}: timeseries.csv, summary.json and snapshots per arm")
    if not result.passed:
        raise typer.Exit(1)


def tissue_into(
    scenario: str | Path,
    out: Path,
    seed: int = 0,
    arms: list[str] | None = None,
    plots: bool = True,
    animate: bool = False,
    replicates: int = 0,
    overwrite: bool = False,
) -> TissueResult:
    """Run a tissue scenario, write its outputs into ``out`` and print the checks."""
    check_output_folder(out, overwrite)
    kb = load_knowledge()
    lib = load_library(kb)
    sc = load_scenario(scenario, kb, lib)
    with output_folder(out, overwrite) as staging:
        result, held = _tissue_run(kb, lib, sc, staging, seed, arms, plots, animate, replicates)
    for check in result.checks:
        line = check.describe()
        if held:
            line += f" [holds in {sum(held[check.name])}/{len(held[check.name])} seeds]"
        _print_check(line, check.ok)
    return result


def _tissue_run(
    kb: KnowledgeBase,
    lib: Library,
    sc: Scenario,
    folder: Path,
    seed: int,
    arms: list[str] | None,
    plots: bool,
    animate: bool,
    replicates: int,
) -> tuple[TissueResult, dict[str, list[bool]]]:
    """Run the tissue scenario, writing into ``folder``; with ``replicates``, also whether
    each check holds under the next seeds (replicates.json)."""
    from .tissue.run import replicate_checks, run_tissue

    days = sc.duration * (len(arms) if arms else len(sc.arms))
    with Progress(f"tissue {sc.id}", days, "simulated days") as bar:
        result = run_tissue(
            kb,
            lib,
            sc,
            seed,
            out=folder,
            arms=arms,
            plots=plots,
            animate=animate,
            progress=lambda name, done: bar.update(
                done * days, description=f"tissue {sc.id}, arm {name}"
            ),
        )
    held: dict[str, list[bool]] = {}
    if replicates and result.checks:
        seeds = list(range(seed + 1, seed + 1 + replicates))
        with Progress(f"tissue {sc.id} replicates", replicates, "seeds") as bar:
            held = replicate_checks(kb, lib, sc, seeds, progress=bar.update)
        for check in result.checks:
            held[check.name].insert(0, check.passed)
        summary = {"seeds": [seed, *seeds], "held": held}
        (folder / "replicates.json").write_text(
            json.dumps(summary, indent=1) + "\n", encoding="utf-8"
        )
    return result, held
