"""report.html of a fit: metrics with CIs, ROC, calibration, panel, volcano, signatures."""

from __future__ import annotations

import html
import json
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve

from .. import __version__
from .classify import FitResult
from .de import format_p, profile_shift
from .plots import calibration_svg, panel_svg, roc_svg, volcano_svg

__all__ = ["report_html", "summary_html"]

_STYLE = (
    "body{font-family:sans-serif;max-width:980px;margin:auto} table{border-collapse:collapse;"
    "font-size:13px} td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top} "
    ".warn{color:#a00;font-weight:bold} figure{display:inline-block;margin:6px} "
    "#summary{background:#f4f7fb;border:1px solid #d5deea;padding:4px 16px 10px;line-height:1.4}"
)


def _ci(m: dict[str, Any], digits: int = 3, sign: str = "") -> str:
    """``value (95% CI low to high; method)``, or ``value (no interval: reason)``."""
    f = f"{sign}.{digits}f"
    if m.get("ci_low") is None:
        return f"{m['value']:{f}} ({m.get('reason', 'no interval')})"
    method = m.get("method", "")
    how = f"; {method}" if method and "bootstrap" not in method else ""
    return f"{m['value']:{f}} (95% CI {m['ci_low']:{f}} to {m['ci_high']:{f}}{how})"


def report_html(
    result: FitResult,
    title: str,
    de: pd.DataFrame | None = None,
    signatures: list[dict[str, Any]] | None = None,
) -> str:
    """One self-contained HTML page (figures as inline SVG)."""
    esc = html.escape
    m = result.metrics
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(title)}</title>",
        f"<style>{_STYLE}</style></head><body><h1>{esc(title)}</h1>",
        *summary_html(result),
        f"<p>Task <b>{esc(result.task)}</b>, {m['n_samples']} samples, {m['n_analytes']} analytes, "
        f"classes {esc(json.dumps(m['class_counts']))}. Nested CV: {m['cv']['outer_folds']} outer × "
        f"{m['cv']['inner_folds']} inner folds, seed {m['cv']['seed']}, {m['cv']['bootstrap']} "
        f"bootstrap resamples, normalisation {esc(m['cv']['normalisation'])}; exotwin {__version__}.</p>",
    ]
    if m["cv"].get("group"):
        parts.append(
            f"<p>Grouped CV by <b>{esc(str(m['cv']['group']))}</b> ({m['cv']['n_groups']} groups): "
            "no group is split between training and test parts, outer or inner.</p>"
        )
    if "positive_class" in m:
        parts.append(
            f"<p>Positive class (= 1): <b>{esc(str(m['positive_class']))}</b> "
            f"({esc(m['positive_class_reason'])}).</p>"
        )
    parts.append(
        f"<p>Model ({esc(m['final_choice'])}, refitted on all data): "
        f"<b>{esc(m['final_model'])}</b>. Per outer fold: "
        f"{esc('; '.join(f['model'] for f in m['fold_models']))}.</p>"
    )
    parts += [f"<p class='warn'>{esc(w)}</p>" for w in m["warnings"]]
    parts += _separation(m.get("separation"))
    parts += _metric_table(m)
    parts += _diagnosis(result) if result.task == "diagnosis" else _confusion(result)
    if de is not None:
        parts.append("<h2>Differential abundance</h2>")
        shift = profile_shift(de)
        if shift:
            parts.append(f"<p class='warn'>{esc(shift)}</p>")
        if "hedges_g" in de.columns:
            parts.append(f"<figure>{volcano_svg(de)}</figure>")
        parts.append(_de_table(de.head(20)))
    parts += _signatures(signatures or [])
    parts.append("</body></html>")
    return "\n".join(parts)


def _diagnosis(result: FitResult) -> list[str]:
    """Operating point, ROC and calibration figures, and the sparse panel."""
    esc = html.escape
    m = result.metrics
    parts: list[str] = []
    y = (result.oof["label"] == result.classes[1]).to_numpy()
    p = result.oof[f"p_{result.classes[1]}"].to_numpy()
    curves = {"model": (*roc_curve(y, p)[:2], m["cv_auc"]["value"])}
    if result.baseline_oof is not None:
        curves["baseline"] = (
            *roc_curve(y, result.baseline_oof)[:2],
            m["baseline"]["cv_auc"]["value"],
        )
    cal = m["calibration"]
    parts += [
        f"<p>Operating point: {esc(m['operating_point']['rule'])}; thresholds "
        f"{', '.join(f'{t:.3f}' for t in m['operating_point']['fold_thresholds'])}. Baseline: "
        f"{esc(m['operating_point']['baseline_rule'])}.</p>",
        "<h2>ROC and calibration</h2>",
        f"<figure>{roc_svg(curves)}</figure><figure>{calibration_svg(cal['bins'])}</figure>",
        f"<p>Brier score {cal['brier']:.4f}, calibration slope {cal['slope']:.2f}, "
        f"intercept {cal['intercept']:.2f}{_few(m['intervals'])}.</p>",
    ]
    if "panel" in m:
        panel = m["panel"]
        parts += [
            f"<h2>Sparse panel (k ≤ {len(result.panel_steps)})</h2><p>Panel chosen on all data: "
            f"<b>{esc(', '.join(result.panel))}</b>. The panel search itself, repeated inside "
            f"each outer fold, reached CV AUC {_ci(panel['cv_auc'])}; analytes chosen per fold: "
            f"{esc(json.dumps(panel['selection_frequency']))}.</p>",
            f"<figure>{panel_svg(result.panel_steps)}</figure>" if result.panel_steps else "",
        ]
    return parts


def _confusion(result: FitResult) -> list[str]:
    """The out-of-fold confusion matrix of a subtype task."""
    esc = html.escape
    m = result.metrics
    parts: list[str] = []
    parts.append("<h2>Confusion matrix (out of fold; rows: truth)</h2><table><tr><th></th>")
    parts += [f"<th>{esc(c)}</th>" for c in result.classes]
    parts.append("</tr>")
    for truth, row in m["confusion"].items():
        parts.append(
            f"<tr><th>{esc(truth)}</th>" + "".join(f"<td>{v}</td>" for v in row.values()) + "</tr>"
        )
    parts.append("</table>")
    return parts


def _signatures(signatures: list[dict[str, Any]]) -> list[str]:
    """How each knowledge-derived cargo signature separates the classes."""
    if not signatures:
        return []
    esc = html.escape
    parts: list[str] = []
    parts.append(
        "<h2>Knowledge signatures (evidence graph)</h2><table><tr><th>signature</th><th>measured / members</th><th>missing</th><th>result</th></tr>"
    )
    for s in signatures:
        result_text = s.get("result") or (
            (f"auc {s['auc']:.3g}, " if "auc" in s else "") + f"p {format_p(float(s['log10_p']))}"  # type: ignore[arg-type]
        )
        parts.append(
            f"<tr><td>{esc(str(s['signature']))}<br><small>{esc(str(s['description']))}</small></td>"
            f"<td>{esc(', '.join(s['measured']))} ({len(s['measured'])}/{s['members']})</td>"  # type: ignore[arg-type]
            f"<td>{esc(', '.join(s['missing']))}</td><td>{esc(str(result_text))}</td></tr>"  # type: ignore[arg-type]
        )
    parts.append("</table>")
    return parts


def summary_html(result: FitResult) -> list[str]:
    """The report's opening, written from the metrics: what was analysed, how well the model
    separates the classes out of fold, whether it beats the plain baseline, and caveats."""
    esc = html.escape
    m = result.metrics
    counts = ", ".join(f"{n} {esc(repr(str(c)))}" for c, n in m["class_counts"].items())
    if result.task == "diagnosis":
        case = str(m["positive_class"])
        others = [str(c) for c in result.classes if str(c) != case]
        goal = (
            f"tell class <b>{esc(repr(case))}</b> (the positive class: "
            f"{esc(m['positive_class_reason'])}) from class {esc(', '.join(map(repr, others)))}"
        )
    else:
        goal = f"assign each sample one of {len(result.classes)} classes"
    parts = [
        "<section id='summary'><h2>Summary</h2>",
        f"<p><b>What was analysed.</b> {m['n_samples']} samples ({counts}) with "
        f"{m['n_analytes']} analytes; the classifier was to {goal}. Nested cross-validation "
        f"({m['cv']['outer_folds']} outer folds) measures it on samples it was not fitted or "
        "tuned on.</p>",
    ]
    key = "cv_auc" if "cv_auc" in m else next(k for k in m if k.startswith("cv_"))
    name = {"auc": "AUC (area under the ROC curve)"}.get(key[3:], key[3:].replace("_", " "))
    found = f"<p><b>What it found.</b> The chosen model ({esc(m['final_model'])}) reaches a "
    found += f"cross-validated {esc(name)} of {esc(_ci(m[key], 4))}."
    delta = m["baseline"]["delta"].get(key)
    if delta:
        found += (
            f" Against the plain baseline ({esc(m['baseline']['model'])}): "
            f"<b>{esc(delta['verdict'])}</b> (difference {esc(_ci(delta, 5, '+'))})."
        )
    if result.task == "diagnosis":
        found += (
            f" At its cut-off it finds {esc(_ci(m['cv_sensitivity'], 2))} of the samples of "
            f"class {esc(repr(str(m['positive_class'])))} (sensitivity) and clears "
            f"{esc(_ci(m['cv_specificity'], 2))} of the others (specificity)."
        )
    if "panel" in m:
        found += (
            f" A panel of {len(m['panel']['features'])} analyte(s) "
            f"({esc(', '.join(m['panel']['features']))}) reaches CV AUC {esc(_ci(m['panel']['cv_auc']))}."
        )
    parts.append(found + "</p>")
    separation = m.get("separation") or {}
    caveats = [*m["warnings"], *([separation["warning"]] if separation.get("warning") else [])]
    if caveats:
        parts.append("<p><b>Caveats.</b></p><ul>")
        parts += [f"<li class='warn'>{esc(c)}</li>" for c in caveats]
        parts.append("</ul>")
    parts.append("</section>")
    return parts


def _few(rule: dict[str, Any]) -> str:
    """A caveat for estimates without an interval on a cohort below the bootstrap minimum."""
    if rule["bootstrap"]:
        return ""
    return (
        f" (the smallest class holds {rule['smallest_class']} {rule['unit']}s: too few to read "
        "a calibration slope or intercept)"
    )


def _metric_table(m: dict[str, Any]) -> list[str]:
    """Each metric with its interval, the baseline's, and the paired difference's verdict."""
    esc = html.escape
    rule = m["intervals"]
    parts = [
        "<h2>Cross-validated metrics (out of fold)</h2><table><tr><th>metric</th><th>model</th>"
        "<th>baseline</th><th>model − baseline (paired)</th><th>verdict</th></tr>"
    ]
    for key in [k for k in m if k.startswith("cv_")]:
        base = m["baseline"].get(key)
        delta = m["baseline"]["delta"].get(key)
        verdict = f"{delta['verdict']} ({delta['direction']})" if delta else ""
        parts.append(
            f"<tr><td>{esc(key)}</td><td>{esc(_ci(m[key], 4))}</td>"
            f"<td>{esc(_ci(base, 4)) if base else ''}</td>"
            f"<td>{esc(_ci(delta, 5, '+')) if delta else ''}</td><td>{esc(verdict)}</td></tr>"
        )
    parts.append(
        f"</table><p>Baseline: {esc(m['baseline']['model'])}. Intervals (95%): "
        f"{esc(rule['rule'])}; here the smallest class holds {rule['smallest_class']} "
        f"{esc(rule['unit'])}s. Comparison: {esc(rule['comparison'])}.</p>"
    )
    return parts


def _separation(check: dict[str, Any] | None) -> list[str]:
    """The separation check: its warning, PC1 and the analytes at or above the threshold."""
    if not check:
        return []
    esc = html.escape
    top = ", ".join(f"{a['analyte']} {a['auc']:.3f}" for a in check["analytes"][:10])
    more = len(check["analytes"]) - 10
    parts = ["<h2>Separation check</h2>"]
    if check["warning"]:
        style = " class='warn'" if check["kind"] == "batch" else ""
        parts.append(f"<p{style}>{esc(check['warning'])}</p>")
    parts.append(
        f"<p>Direction-free AUC of each analyte alone and of the first principal component "
        f"(label-blind): PC1 {check['pc1_auc']:.3f}; analytes at or above "
        f"{check['threshold']:.2f}: {esc(top) or 'none'}{f' and {more} more' if more > 0 else ''}. "
        f"Label shuffles reaching {check['threshold']:.2f}: "
        f"{check['chance']['analyte']:.0%} (any analyte), {check['chance']['pc1']:.0%} (PC1).</p>"
    )
    return parts


def _de_table(frame: pd.DataFrame) -> str:
    """The top analytes: effects with intervals; p and q shown as bounds below 1e-300, with
    the exact log10 p beside them."""
    shown = frame.drop(columns=["p_value", "q_value", "log10_p", "log10_q"]).copy()
    if "hedges_g" in shown.columns:
        shown["hedges_g"] = [
            f"{g:+.2f} [{lo:+.2f}, {hi:+.2f}]"
            for g, lo, hi in zip(
                shown["hedges_g"], shown["g_ci_low"], shown["g_ci_high"], strict=True
            )
        ]
        shown = shown.drop(columns=["g_ci_low", "g_ci_high"])
    shown["p"] = [format_p(v) for v in frame["log10_p"]]
    shown["log10 p"] = [f"{v:.1f}" for v in frame["log10_p"]]
    shown["q (BH)"] = [format_p(v) for v in frame["log10_q"]]
    return _table(shown)


def _table(frame: pd.DataFrame) -> str:
    head = "".join(
        f"<th>{html.escape(str(c))}</th>" for c in [frame.index.name or "", *frame.columns]
    )
    rows = []
    for index, row in frame.iterrows():
        cells = "".join(
            f"<td>{v:.3g}</td>"
            if isinstance(v, float | np.floating)
            else f"<td>{html.escape(str(v))}</td>"
            for v in row
        )
        rows.append(f"<tr><td>{html.escape(str(index))}</td>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"
