// Network of cells and cargo (Cytoscape.js): click a node or an edge, or pick a node from the
// list (keyboard), to see the records behind it.
"use strict";

let cy = null;

function recordList(ids) {
  return el("ul", {}, ids.map((id) => el("li", {}, el("a", { href: `/record?id=${encodeURIComponent(id)}` }, id))));
}

function describe(element) {
  const d = element.data();
  const title = element.isNode()
    ? `${d.label} (${d.type === "cell_type" ? "cell type" : d.molecule_type})`
    : `${cy.getElementById(d.source).data("label")} ${d.relation} ${cy.getElementById(d.target).data("label")}`;
  show("details", el("h2", { id: "selected" }, title), el("p", {}, `${d.records.length} record(s)`), recordList(d.records));
  document.getElementById("node").value = element.isNode() ? d.id : "";
}

async function draw(query) {
  try {
    const data = await api(`/api/network${query ? "?" + query : ""}`);
    const nodes = data.elements.nodes;
    show("net-count", `${nodes.length} nodes, ${data.elements.edges.length} edges`);
    const select = document.getElementById("node");
    select.replaceChildren(option("", "choose a cell type or cargo…"),
      ...nodes.map((n) => n.data).sort((a, b) => a.label.localeCompare(b.label))
        .map((n) => option(n.id, `${n.label} (${n.type === "cell_type" ? "cell" : n.molecule_type})`)));
    if (cy) cy.destroy();
    cy = cytoscape({
      container: document.getElementById("cy"),
      elements: data.elements,
      layout: { name: "cose", animate: false, randomize: false, nodeRepulsion: 9000, idealEdgeLength: 70 },
      style: [
        { selector: "node", style: { label: "data(label)", "font-size": 9, "text-valign": "bottom",
          "background-color": "#D55E00", width: 14, height: 14 } },
        { selector: "node[type = 'cell_type']", style: { shape: "round-rectangle", "background-color": "#0072B2",
          width: 24, height: 18, "font-size": 11, "font-weight": "bold" } },
        { selector: "edge", style: { width: 1.4, "curve-style": "bezier", "target-arrow-shape": "triangle",
          "line-color": "#9aa5b1", "target-arrow-color": "#9aa5b1", "arrow-scale": 0.8 } },
        { selector: "edge[relation = 'reaches']", style: { "line-color": "#009E73", "target-arrow-color": "#009E73" } },
        { selector: ":selected", style: { "border-width": 3, "border-color": "#E69F00", "line-color": "#E69F00",
          "target-arrow-color": "#E69F00" } },
      ],
    });
    cy.on("tap", "node, edge", (event) => describe(event.target));
  } catch (error) {
    show("details", errorBox(error));
  }
}

document.getElementById("node").addEventListener("change", (event) => {
  const node = cy && event.target.value ? cy.getElementById(event.target.value) : null;
  if (!node || node.empty()) return;
  cy.elements().unselect();
  node.select();
  cy.animate({ center: { eles: node }, duration: 200 });
  describe(node);
});

setupFilters(document.getElementById("search"), draw);
