// One record: what it states, where the review says it, and what the model does with it.
"use strict";

function list(items) { return (items || []).length ? items.join(", ") : "–"; }

function cellText(ref) {
  if (!ref) return "–";
  const details = [ref.state, (ref.lines || []).join(", ")].filter(Boolean).join("; ");
  return `${ref.cell}${details ? " (" + details + ")" : ""}${ref.note ? " — " + ref.note : ""}`;
}

function fieldRows(r) {
  const rows = [["Kind", r.kind], ["Summary", r.summary]];
  if (r.kind === "biomarker") {
    rows.push(["Analyte", list(r.analyte)], ["Fluid", r.fluid], ["Source cell", cellText(r.source_cell)],
      ["Changes", r.changes.map((c) => `${c.comparison}: ${c.direction}`).join("; ")],
      ["Clinical uses", list(r.clinical_uses)]);
  } else {
    if (r.kind === "therapy") {
      rows.push(["Agent", r.agent], ["Modality", r.modality], ["Carrier", r.carrier || "–"],
        ["Agents given", list(r.agents)], ["Targeting", r.targeting || "–"], ["Indication", r.indication || "–"]);
    }
    rows.push(["Cargo", list(r.cargo)], ["Donor", cellText(r.donor)], ["Recipient", cellText(r.recipient)],
      ["Targets", list(r.targets)]);
    if (r.pathway) rows.push(["Pathway", r.pathway]);
    rows.push(["Effects", r.effects.map((e) => `${e.direction} ${e.phenotype}`).join("; ")]);
  }
  const c = r.context;
  rows.push(["Context", [c.subtypes.length ? "subtypes " + c.subtypes.join(", ") : "",
    c.cell_lines.length ? "cell lines " + c.cell_lines.join(", ") : "",
    c.organs.length ? "organs " + c.organs.join(", ") : "",
    c.models.length ? "evidence " + c.models.join(", ") : "",
    c.species.length ? "species " + c.species.join(", ") : "", c.cancer !== "breast" ? c.cancer : ""]
    .filter(Boolean).join("; ") || "–"], ["Tags", list(r.tags)]);
  return rows;
}

function provenance(data) {
  const p = data.provenance;
  if (p === null || p === undefined) {
    return el("p", { class: "muted" }, "This version of the graph records no field-level provenance flags; the curator's note says what was inferred.");
  }
  const entries = Object.entries(p).filter(([, v]) => v && v !== "stated");
  return entries.length
    ? el("ul", {}, entries.map(([field, v]) => el("li", {}, `${field}: ${typeof v === "string" ? v : JSON.stringify(v)}`)))
    : el("p", {}, "Every field is stated by the review.");
}

function dynamics(data) {
  if (!data.dynamics.length) return el("p", {}, "No model rule uses this record: it has no dynamics in the simulator.");
  return el("div", {}, el("p", {}, `Has dynamics: ${data.dynamics.length} model rule(s) rest on this record.`),
    el("table", {}, el("thead", {}, el("tr", {}, ["rule", "effects", "parameters"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, data.dynamics.map((d) => el("tr", {}, el("td", {}, d.rule),
        el("td", {}, list(d.effects.length ? d.effects : ["all of the record's"])),
        el("td", { class: "small" }, Object.entries(d.parameters).map(([k, v]) =>
          el("div", {}, `${k} = ${fmt(v.value)} ${v.unit} (${v.source})`))))))));
}

async function main() {
  const id = params().get("id") || "";
  try {
    const data = await api(`/api/records/${encodeURIComponent(id)}`);
    const r = data.record;
    document.title = `${r.id} · exotwin`;
    const section = data.source.section ? ` “${data.source.section}”` : "";
    show("record",
      el("h1", {}, r.id),
      el("p", {}, r.summary),
      el("h2", {}, "Citation"),
      el("dl", { class: "fields" },
        el("dt", {}, "Review"), el("dd", {}, `${data.source.id}: ${data.source.title}`),
        el("dt", {}, "Section"), el("dd", {}, `§${r.section}${section}`),
        el("dt", {}, "Reference"), el("dd", {}, r.reference + (r.table ? ` (${r.table})` : "")),
        el("dt", {}, "Curated in"), el("dd", {}, el("code", {}, data.file))),
      el("h3", {}, "Curator's note"), el("p", {}, r.curator_note || "–"),
      Object.keys(r.as_written).length ? el("p", {}, "As written in the review: ",
        Object.entries(r.as_written).map(([k, v]) => `${k} = “${v}”`).join("; ")) : null,
      el("h3", {}, "Fields not stated by the review"), provenance(data),
      el("h2", {}, "What it states"),
      el("dl", { class: "fields" }, fieldRows(r).map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
      el("h2", {}, "In the simulator"), dynamics(data),
      el("h3", {}, "Scenarios that use it"),
      data.scenarios.length ? el("ul", {}, data.scenarios.map((s) => el("li", {},
        el("a", { href: `/studio?scenario=${encodeURIComponent(s.id)}` }, s.title), ` (${s.id})`)))
        : el("p", {}, "No shipped scenario uses this record."),
      el("details", {}, el("summary", {}, "The record as JSON"), el("pre", { class: "small" }, JSON.stringify(r, null, 1))));
  } catch (error) {
    show("record", el("h1", {}, "Record"), errorBox(error), el("p", {}, el("a", { href: "/" }, "Back to the search")));
  }
}

main();
