// Parses every ```mermaid block of the given Markdown files with Mermaid's own parser, the
// one GitHub renders with, so a generated diagram that would not render fails a test.
// Usage: node tools/docgen/check_mermaid.mjs README.md docs/*.md
// Prints "<file>: <n> diagrams" for each file, or "<file>: diagram <i>: <error>"; exit 1 on any error.
import fs from "node:fs";
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const mermaid = (await import("mermaid")).default;
mermaid.initialize({ startOnLoad: false });

let failures = 0;
for (const file of process.argv.slice(2)) {
  const blocks = [...fs.readFileSync(file, "utf8").matchAll(/```mermaid\n([\s\S]*?)```/g)].map((m) => m[1]);
  for (const [index, block] of blocks.entries()) {
    try {
      await mermaid.parse(block);
    } catch (error) {
      failures += 1;
      console.log(`${file}: diagram ${index + 1}: ${String(error.message ?? error).split("\n").join(" ")}`);
    }
  }
  console.log(`${file}: ${blocks.length} diagrams`);
}
process.exit(failures ? 1 : 0);
