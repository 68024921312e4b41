#!/usr/bin/env node
// Runs every *.test.ts under test/ and sandbox/test/ with Node's test runner (tsx loader).
// Usage: npm test [-- <substring filter>...]; npm run test:e2e runs test/e2e (real processes, real browser).
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const e2e = process.argv.includes("--e2e");
const roots = e2e ? ["test/e2e"] : ["test", "sandbox/test"];
const filters = process.argv.slice(2).filter((a) => a !== "--e2e");
const files = [];
function walk(dir) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of entries) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) {
      if ((e2e || name !== "e2e") && name !== "node_modules") walk(full);
    } else if (name.endsWith(".test.ts")) files.push(relative(process.cwd(), full));
  }
}
for (const root of roots) walk(root);
const selected = filters.length ? files.filter((f) => filters.some((x) => f.includes(x))) : files;
if (selected.length === 0) {
  console.error("no test files matched");
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-concurrency=2", "--test-reporter=spec", ...selected.sort()],
  { stdio: "inherit", env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? "silent" } },
);
process.exit(result.status ?? 1);
