"""report.html of a scenario run: a plain-language summary written from the run's data, one
figure per readout, the checks, and the evidence and parameters behind every rule."""

from __future__ import annotations

import html
import io
import textwrap
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import blended_transform_factory

from ... import __version__
from ...knowledge import KnowledgeBase
from ..display import (
    ARM_COLOURS,
    ARM_MARKERS,
    ARM_STYLES,
    cells_label,
    human,
    intervention_marks,
    readout_title,
    readout_unit,
)
from ..rules.library import Library
from .readouts import CheckResult, relative_difference
from .run import ScenarioResult
from .schema import Readout

__all__ = ["report_html", "summary_html"]

_STYLE = (
    "body{font-family:sans-serif;max-width:980px;margin:auto;line-height:1.4} "
    "table{border-collapse:collapse;font-size:13px} td,th{border:1px solid #ccc;padding:3px 6px;"
    "vertical-align:top} .pass{color:#060} .fail{color:#a00} .known{color:#a60} "
    "#summary{background:#f4f7fb;border:1px solid #d5deea;padding:4px 16px 10px} "
    "#summary li{margin:4px 0} small{color:#555}"
)
_OP_WORDS = {">": "higher than", "<": "lower than", ">=": "at least", "<=": "at most"}


def _arms(result: ScenarioResult) -> list[str]:
    return [arm.name for arm in result.scenario.arms]


def _same_as(result: ScenarioResult, readout: Readout) -> dict[str, str]:
    """Arms whose curve of ``readout`` coincides with an earlier arm's (to say so)."""
    same: dict[str, str] = {}
    names = _arms(result)
    for k, arm in enumerate(names):
        for earlier in names[:k]:
            if earlier not in same and (
                relative_difference(
                    readout,
                    result.readouts[arm][readout.name],
                    result.readouts[earlier][readout.name],
                )
                < 1e-6
            ):
                same[arm] = earlier
                break
    return same


def _log_scale(readout: Readout, values: np.ndarray) -> bool:
    """Cell counts and exosome levels that span decades are shown on a log axis."""
    positive = values[np.isfinite(values) & (values > 0)]
    if len(positive) < 2:
        return False
    span = positive.max() / positive.min()
    return span > 1e3 or (readout.kind in {"count", "exosomes", "killed"} and span > 20)


def _marks(kb: KnowledgeBase, result: ScenarioResult) -> dict[tuple[str, str], list[float]]:
    """Intervention days grouped by (label, arms that share them)."""
    by_label: dict[tuple[str, float, str], list[str]] = {}
    sc = result.scenario
    for arm in sc.arms:
        for mark in intervention_marks(kb, arm, sc.duration):
            by_label.setdefault((mark.label, mark.day, mark.kind), []).append(arm.name)
    grouped: dict[tuple[str, str], list[float]] = {}
    names = [a.name for a in sc.arms]
    for (label, day, kind), arms in by_label.items():
        others = [a for a in names if a not in arms]
        who = (
            "all arms"
            if not others
            else f"all arms but {', '.join(others)}"
            if len(others) < len(arms)
            else ", ".join(arms)
        )
        grouped.setdefault((f"{label} ({who})", kind), []).append(day)
    return grouped


def _draw_marks(ax: Any, marks: dict[tuple[str, str], list[float]]) -> list[Line2D]:
    """Dotted vertical lines and a triangle on top at each dose, surgery or start day."""
    top = blended_transform_factory(ax.transData, ax.transAxes)
    handles = []
    symbols = {"dose": "v", "surgery": "X", "start": ">"}
    for j, ((label, kind), days) in enumerate(sorted(marks.items())):
        colour = ("#555555", "#8c564b", "#7b3294", "#1b7837")[j % 4]
        for day in days:
            ax.axvline(day, color=colour, linestyle=(0, (1, 2)), linewidth=0.9, alpha=0.8)
        ax.plot(
            days,
            [1.0] * len(days),
            linestyle="none",
            marker=symbols.get(kind, "v"),
            color=colour,
            markersize=6,
            transform=top,
            clip_on=False,
        )
        handles.append(
            Line2D([], [], color=colour, linestyle=(0, (1, 2)), marker=symbols.get(kind, "v"))
        )
        handles[-1].set_label(label)
    return handles


def figure_svg(kb: KnowledgeBase, result: ScenarioResult, readout: Readout) -> str:
    """:func:`figure` as inline SVG."""
    fig = figure(kb, result, readout)
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def figure(kb: KnowledgeBase, result: ScenarioResult, readout: Readout) -> Figure:
    """One readout over time in every arm: each arm its own colour, line style and markers
    (arms that coincide say so), intervention days marked, a log axis for sizes that span
    decades."""
    fig, ax = plt.subplots(figsize=(9.0, 4.4))
    unit = readout_unit(readout)
    same = _same_as(result, readout)
    values = np.concatenate([result.readouts[a][readout.name] for a in _arms(result)])
    log = _log_scale(readout, values)
    for k, arm in enumerate(_arms(result)):
        times = result.trajectories[arm].times
        step = max(1, len(times) // 12)
        series = result.readouts[arm][readout.name]
        label = arm + (f" (same curve as {same[arm]})" if arm in same else "")
        if log and not (series > 0).any():
            label += " (zero throughout: below the log axis)"
        ax.plot(
            times,
            series,
            label=label,
            color=ARM_COLOURS[k % len(ARM_COLOURS)],
            linestyle=ARM_STYLES[k % len(ARM_STYLES)],
            linewidth=max(1.2, 2.8 - 0.5 * k),
            marker=ARM_MARKERS[k % len(ARM_MARKERS)],
            markevery=(k * step // max(1, len(result.scenario.arms)), step),
            markersize=4,
        )
    if log:
        ax.set_yscale("log", nonpositive="mask")
        floor = 1.0 if readout.kind in {"count", "killed"} else 0.0
        positive = values[values > 0]
        ax.set_ylim(bottom=max(float(positive.min()), floor) / 2)
    handles = _draw_marks(ax, _marks(kb, result))
    ax.set_title(textwrap.fill(readout_title(kb, readout), 90), fontsize=10)
    ax.set_xlabel("time (days)")
    ax.set_ylabel(unit + (", log scale" if ax.get_yscale() == "log" else ""))
    ax.set_xlim(0, result.scenario.duration)
    lines, _ = ax.get_legend_handles_labels()
    ax.legend(
        handles=[*lines, *handles],
        fontsize=7,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.2),
        ncol=2,
        frameon=False,
    )
    fig.tight_layout()
    return fig


def _populations(kb: KnowledgeBase, result: ScenarioResult) -> str:
    parts = [
        f"{human(p.count)} {cells_label(kb, p.cell, p.state)}"
        + ("" if p.compartment == "tumour" else f" ({p.compartment.replace('_', ' ')})")
        for p in result.scenario.populations
    ]
    return "; ".join(parts)


def _side(kb: KnowledgeBase, readouts: dict[str, Readout], side: dict[str, Any]) -> str:
    if "arm" not in side:
        return human(float(side["value"]))
    readout = readouts[str(side["readout"])]
    if "relative_to" in side:
        return (
            f"{float(side['value']):.3g} times its value in {side['relative_to']} ({side['arm']})"
        )
    return f"{human(float(side['value']), readout_unit(readout))} in {side['arm']}"


def check_sentence(kb: KnowledgeBase, result: ScenarioResult, check: CheckResult) -> str:
    """A check in words: what was compared, the values, and whether it came out as claimed."""
    readouts = {r.name: r for r in result.scenario.readouts}
    left: dict[str, Any] = check.left
    right: dict[str, Any] = check.right
    what = readout_title(kb, readouts[str(left["readout"])])
    day = f"day {float(left['day']):g}"
    other = _side(kb, readouts, right)
    if "arm" in right and right.get("readout") != left["readout"]:
        other = f"{readout_title(kb, readouts[str(right['readout'])]).lower()}: {other}"
    if "day" in right and right["day"] != left["day"]:
        other += f" at day {float(right['day']):g}"
    factor = f"{check.factor:g} × " if check.factor != 1 else ""
    verdict = "as claimed" if check.passed else "contrary to the claim"
    if check.known_failure and not check.passed:
        verdict += f"; a known failure: {check.known_failure}"
    word = _OP_WORDS[check.op]
    return (
        f"{what}, {day}: {_side(kb, readouts, left)}, "
        f"{'' if check.passed else 'not '}{word} {factor}{other} ({verdict})."
    )


def summary_html(kb: KnowledgeBase, lib: Library, result: ScenarioResult) -> list[str]:
    """The report's opening: what was simulated and what it found, written from the
    scenario's description, arms, populations, rules and checks."""
    esc = html.escape
    sc = result.scenario
    rules = sorted({r for m in result.models.values() for r in m.rules_used})
    records = sorted({lib.rules[r].record for r in rules})
    arms = "; ".join(
        f"<b>{esc(a.name)}</b>" + (f" ({esc(a.description)})" if a.description else "")
        for a in sc.arms
    )
    passed = sum(c.passed for c in result.checks)
    known = sum(c.ok and not c.passed for c in result.checks)
    parts = [
        "<section id='summary'><h2>Summary</h2>",
        f"<p><b>What was simulated.</b> {esc(sc.description.strip())}</p>"
        if sc.description
        else "",
        f"<p>{len(sc.arms)} arm(s) over {sc.duration:g} days: {arms}. Starting cells: "
        f"{esc(_populations(kb, result))}. Mechanisms: {len(rules)} rule(s) built on "
        f"{len(records)} finding(s) of the reviews (listed under Evidence below).</p>",
    ]
    if result.checks:
        parts.append(
            f"<p><b>What it found.</b> {passed} of {len(result.checks)} check(s) of the "
            "reviews' claims hold in this run"
            + (
                f" ({known} known failure(s): claims the model does not yet reproduce)"
                if known
                else ""
            )
            + ":</p><ul>"
        )
        for c in result.checks:
            mark = (
                "<span class='pass'>✔</span>"
                if c.passed
                else "<span class='known'>✘ known failure</span>"
                if c.ok
                else "<span class='fail'>✘</span>"
            )
            claim = f"<b>{esc(c.claim)}</b> " if c.claim else f"<b>{esc(c.name)}</b>: "
            parts.append(f"<li>{mark} {claim}{esc(check_sentence(kb, result, c))}</li>")
        parts.append("</ul>")
    parts += _final_table(kb, result)
    parts.append("</section>")
    return parts


def _final_table(kb: KnowledgeBase, result: ScenarioResult) -> list[str]:
    esc = html.escape
    sc = result.scenario
    head = "".join(f"<th>{esc(a)}</th>" for a in _arms(result))
    rows = [
        f"<p><b>Where each arm ends</b> (day {sc.duration:g}):</p><table><tr><th>readout</th>"
        f"{head}</tr>"
    ]
    for r in sc.readouts:
        cells = "".join(
            f"<td>{esc(human(float(result.readouts[a][r.name][-1]), readout_unit(r)))}</td>"
            for a in _arms(result)
        )
        rows.append(f"<tr><td>{esc(readout_title(kb, r))}</td>{cells}</tr>")
    rows.append("</table>")
    return rows


def report_html(kb: KnowledgeBase, lib: Library, result: ScenarioResult) -> str:
    from .outputs import rules_used

    sc = result.scenario
    esc = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{esc(sc.title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{esc(sc.title)}</h1>",
        *summary_html(kb, lib, result),
        f"<p><small>Scenario <code>{esc(sc.id)}</code>, {sc.duration:g} days, seed "
        f"{result.seed} (deterministic), exotwin {__version__}.</small></p>",
        "<h2>Checks</h2><table><tr><th>check</th><th>claim</th><th>result</th></tr>",
    ]
    for c in result.checks:
        cls = "pass" if c.passed else "known" if c.ok else "fail"
        parts.append(
            f"<tr><td>{esc(c.name)}</td><td>{esc(c.claim)}</td>"
            f"<td class='{cls}'>{esc(c.describe())}</td></tr>"
        )
    parts.append("</table><h2>Readouts over time</h2>")
    for readout in sc.readouts:
        parts.append(
            f"<h3>{esc(readout_title(kb, readout))}</h3><p><small>readout "
            f"<code>{esc(readout.name)}</code> ({esc(readout.kind)}), "
            f"{esc(readout_unit(readout))}</small></p>"
        )
        parts.append(figure_svg(kb, result, readout))
    parts += _evidence(kb, lib, rules_used(kb, lib, result))
    parts.append("</body></html>")
    return "\n".join(parts)


def _evidence(kb: KnowledgeBase, lib: Library, rules: list[dict[str, Any]]) -> list[str]:
    """The evidence table behind every rule used, and the global parameters."""
    esc = html.escape
    parts = [
        "<h2>Evidence behind every rule used</h2><table><tr><th>rule</th><th>record"
        "</th><th>what the review reports</th><th>citation</th><th>parameters</th>"
        "<th>fields not stated by the review</th></tr>"
    ]
    for rule in rules:
        params = "<br>".join(
            f"{k} = {v['value']:g} {esc(v['unit'])} ({esc(v['source'])})"
            for k, v in rule["parameters"].items()
        )
        parts.append(
            f"<tr><td>{esc(rule['rule'])}</td><td>{esc(rule['record'])}</td>"
            f"<td>{esc(rule['summary'])}</td><td>seed {esc(rule['seed'])} &sect;"
            f"{esc(rule['section'])} {esc(rule['reference'])}</td><td>{params}</td>"
            f"<td>{not_stated_cell(rule['not_stated'])}</td></tr>"
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
    parts.append("</table>")
    return parts


def not_stated_cell(fields: list[dict[str, str]]) -> str:
    """The report cell listing a rule's fields that the review does not state."""
    lines = [f"{f['record']}: {f['field']} ({f['class']})" for f in fields]
    return "<br>".join(html.escape(line) for line in lines) or "none (all stated)"
