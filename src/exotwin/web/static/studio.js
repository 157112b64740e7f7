// Scenario studio: pick or edit a scenario (validated at its lines as you type), run it as a
// job with live progress, chart the results, ask "what if", browse tissue snapshots.
"use strict";

const editor = document.getElementById("yaml");
let described = null;   // the last valid scenario as /api/scenarios/validate describes it
let validating = 0;

function gutter(badLines) {
  const count = editor.value.split("\n").length;
  const lines = [];
  for (let i = 1; i <= count; i++) lines.push(el("div", { class: badLines.has(i) ? "bad" : "" }, String(i)));
  show("gutter", lines);
  document.getElementById("gutter").scrollTop = editor.scrollTop;
}

function goToLine(line) {
  const text = editor.value.split("\n");
  const start = text.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
  editor.focus();
  editor.setSelectionRange(start, start + (text[line - 1] || "").length);
  editor.scrollTop = Math.max(0, (line - 5) * 18);
}

function describeScenario(d) {
  described = d;
  show("about", el("p", {}, el("strong", {}, d.title), ` (${d.id}): ${d.arms.length} arm(s), ` +
    `${d.checks.length} check(s), ${d.duration} days${d.tissue ? "; has a tissue section" : ""}.`));
  const solver = document.getElementById("solver");
  solver.querySelector("option[value=tissue]").disabled = !d.tissue;
  if (!d.tissue) solver.value = "compartment";
  show("arms", d.arms.map((a) => option(a.name)));
  const targets = [];
  for (const arm of d.arms) {
    for (const item of arm.interventions) {
      for (const [field, value] of Object.entries(item.fields)) {
        targets.push(option(JSON.stringify({ arm: arm.name, intervention: item.index, field }),
          `${arm.name}: ${item.type} ${field} = ${fmt(value)}`));
      }
    }
  }
  for (const p of d.parameters) {
    targets.push(option(JSON.stringify({ parameter: p.name }), `parameter ${p.name} = ${fmt(p.value)} ${p.unit}`));
  }
  const select = document.getElementById("wi-target");
  const previous = select.value;
  show(select, targets);
  if (previous) select.value = previous;
  whatIfRange();
}

function whatIfRange() {
  const value = document.getElementById("wi-target").value;
  if (!value || !described) return;
  const target = JSON.parse(value);
  const input = document.getElementById("wi-value");
  const p = target.parameter ? described.parameters.find((x) => x.name === target.parameter) : null;
  if (p) {
    input.min = p.low; input.max = p.high; input.value = p.value;
    show("wi-range", `range [${fmt(p.low)}, ${fmt(p.high)}] ${p.unit}; ${p.source}`);
  } else {
    input.removeAttribute("min"); input.removeAttribute("max");
    const arm = described.arms.find((a) => a.name === target.arm);
    input.value = arm.interventions[target.intervention].fields[target.field];
    show("wi-range", "checked against the scenario schema when applied");
  }
}

async function validate() {
  const mine = ++validating;
  try {
    const d = await api("/api/scenarios/validate", { json: { yaml: editor.value } });
    if (mine !== validating) return;
    gutter(new Set());
    show("problems", el("p", { class: "pass" }, "Valid scenario."));
    document.getElementById("run").disabled = false;
    describeScenario(d);
  } catch (error) {
    if (mine !== validating) return;
    const lines = new Set(error.problems.map((p) => p.line).filter(Boolean));
    gutter(lines);
    document.getElementById("run").disabled = true;
    show("problems", el("p", { class: "fail" }, `${error.problems.length || 1} problem(s):`),
      el("ul", { class: "problems" }, (error.problems.length ? error.problems : [{ message: error.message }]).map((p) =>
        el("li", {}, p.line ? el("button", { type: "button", onclick: () => goToLine(p.line) },
          `line ${p.line}${p.field ? " · " + p.field : ""}: ${p.message}`)
          : `${p.field ? p.field + ": " : ""}${p.message}`))));
  }
}

let timer = null;
editor.addEventListener("input", () => { gutter(new Set()); clearTimeout(timer); timer = setTimeout(validate, 350); });
editor.addEventListener("scroll", () => { document.getElementById("gutter").scrollTop = editor.scrollTop; });

async function loadShipped(id) {
  const d = await api(`/api/scenarios/${encodeURIComponent(id)}`);
  editor.value = d.yaml;
  gutter(new Set());
  show("problems", el("p", { class: "pass" }, "Valid scenario."));
  describeScenario(d);
}

document.getElementById("load").addEventListener("click", () => loadShipped(document.getElementById("shipped").value));
document.getElementById("file").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  if (!file) return;
  editor.value = await file.text();
  validate();
});
document.getElementById("wi-target").addEventListener("change", whatIfRange);

async function submit(yaml) {
  const arms = [...document.getElementById("arms").selectedOptions].map((o) => o.value);
  const solver = document.getElementById("solver").value;
  const body = { yaml, seed: Number(document.getElementById("seed").value || 0), solver,
    arms: solver === "tissue" ? arms : [] };
  try {
    const job = await api("/api/jobs/scenario", { json: body });
    history.replaceState(null, "", `/studio?job=${job.id}`);
    await follow(job.id);
  } catch (error) {
    show("status", errorBox(error));
  }
}

async function follow(id) {
  show("results");
  const job = await followJob(id, (j) => jobStatus(document.getElementById("status"), j));
  if (job.state === "done") await results(job.id);
}

document.getElementById("run-form").addEventListener("submit", (event) => { event.preventDefault(); submit(editor.value); });
document.getElementById("whatif").addEventListener("submit", async (event) => {
  event.preventDefault();
  const change = Object.assign(JSON.parse(document.getElementById("wi-target").value),
    { value: Number(document.getElementById("wi-value").value) });
  try {
    const d = await api("/api/scenarios/whatif", { json: { yaml: editor.value, change } });
    editor.value = d.yaml;
    gutter(new Set());
    describeScenario(d);
    submit(d.yaml);
  } catch (error) {
    show("status", errorBox(error));
  }
});

// ------------------------------------------------------------------ results

function checksTable(checks) {
  return el("table", { id: "checks" },
    el("thead", {}, el("tr", {}, ["check", "claim", "result", "left", "", "right", "effect (left / right)"]
      .map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, checks.map((c) => {
      const right = (c.factor || 1) * c.right.value;
      return el("tr", {},
        el("td", {}, c.name), el("td", {}, c.claim),
        el("td", { class: c.passed ? "pass" : "fail" }, c.passed ? "PASS" : "FAIL"),
        el("td", {}, c.left.arm ? `${c.left.readout}[${c.left.arm}, day ${c.left.day}] = ${fmt(c.left.value)}` : fmt(c.left.value)),
        el("td", {}, `${c.op}${c.factor && c.factor !== 1 ? " " + c.factor + " ×" : ""}`),
        el("td", {}, c.right.arm ? `${c.right.readout}[${c.right.arm}, day ${c.right.day}] = ${fmt(c.right.value)}` : fmt(c.right.value)),
        el("td", {}, right ? `${fmt(c.left.value / right, 3)} ×` : "–"));
    })));
}

function chart(r, data, arms, container) {
  const div = el("div", { class: "chart", role: "img", "aria-label": `Chart of ${r.name} over time, one line per arm` });
  const figure = el("figure", {}, div);
  container.append(figure);
  const dashes = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot"];
  const traces = arms.map((arm, i) => ({ x: data.series[arm].day, y: data.series[arm][r.name], name: arm,
    mode: "lines", line: { color: PALETTE[i % PALETTE.length], dash: dashes[i % dashes.length], width: Math.max(1.5, 3 - 0.5 * i) } }));
  const values = traces.flatMap((t) => t.y).filter((v) => v !== null && v > 0);
  const logAxis = r.kind === "count" || (values.length && Math.max(...values) / Math.min(...values) > 1e3);
  const shapes = [];
  arms.forEach((arm, i) => (data.doses[arm] || []).forEach((d) => shapes.push({ type: "line", x0: d.day, x1: d.day,
    yref: "paper", y0: 0, y1: 1, line: { color: PALETTE[i % PALETTE.length], width: 1, dash: "dot" } })));
  Plotly.newPlot(div, traces, { title: { text: r.title || r.name, font: { size: 14 }, x: 0.5, y: 0.98 }, margin: { t: 56, r: 10, b: 40, l: 60 },
    height: 320, shapes, xaxis: { title: { text: "time (days)" } },
    yaxis: { title: { text: r.unit || r.name }, type: logAxis ? "log" : "linear" },
    legend: { orientation: "h", y: 1.14, x: 0 } }, { displaylogo: false, responsive: true });
  figure.append(el("figcaption", { class: "small muted" },
    `${r.description || r.kind}${shapes.length ? "; dotted lines: doses and surgery, coloured by arm" : ""}`));
}

function rulesTable(rules) {
  return el("table", {}, el("thead", {}, el("tr", {}, ["rule", "record", "what the review reports", "citation", "parameters", "arms"]
    .map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rules.map((r) => el("tr", {}, el("td", {}, r.rule),
      el("td", {}, el("a", { href: `/record?id=${encodeURIComponent(r.record)}` }, r.record)),
      el("td", {}, r.summary), el("td", {}, `seed ${r.seed} §${r.section} ${r.reference}`),
      el("td", { class: "small" }, Object.entries(r.parameters).map(([k, v]) =>
        el("div", {}, `${k} = ${fmt(v.value)} ${v.unit} (${v.source})`))),
      el("td", {}, r.arms.join(", "))))));
}

async function snapshotView(job, data) {
  const arms = Object.keys(data.snapshots);
  if (!arms.length) return null;
  const box = el("div", { id: "snapshot" });
  const armSelect = el("select", { id: "snap-arm" }, arms.map((a) => option(a)));
  const slider = el("input", { id: "snap-day", type: "range", min: "0", step: "1", value: "0" });
  const fieldSelect = el("select", { id: "snap-field" });
  const dayLabel = el("output", { for: "snap-day" });
  const plot = el("div", { class: "chart", role: "img", "aria-label": "Tissue snapshot: cells over an exosome field" });
  async function draw() {
    const days = data.snapshots[armSelect.value];
    slider.max = String(days.length - 1);
    const day = days[Math.min(Number(slider.value), days.length - 1)];
    dayLabel.value = `day ${day}`;
    const snap = await api(`/api/jobs/${job.id}/snapshot?arm=${encodeURIComponent(armSelect.value)}&day=${day}`);
    const names = Object.keys(snap.fields);
    if (fieldSelect.options.length !== names.length) show(fieldSelect, names.map((n) => option(n)));
    const field = snap.fields[fieldSelect.value] || [];
    const nx = field.length ? field[0].length : 0;
    const axis = (n, lower) => Array.from({ length: n }, (_, i) => lower + (i + 0.5) * snap.dx);
    const types = [...new Set(snap.cells.cell)];
    const traces = [{ type: "heatmap", z: field, x: axis(nx, snap.lower[0]), y: axis(field.length, snap.lower[1]),
      colorscale: "Viridis", colorbar: { title: { text: fieldSelect.value } }, name: fieldSelect.value }];
    types.forEach((t, i) => {
      const idx = snap.cells.cell.map((c, j) => (c === t ? j : -1)).filter((j) => j >= 0);
      traces.push({ type: "scatter", mode: "markers", name: t, x: idx.map((j) => snap.cells.x[j]),
        y: idx.map((j) => snap.cells.y[j]), marker: { size: 4, color: PALETTE[i % PALETTE.length] } });
    });
    Plotly.react(plot, traces, { height: 520, margin: { t: 20, r: 10, b: 40, l: 50 },
      xaxis: { title: { text: "x (µm)" } }, yaxis: { title: { text: "y (µm)" }, scaleanchor: "x" },
      legend: { orientation: "h" } }, { displaylogo: false, responsive: true });
  }
  for (const control of [armSelect, slider, fieldSelect]) control.addEventListener("input", draw);
  show(box, el("h2", {}, "Tissue snapshots"), el("div", { class: "actions" },
    el("div", {}, el("label", { for: "snap-arm" }, "Arm"), armSelect),
    el("div", {}, el("label", { for: "snap-day" }, "Snapshot"), slider, dayLabel),
    el("div", {}, el("label", { for: "snap-field" }, "Exosome field"), fieldSelect)), plot);
  setTimeout(draw, 0);
  return box;
}

async function results(id) {
  const data = await api(`/api/jobs/${id}/result`);
  const s = data.summary;
  const arms = Object.keys(data.series);
  const base = `/api/jobs/${id}/files`;
  const checks = s.checks || [];
  const box = show("results",
    el("h2", {}, `Results: ${s.title || s.scenario}`),
    el("p", {}, el("a", { class: "button", href: `/api/jobs/${id}/archive`, download: true }, "Download the run folder (zip)"), " ",
      data.summary.rules ? el("a", { href: `${base}/report.html` }, "report.html") : null, " · ",
      el("a", { href: `${base}/timeseries.csv` }, "timeseries.csv"), " · ", el("a", { href: `${base}/summary.json` }, "summary.json")),
    el("h3", {}, `Checks: ${checks.filter((c) => c.passed).length} of ${checks.length} pass`),
    checks.length ? checksTable(checks) : el("p", { class: "muted" }, "No checks (run every arm to evaluate them)."),
    el("h3", {}, "Readouts"), el("div", { id: "charts" }));
  const charts = document.getElementById("charts");
  for (const r of data.readouts) chart(r, data, arms, charts);
  if (s.rules) box.append(el("h3", {}, "Evidence and parameters behind every rule"), rulesTable(s.rules));
  if (data.snapshots) box.append(await snapshotView(data.job, data));
}

async function main() {
  const list = await api("/api/scenarios");
  show("shipped", list.map((s) => option(s.id, `${s.title} (${s.id}${s.tissue ? ", tissue" : ""})`)));
  const given = params();
  const start = given.get("scenario") || "nf-to-caf-mir9-mir125b";
  if (list.some((s) => s.id === start)) document.getElementById("shipped").value = start;
  const job = given.get("job");
  if (job) {
    try {
      const info = await api(`/api/jobs/${encodeURIComponent(job)}`);
      if (info.params.scenario && list.some((s) => s.id === info.params.scenario)) {
        document.getElementById("shipped").value = info.params.scenario;
      }
    } catch (error) { show("status", errorBox(error)); }
  }
  await loadShipped(document.getElementById("shipped").value);
  if (job) follow(job).catch((error) => show("status", errorBox(error)));
}

main();
