// The search filters shared by the explorer and the network: options from /api/facets,
// state kept in the page address so that every view can be linked to.
"use strict";

const FILTER_NAMES = ["text", "kind", "cargo_type", "cell", "phenotype", "drug", "subtype", "seed"];

async function setupFilters(form, onChange) {
  const f = await api("/api/facets");
  const add = (id, items) => document.getElementById(id).append(...items);
  add("f-kind", f.kinds.map((k) => option(k)));
  add("f-cargo_type", f.cargo_types.map((k) => option(k)));
  add("f-cell", f.cell_types.map((c) => option(c.id, `${c.name} (${c.id})`)));
  add("f-phenotype", f.phenotypes.map((p) => option(p.id, p.name)));
  add("f-drug", f.drugs.map((d) => option(d)));
  add("f-subtype", f.subtypes.map((s) => option(s)));
  add("f-seed", f.seeds.map((s) => option(s.id, `${s.id}: ${s.title}`)));
  const given = params();
  for (const name of FILTER_NAMES) {
    const field = form.elements.namedItem(name);
    if (field && given.get(name)) field.value = given.get(name);
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const query = filterQuery(form);
    history.replaceState(null, "", `${location.pathname}${query ? "?" + query : ""}`);
    onChange(query);
  });
  form.addEventListener("reset", () => setTimeout(() => form.requestSubmit(), 0));
  onChange(filterQuery(form));
}

function filterQuery(form) {
  const query = new URLSearchParams();
  for (const name of FILTER_NAMES) {
    const field = form.elements.namedItem(name);
    if (field && field.value.trim()) query.set(name, field.value.trim());
  }
  return query.toString();
}
