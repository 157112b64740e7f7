// Liquid biopsy: upload a table, fit a classifier as a job, read ROC, calibration, model
// against baseline, panel and knowledge signatures; score new samples with the model.
"use strict";

let data = null;   // the uploaded expression table
let meta = null;   // the uploaded metadata table
let fitJob = null; // the finished fit whose model scores new files

async function upload(file) {
  return api(`/api/uploads?name=${encodeURIComponent(file.name)}`, {
    method: "POST", body: file, headers: { "Content-Type": "application/octet-stream" } });
}

function describeUpload() {
  const parts = [];
  for (const [what, u] of [["Data", data], ["Metadata", meta]]) {
    if (u) parts.push(el("p", {}, `${what}: `, el("strong", { class: "upload-name" }, u.name),
      ` (${(u.size / 1048576).toFixed(2)} MiB, ${u.format} table)` +
      (u.columns.length ? `; columns besides analytes: ${u.columns.slice(0, 12).join(", ")}` : "")));
  }
  show("upload", parts);
  const columns = [...new Set([...(data ? data.columns : []), ...(meta ? meta.columns : [])])];
  show("columns", columns.map((c) => option(c)));
  const label = document.getElementById("label");
  if (!label.value && columns.length) label.value = columns.find((c) => !/id|accession|sample/i.test(c)) || "";
  document.getElementById("fit").disabled = !data;
}

for (const [id, set] of [["data-file", (u) => { data = u; }], ["meta-file", (u) => { meta = u; }]]) {
  document.getElementById(id).addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    show("upload", el("p", {}, `Uploading ${file.name}…`));
    try { set(await upload(file)); describeUpload(); }
    catch (error) { show("upload", errorBox(error)); }
  });
}

function value(id) { const v = document.getElementById(id).value.trim(); return v === "" ? null : v; }
function number(id) { return Number(document.getElementById(id).value); }

document.getElementById("fit-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = { data: data.id, meta: meta ? meta.id : null, label: value("label"), positive: value("positive"),
    group: value("group"), id_column: value("id_column"), task: value("task"), normalise: value("normalise"),
    outer_folds: number("outer_folds"), inner_folds: number("inner_folds"), bootstrap: number("bootstrap"),
    panel: number("panel"), operating_point: value("operating_point"), seed: number("fit-seed") };
  try {
    const job = await api("/api/jobs/biopsy-fit", { json: body });
    history.replaceState(null, "", `/biopsy?job=${job.id}`);
    await follow(job.id);
  } catch (error) {
    show("status", errorBox(error));
  }
});

async function follow(id) {
  show("results");
  const job = await followJob(id, (j) => jobStatus(document.getElementById("status"), j));
  if (job.state === "done") await results(job);
}

function rocChart(result, figure) {
  const m = result.metrics;
  const div = el("div", { class: "chart", role: "img", "aria-label": "ROC curves of the model and the baseline" });
  figure.append(div);
  const traces = [];
  const names = { model: [m.final_model, m.cv_auc], baseline: [m.baseline.model, m.baseline.cv_auc] };
  Object.entries(result.roc).forEach(([name, curve], i) => traces.push({ x: curve.fpr, y: curve.tpr, mode: "lines",
    line: { color: PALETTE[i] }, name: `${name}: AUC ${interval(names[name][1])}` }));
  traces.push({ x: [0, 1], y: [0, 1], mode: "lines", line: { dash: "dot", color: "#888" }, name: "chance", hoverinfo: "skip" });
  Plotly.newPlot(div, traces, { height: 380, margin: { t: 30, r: 10, b: 44, l: 54 }, title: { text: "ROC (out of fold)", font: { size: 14 } },
    xaxis: { title: { text: "1 − specificity" }, range: [0, 1] }, yaxis: { title: { text: "sensitivity" }, range: [0, 1.01] },
    legend: { x: 0.3, y: 0.08 } }, { displaylogo: false, responsive: true });
  return div;
}

function calibrationChart(cal, figure) {
  const div = el("div", { class: "chart", role: "img", "aria-label": "Calibration: observed against predicted" });
  figure.append(div);
  Plotly.newPlot(div, [
    { x: cal.bins.map((b) => b.predicted), y: cal.bins.map((b) => b.observed), mode: "lines+markers", name: "model", line: { color: PALETTE[0] } },
    { x: [0, 1], y: [0, 1], mode: "lines", line: { dash: "dot", color: "#888" }, name: "perfect", hoverinfo: "skip" }],
  { height: 380, margin: { t: 30, r: 10, b: 44, l: 54 }, title: { text: `Calibration (slope ${fmt(cal.slope, 3)})`, font: { size: 14 } },
    xaxis: { title: { text: "predicted probability" }, range: [0, 1] }, yaxis: { title: { text: "observed fraction" }, range: [0, 1] },
    showlegend: false }, { displaylogo: false, responsive: true });
  return div;
}

function metricsTable(m) {
  const keys = Object.keys(m).filter((k) => k.startsWith("cv_"));
  return el("table", { id: "metrics" }, el("thead", {}, el("tr", {}, ["metric", "model", "baseline", "model − baseline", ""].map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, keys.map((k) => {
      const delta = (m.baseline.delta || {})[k];
      return el("tr", {}, el("td", {}, k.replace("cv_", "")), el("td", {}, interval(m[k], 4)),
        el("td", {}, interval(m.baseline[k], 4)), el("td", {}, delta ? interval(delta, 3) : "–"),
        el("td", {}, delta ? `${delta.direction}: ${delta.model_better ? "better" : "not better"}` : ""));
    })));
}

function signaturesTable(signatures) {
  return el("table", {}, el("thead", {}, el("tr", {}, ["signature", "measured / members", "missing", "result"].map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, signatures.map((s) => el("tr", {},
      el("td", {}, s.signature, el("div", { class: "small muted" }, s.description)),
      el("td", {}, `${s.measured.join(", ")} (${s.measured.length}/${s.members})`),
      el("td", { class: "small" }, s.missing.join(", ")),
      el("td", {}, s.result || ["auc", "p_value"].filter((k) => k in s).map((k) => `${k} ${fmt(s[k], 3)}`).join(", "))))));
}

async function results(job) {
  const result = await api(`/api/jobs/${job.id}/result`);
  const m = result.metrics;
  fitJob = job;
  const base = `/api/jobs/${job.id}/files`;
  const box = show("results", el("h2", {}, "Results"),
    m.cv_auc ? el("p", { class: "headline", id: "auc" }, `Cross-validated AUC ${interval(m.cv_auc)}`) : null,
    el("p", {}, `${m.n_samples} samples, ${m.n_analytes} analytes; classes ${JSON.stringify(m.class_counts)}; ` +
      `${m.cv.outer_folds} × ${m.cv.inner_folds} nested CV, ${m.cv.bootstrap} bootstrap resamples, seed ${m.cv.seed}.`),
    el("p", {}, "Chosen model: ", el("strong", {}, m.final_model), `; baseline: ${m.baseline.model}.`),
    (m.warnings || []).map((w) => el("p", { class: "error" }, w)),
    el("p", {}, el("a", { class: "button", href: `/api/jobs/${job.id}/archive`, download: true }, "Download the model folder (zip)"), " ",
      el("a", { href: `${base}/report.html` }, "report.html"), " · ", el("a", { href: `${base}/metrics.json` }, "metrics.json")),
    el("h3", {}, "Model against baseline (95% CIs, paired bootstrap)"), metricsTable(m));
  if (Object.keys(result.roc).length) {
    const roc = el("figure", {});
    const cal = el("figure", {});
    box.append(el("div", { class: "cols" }, roc, cal));
    rocChart(result, roc);
    calibrationChart(m.calibration, cal);
  }
  if (m.panel) {
    box.append(el("h3", {}, "Sparse panel"), el("p", {}, `${result.features.panel.join(", ")}: CV AUC ${interval(m.panel.cv_auc)}`));
  }
  if ((m.signatures || []).length) box.append(el("h3", {}, "Signatures from the evidence graph"), signaturesTable(m.signatures));
  document.getElementById("score").hidden = false;
}

document.getElementById("score-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = document.getElementById("score-file").files[0];
  if (!file || !fitJob) return;
  try {
    const u = await upload(file);
    const job = await api("/api/jobs/biopsy-predict", { json: { data: u.id, model_job: fitJob.id } });
    const done = await followJob(job.id, (j) => jobStatus(document.getElementById("score-status"), j));
    if (done.state !== "done") return;
    const p = await api(`/api/jobs/${job.id}/result`);
    const columns = Object.keys(p.predictions[0] || {});
    show("predictions", el("p", {}, `${p.count} predictions `, el("a", { href: `/api/jobs/${job.id}/files/predictions.csv` }, "predictions.csv")),
      el("table", {}, el("thead", {}, el("tr", {}, columns.map((c) => el("th", { scope: "col" }, c)))),
        el("tbody", {}, p.predictions.slice(0, 50).map((row) => el("tr", {}, columns.map((c) => el("td", {}, row[c])))))));
  } catch (error) {
    show("score-status", errorBox(error));
  }
});

async function main() {
  const health = await api("/api/health");
  show("limit", `up to ${Math.round(health.upload_limit / 1048576)} MiB`);
  const job = params().get("job");
  if (job) follow(job).catch((error) => show("status", errorBox(error)));
}

main();
