"""The ``exotwin`` command line: a thin layer over the Python API.

Every command runs inside one error boundary (:class:`exotwin.cli_common.ErrorBoundary`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .biopsy.cli import biopsy_app
from .cli_common import OverwriteOption, exit_on_sigterm, new_app
from .io import output_folder
from .knowledge import cli as kb_cli
from .model import cli as model_cli
from .web.serve import serve

FLAGSHIP = "tnbc-doxorubicin-exosomal-resistance"
TISSUE_DEMO = "caf-ring-mir9-mir125b"

app = new_app(
    help="exotwin: exosome-mediated communication in breast cancer, made computable.",
    no_args_is_help=True,
    add_completion=False,
)
kb_cli.kb_app.command("coverage")(model_cli.coverage_command)  # the model's view of the graph
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
    overwrite: OverwriteOption = False,
) -> None:
    """Tour: the evidence graph (summary, searches, neighbours, exports), then the flagship
    scenario (chemoresistance spreading through exosomes in TNBC under doxorubicin, with and
    without a release inhibitor) with its report, then one arm of a spatial scenario."""
    with output_folder(out, overwrite) as staging:
        _demo_knowledge(out, staging)
        typer.secho(f"\n-- simulator: flagship scenario {FLAGSHIP}", bold=True)
        model_cli.simulate_into(FLAGSHIP, staging / "flagship", seed=0)
        typer.secho(
            f"\n-- tissue: {TISSUE_DEMO}, arm exosomes (cells and exosome fields)", bold=True
        )
        model_cli.tissue_into(TISSUE_DEMO, staging / "tissue", seed=0, arms=["exosomes"])
    typer.echo(
        f"wrote {out}; open {out / 'flagship' / 'report.html'} for figures and the evidence "
        f"behind every rule, and see {out / 'tissue' / 'exosomes'}/snapshot_day10.png: a ring "
        "of CAFs"
    )


def _demo_knowledge(out: Path, staging: Path) -> None:
    from .knowledge import load_knowledge
    from .knowledge.exports import FORMATS, export

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
    kb = load_knowledge()
    for fmt in FORMATS:
        name = f"evidence.{suffix[fmt]}"
        export(kb, fmt, staging / name)
        typer.echo(f"wrote {out / name} ({fmt}, {len(kb.records)} records)")


def main() -> None:
    """The ``exotwin`` entry point."""
    exit_on_sigterm()
    app()
