// Evidence explorer: search with filters, did-you-mean, results linking to record pages.
"use strict";

function cellsOf(row) {
  return row.recipient ? `${row.donor} → ${row.recipient}` : row.donor;
}

function effectsOf(row) {
  if (row.kind === "biomarker") return row.effect.replaceAll(";", "; ");
  const effects = row.effect.split(";");
  const directions = row.direction.split(";");
  return effects.map((e, i) => `${directions[i] || ""} ${e}`.trim()).join("; ");
}

async function runSearch(query) {
  document.getElementById("to-network").href = `/network${query ? "?" + query : ""}`;
  show("suggestions");
  try {
    const found = await api(`/api/search${query ? "?" + query : ""}`);
    show("count", `${found.count} record(s)`);
    if (found.suggestions.length) {
      show("suggestions", el("p", { class: "note" }, "Did you mean ",
        found.suggestions.map((s, i) => [i ? " or " : "", el("button", {
          type: "button", class: "secondary", onclick: () => {
            document.getElementById("q").value = s;
            document.getElementById("search").requestSubmit();
          } }, s)]), "?"));
    }
    const rows = found.records.map((row) => el("tr", {},
      el("td", {}, el("a", { href: `/record?id=${encodeURIComponent(row.id)}` }, row.id)),
      el("td", {}, row.kind),
      el("td", {}, row.cargo.replaceAll(";", ", ")),
      el("td", {}, cellsOf(row)),
      el("td", {}, effectsOf(row)),
      el("td", {}, `${row.seed} §${row.section} ${row.reference}`)));
    show("results", rows.length ? el("table", {},
      el("caption", { class: "muted small" }, "Records matching every criterion"),
      el("thead", {}, el("tr", {}, ["record", "kind", "cargo", "donor → recipient", "effect", "citation"]
        .map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows)) : null);
  } catch (error) {
    show("count");
    show("results", errorBox(error));
  }
}

setupFilters(document.getElementById("search"), runSearch);
