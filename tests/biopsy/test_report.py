"""The fit report opens with a summary written from the metrics; fit and de print their
summaries as JSON / CSV for programs."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from pathlib import Path

from typer.testing import CliRunner

from exotwin.biopsy.cli import biopsy_app

runner = CliRunner()
QUICK = ["--outer-folds", "3", "--inner-folds", "2", "--bootstrap", "50", "--panel", "2"]


def test_fit_report_summary_and_json(tmp_path: Path, signal_csv: Path) -> None:
    out = tmp_path / "model"
    args = ["fit", str(signal_csv), "--label", "group", "--out", str(out), *QUICK, "--json"]
    result = runner.invoke(biopsy_app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)  # stdout holds only the JSON
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert summary["positive_class"] == metrics["positive_class"] == "case"
    auc = summary["metrics"]["cv_auc"]
    assert auc["model"] == metrics["cv_auc"] and auc["difference"]["verdict"]
    assert "wrote" in result.stderr
    page = (out / "report.html").read_text(encoding="utf-8")
    section = page[page.index("<section id='summary'>") : page.index("</section>")]
    assert page.index("<section id='summary'>") < page.index("Cross-validated metrics")
    text = html.unescape(re.sub(r"<[^>]+>", "", section))
    assert "80 samples (40 'control', 40 'case') with 12 analytes" in text
    assert "tell class 'case'" in text and "from class 'control'" in text
    assert (
        f"cross-validated AUC (area under the ROC curve) of {metrics['cv_auc']['value']:.4f}"
        in text
    )
    assert auc["difference"]["verdict"] in text
    assert "sensitivity" in text and "specificity" in text


def test_de_top_table_as_json_and_csv(tmp_path: Path, signal_csv: Path) -> None:
    base = ["de", str(signal_csv), "--label", "group", "--top", "3"]
    as_json = runner.invoke(biopsy_app, [*base, "--out", str(tmp_path / "a"), "--json"])
    assert as_json.exit_code == 0, as_json.output
    rows = json.loads(as_json.stdout)
    assert len(rows) == 3 and {"analyte", "hedges_g", "g_ci_low", "auc", "q_value"} <= set(rows[0])
    assert rows[0]["analyte"] in {"hsa-miR-1", "hsa-miR-2"}  # the two shifted analytes lead
    as_csv = runner.invoke(biopsy_app, [*base, "--out", str(tmp_path / "b"), "--csv"])
    read = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [r["analyte"] for r in read] == [r["analyte"] for r in rows]
    assert "positive class" in as_csv.stderr and "positive class" not in as_csv.stdout
