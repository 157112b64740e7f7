// Load an exotwin Cytoscape.js export in headless Cytoscape and print counts as JSON.
const fs = require("fs");
const cytoscape = require("cytoscape");
const data = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const cy = cytoscape({ headless: true, elements: data.elements });
const kinds = {};
cy.nodes().forEach((n) => { kinds[n.data("type")] = (kinds[n.data("type")] || 0) + 1; });
const dangling = cy.edges().filter((e) => e.source().empty() || e.target().empty()).length;
console.log(JSON.stringify({ nodes: cy.nodes().length, edges: cy.edges().length, kinds, dangling }));
