#!/usr/bin/env node
// Bundles Mailroom's TypeScript (src/ and sandbox/) into dist/ with esbuild, so `npm start` and every
// `npx mailroom` command load two files instead of compiling ~1,400 modules at start-up.
// Dependencies stay external (loaded from node_modules). It also builds the dashboard (web/, React +
// Vite) into web/dist, which the server serves at /.
// Each build writes a stamp listing the source files it read (esbuild's metafile, Rollup's module
// ids) and when it started; a build is fresh while none of those files changed since. bin/mailroom.js
// runs the bundle only while it is fresh, and compiles the sources on the fly otherwise.
// Usage: node scripts/build.mjs [--if-stale] [--quiet]
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { isAbsolute, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

export const BUNDLE_STAMP = "dist/build-stamp.json";
export const DASHBOARD_STAMP = "web/dist/build-stamp.json";

/**
 * Whether the build a stamp describes is up to date: its outputs exist and none of its inputs changed
 * (or disappeared) after the build started. A missing or older stamp means stale.
 */
export function isFresh(stampFile, root = ROOT) {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(join(root, stampFile), "utf8"));
  } catch {
    return false;
  }
  if (typeof stamp.startedAt !== "number" || !Array.isArray(stamp.inputs) || !Array.isArray(stamp.outputs))
    return false;
  try {
    if (!stamp.outputs.every((file) => existsSync(join(root, file)))) return false;
    return stamp.inputs.every((file) => statSync(join(root, file)).mtimeMs <= stamp.startedAt);
  } catch {
    return false;
  }
}

export const isBundleFresh = (root = ROOT) => isFresh(BUNDLE_STAMP, root);
export const isDashboardFresh = (root = ROOT) => isFresh(DASHBOARD_STAMP, root);

/** Every file under a directory, relative to root. */
function filesUnder(root, dir) {
  const files = [];
  const walk = (abs) => {
    for (const entry of readdirSync(abs, { withFileTypes: true })) {
      const full = join(abs, entry.name);
      if (entry.isDirectory()) walk(full);
      else files.push(relative(root, full));
    }
  };
  if (existsSync(join(root, dir))) walk(join(root, dir));
  return files;
}

/** Source files of the project among a bundler's inputs: no dependencies, no virtual modules. */
function projectFiles(root, ids) {
  const files = new Set();
  for (const id of ids) {
    if (id.startsWith("\0") || id.includes(`${sep}node_modules${sep}`) || id.startsWith("node_modules/"))
      continue;
    const path = id.split("?")[0];
    const abs = isAbsolute(path) ? path : join(root, path);
    if (existsSync(abs) && statSync(abs).isFile()) files.add(relative(root, abs).split(sep).join("/"));
  }
  return [...files].sort();
}

function writeStamp(root, stampFile, stamp) {
  writeFileSync(join(root, stampFile), `${JSON.stringify(stamp, null, 1)}\n`);
}

/**
 * Dependencies bundled into dist/: pure ESM packages without dependencies of their own, whose many
 * small modules (~640 files together) cost more to resolve and link one by one at start-up than
 * the code itself. Every other package is loaded from node_modules.
 */
const BUNDLED_PACKAGES = ["typebox", "kysely"];

/** Bare imports stay external, except the packages above. */
function dependenciesExceptBundled() {
  return {
    name: "dependencies-except-bundled",
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        const parts = args.path.split("/");
        const name = args.path.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
        return BUNDLED_PACKAGES.includes(name) ? undefined : { path: args.path, external: true };
      });
    },
  };
}

/** dist/cli.mjs and dist/sandbox.mjs; false when esbuild is not installed. */
export async function buildBundle(root = ROOT) {
  let esbuild;
  try {
    esbuild = await import("esbuild");
  } catch {
    return false;
  }
  // Chunks are named by content hash: the previous build's are removed so dist/ holds one build.
  rmSync(join(root, "dist"), { recursive: true, force: true });
  mkdirSync(join(root, "dist"), { recursive: true });
  const startedAt = Date.now();
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: { cli: join(root, "src/main/cli.ts"), sandbox: join(root, "sandbox/src/index.ts") },
    outdir: join(root, "dist"),
    outExtension: { ".js": ".mjs" },
    bundle: true,
    // A dynamic import() stays one: what only some configurations use (scaled mode's ioredis and
    // BullMQ) is a chunk loaded when needed, not code every start-up parses and links.
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
    platform: "node",
    format: "esm",
    target: "node20",
    plugins: [dependenciesExceptBundled()],
    sourcemap: "linked",
    logLevel: "warning",
    metafile: true,
  });
  writeStamp(root, BUNDLE_STAMP, {
    startedAt,
    outputs: Object.keys(result.metafile.outputs)
      .filter((file) => file.endsWith(".mjs"))
      .map((file) => relative(root, join(root, file)).split(sep).join("/"))
      .sort(),
    // An update of a bundled package changes its package.json, which makes the bundle stale.
    inputs: [
      ...projectFiles(root, Object.keys(result.metafile.inputs)),
      ...BUNDLED_PACKAGES.map((name) => `node_modules/${name}/package.json`),
      // This script: a change to how the bundle is made makes it stale too.
      relative(root, fileURLToPath(import.meta.url))
        .split(sep)
        .join("/"),
    ],
  });
  return true;
}

/** web/dist; false when Vite is not installed. */
export async function buildDashboard(root = ROOT) {
  let vite;
  try {
    vite = await import("vite");
  } catch {
    return false;
  }
  const startedAt = Date.now();
  const result = await vite.build({ configFile: join(root, "web/vite.config.ts"), logLevel: "warn" });
  const ids = [];
  for (const output of Array.isArray(result) ? result : [result])
    for (const item of output.output ?? []) if (item.type === "chunk") ids.push(...item.moduleIds);
  // Type-only imports never reach the bundler, yet a change there is a change to the dashboard's
  // code: web/src and the contracts it takes its types from count whole.
  const declared = [
    "web/index.html",
    "web/vite.config.ts",
    ...filesUnder(root, "web/src"),
    ...filesUnder(root, "src/contracts"),
  ];
  writeStamp(root, DASHBOARD_STAMP, {
    startedAt,
    outputs: ["web/dist/index.html"],
    inputs: projectFiles(root, [...ids, ...declared]),
  });
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const ifStale = process.argv.includes("--if-stale");
  const quiet = process.argv.includes("--quiet");
  if (!ifStale || !isDashboardFresh()) {
    const started = performance.now();
    if (!(await buildDashboard()))
      console.warn(
        "Vite is not installed (npm install without --omit=dev builds it); the dashboard is not built.",
      );
    else if (!quiet)
      console.log(`Built the dashboard into web/dist in ${Math.round(performance.now() - started)} ms`);
  }
  if (!ifStale || !isBundleFresh()) {
    const started = performance.now();
    if (!(await buildBundle()))
      console.warn("esbuild is not installed; Mailroom will compile its sources at start-up instead.");
    else if (!quiet)
      console.log(`Bundled Mailroom into dist/ in ${Math.round(performance.now() - started)} ms`);
  }
}
