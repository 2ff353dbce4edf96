// Lay out a Graphviz DOT graph with `dot` and write it as SVG (`gkeml diagram ENV --format svg`).
// Graphviz is the WebAssembly build in the npm package @viz-js/viz (pinned in package.json; no
// browser, no native Graphviz, no install script).
//
//   node gkeml/diagram_svg.mjs ROOT < diagram.dot > diagram.svg
//
// ROOT is the directory whose node_modules holds @viz-js/viz (the gkeml package may be installed
// apart from it). Exit 0 with the SVG on stdout (Graphviz's warnings, if any, on stderr); 1 when
// Graphviz refuses the graph, its messages on stderr; 2 when @viz-js/viz cannot be loaded.
import { createRequire } from "node:module";
import { join } from "node:path";

const [root] = process.argv.slice(2);
let instance;
try {
  // resolved as a file in ROOT would resolve it: ROOT/node_modules/@viz-js/viz (its CommonJS build)
  ({ instance } = createRequire(join(root ?? ".", "gkeml-diagram.js"))("@viz-js/viz"));
} catch (err) {
  console.error(`cannot load @viz-js/viz from ${join(root ?? ".", "node_modules")}: ${err.message}`);
  process.exit(2);
}

const chunks = [];
for await (const chunk of process.stdin) {
  chunks.push(chunk);
}
const viz = await instance();
const result = viz.render(Buffer.concat(chunks).toString("utf8"), { format: "svg", engine: "dot" });
for (const problem of result.errors) {
  console.error(`graphviz ${viz.graphvizVersion}: ${problem.level ?? "error"}: ${problem.message.trim()}`);
}
if (result.status !== "success") {
  process.exit(1);
}
process.stdout.write(result.output);
