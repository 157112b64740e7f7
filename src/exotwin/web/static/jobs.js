// Jobs: every job of the jobs folder with its state; links to results; cancel.
"use strict";

function resultLink(job) {
  if (job.state !== "done") return "";
  const page = job.kind === "scenario" ? "/studio" : "/biopsy";
  return el("a", { href: `${page}?job=${job.id}` }, "results");
}

async function refresh() {
  try {
    const data = await api("/api/jobs");
    show("counts", Object.entries(data.counts).map(([k, v]) => `${v} ${k}`).join(" · "));
    show("jobs", el("table", {},
      el("thead", {}, el("tr", {}, ["job", "kind", "state", "progress", "created", ""].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, data.jobs.map((job) => el("tr", { "data-job": job.id, "data-state": job.state },
        el("td", {}, job.title, el("div", { class: "small muted" }, job.id)),
        el("td", {}, job.kind),
        el("td", { class: job.state === "failed" ? "fail" : job.state === "done" ? "pass" : "" },
          job.state, job.error ? el("div", { class: "small" }, job.error.message) : null),
        el("td", {}, `${Math.round(100 * job.progress)}% ${job.message || ""}`),
        el("td", {}, new Date(job.created * 1000).toLocaleString()),
        el("td", {}, resultLink(job), ["queued", "running"].includes(job.state)
          ? el("button", { type: "button", class: "secondary", "aria-label": `Cancel ${job.title}`,
              onclick: async () => { await api(`/api/jobs/${job.id}/cancel`, { method: "POST" }); refresh(); } }, "Cancel")
          : null))))));
  } catch (error) {
    show("jobs", errorBox(error));
  }
}

refresh();
setInterval(refresh, 2000);
