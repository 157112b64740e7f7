"""The ``exotwin`` command line: a thin layer over the Python API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .biopsy.cli import biopsy_app
from .knowledge import cli as kb_cli
from .model import cli as model_cli
from .web.serve import serve

FLAGSHIP = "tnbc-doxorubicin-exosomal-resistance"
TISSUE_DEMO = "caf-ring-mir9-mir125b"

app = typer.Typer(
    help="exotwin: exosome-mediated communication in breast cancer, made computable.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(kb_cli.kb_app, name="kb")
app.add_typer(biopsy_app, name="biopsy")
app.add_typer(model_cli.scenarios_app, name="scenarios")
app.add_typer(model_cli.export_app, name="export")
app.command()(model_cli.simulate)
app.command()(model_cli.sensitivity)
app.command()(model_cli.sweep)
app.command()(model_cli.cohort)
app.command()(model_cli.tissue)
app.command()(serve)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the exported files.")] = Path("out/demo"),
) -> None:
    """Tour: the evidence graph (summary, searches, neighbours, exports), then the flagship
    scenario (chemoresistance spreading through exosomes in TNBC under doxorubicin, with and
    without a release inhibitor) with its report, then one arm of a spatial scenario."""
    from .knowledge.exports import FORMATS

    typer.secho("== exotwin demo: the evidence graph of both reviews ==", bold=True)
    kb_cli.validate(None)
    kb_cli.summary(None, as_json=False)
    for label, query in (
        ("cargo by synonym: 'P-gp' (ABCB1)", {"text": "P-gp"}),
        ("drug: adriamycin (a synonym of doxorubicin)", {"text": None, "drug": "adriamycin"}),
        (
            "cell type and phenotype: macrophages that turn M2",
            {"text": None, "cell": "TAM", "phenotype": "m2_polarization"},
        ),
    ):
        typer.secho(f"\n-- search {label}", bold=True)
        kb_cli.search_command(**query)
    typer.secho("\n-- what CAFs send and receive", bold=True)
    kb_cli.neighbours_command("CAF")
    typer.secho("\n-- exports", bold=True)
    suffix = {
        "csv": "csv",
        "json": "json",
        "graphml": "graphml",
        "cytoscape": "cyjs.json",
        "physicell-rules": "rules.csv",
    }
    for fmt in FORMATS:
        kb_cli.export_command(kb_cli.ExportFormat(fmt), out / f"evidence.{suffix[fmt]}")
    typer.secho(f"\n-- simulator: flagship scenario {FLAGSHIP}", bold=True)
    model_cli.simulate(FLAGSHIP, out / "flagship", seed=0)
    typer.echo(
        f"open {out / 'flagship' / 'report.html'} for figures and the evidence behind every rule"
    )
    typer.secho(f"\n-- tissue: {TISSUE_DEMO}, arm exosomes (cells and exosome fields)", bold=True)
    model_cli.tissue(TISSUE_DEMO, out / "tissue", seed=0, arm=["exosomes"])
    typer.echo(f"see {out / 'tissue' / 'exosomes'}/snapshot_day10.png: a ring of CAFs")


def main() -> None:
    app()
