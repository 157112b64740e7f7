// Shared helpers of every page: API calls with typed errors, safe DOM building, job polling.
"use strict";

class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status; this.field = e.field || ""; this.type = e.type || "";
    this.problems = e.problems || [];
  }
}

async function api(path, options = {}) {
  const init = Object.assign({ headers: {} }, options);
  if (init.json !== undefined) {
    init.method = init.method || "POST";
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(init.json);
    delete init.json;
  }
  const response = await fetch(path, init);
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

// el("a", {href: "/x", class: "y"}, "text", child): text is always set as text, never as HTML
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function show(target, ...children) {
  const node = typeof target === "string" ? document.getElementById(target) : target;
  node.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined));
  return node;
}

function errorBox(error) {
  const lines = (error.problems || []).map((p) =>
    el("li", {}, `${p.file ? p.file + ":" : ""}${p.line ? "line " + p.line + ": " : ""}` +
      `${p.field ? p.field + ": " : ""}${p.message}`));
  return el("div", { class: "error", role: "alert" },
    el("strong", {}, error.field ? `${error.field}: ` : ""), error.message,
    lines.length > 1 ? el("ul", {}, lines) : null);
}

function fmt(value, digits = 4) {
  if (value === null || value === undefined) return "–";
  if (typeof value !== "number") return String(value);
  return Math.abs(value) >= 1e5 || (Math.abs(value) < 1e-3 && value !== 0)
    ? value.toExponential(2) : Number(value.toPrecision(digits)).toString();
}

// value [low, high] with a fixed number of decimals (metrics), or significant digits (others)
function interval(m, digits = 3) {
  if (!m) return "–";
  const small = [m.value, m.ci_low, m.ci_high].every((v) => typeof v === "number" && Math.abs(v) <= 1 && Math.abs(v) >= 1e-3);
  const f = (v) => (small ? v.toFixed(digits) : fmt(v, digits));
  return `${f(m.value)} [${f(m.ci_low)}, ${f(m.ci_high)}]`;
}

// Poll a job until it ends; onUpdate(job) after each poll. Resolves with the final job.
async function followJob(id, onUpdate, every = 500) {
  for (;;) {
    const job = await api(`/api/jobs/${id}`);
    onUpdate(job);
    if (["done", "failed", "cancelled"].includes(job.state)) return job;
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}

// A status line with a labelled progress bar, the job's message and a cancel button.
function jobStatus(container, job) {
  const percent = Math.round(100 * job.progress);
  const cancel = ["queued", "running"].includes(job.state)
    ? el("button", { class: "secondary", type: "button", onclick: async () => {
        try { await api(`/api/jobs/${job.id}/cancel`, { method: "POST" }); }
        catch (error) { show(container, errorBox(error)); }
      } }, "Cancel job")
    : null;
  show(container, el("div", { class: "status" },
    el("span", { id: "job-state", "data-state": job.state }, `Job ${job.state}`),
    el("progress", { max: "100", value: String(percent), "aria-label": "Job progress" }),
    el("span", {}, `${percent}% · ${job.message || ""}`), cancel,
    job.error ? errorBox(job.error) : null));
}

const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"];

function option(value, label) { return el("option", { value }, label || value); }

function params() { return new URLSearchParams(window.location.search); }
