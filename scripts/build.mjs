#!/usr/bin/env node
// Bundles Mailroom's TypeScript (src/ and sandbox/) into dist/ with esbuild, so `npm start` and every
// `npx mailroom` command load two files instead of compiling ~1,400 modules at start-up.
// Dependencies stay external (loaded from node_modules). bin/mailroom.js uses the bundle only while
// it is newer than every source file, and falls back to compiling on the fly otherwise.
// It also builds the dashboard (web/, React + Vite) into web/dist, which the server serves at /.
// Usage: node scripts/build.mjs [--if-stale]
import { mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
const stamp = join(dist, "build-stamp.json");

export function newestSourceMtime() {
  let newest = 0;
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(full).mtimeMs);
    }
  };
  walk(join(root, "src"));
  walk(join(root, "sandbox", "src"));
  return newest;
}

export function isBundleFresh() {
  try {
    return statSync(stamp).mtimeMs >= newestSourceMtime();
  } catch {
    return false;
  }
}

const web = join(root, "web");

/** The dashboard build is stale when any file under web/src (or its config) is newer than web/dist. */
export function isDashboardFresh() {
  let newest = statSync(join(web, "index.html")).mtimeMs;
  newest = Math.max(newest, statSync(join(web, "vite.config.ts")).mtimeMs);
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else newest = Math.max(newest, statSync(full).mtimeMs);
    }
  };
  walk(join(web, "src"));
  try {
    return statSync(join(web, "dist", "index.html")).mtimeMs >= newest;
  } catch {
    return false;
  }
}

async function buildDashboard() {
  if (process.argv.includes("--if-stale") && isDashboardFresh()) return;
  let vite;
  try {
    vite = await import("vite");
  } catch {
    console.warn(
      "Vite is not installed (npm install without --omit=dev builds it); the dashboard is not built.",
    );
    return;
  }
  const started = performance.now();
  await vite.build({ configFile: join(web, "vite.config.ts"), logLevel: "warn" });
  if (!process.argv.includes("--quiet")) {
    console.log(`Built the dashboard into web/dist in ${Math.round(performance.now() - started)} ms`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildDashboard();
  if (process.argv.includes("--if-stale") && isBundleFresh()) process.exit(0);
  let esbuild;
  try {
    esbuild = await import("esbuild");
  } catch {
    console.warn("esbuild is not installed; Mailroom will compile its sources at start-up instead.");
    process.exit(0);
  }
  mkdirSync(dist, { recursive: true });
  const started = performance.now();
  await esbuild.build({
    entryPoints: { cli: join(root, "src/main/cli.ts"), sandbox: join(root, "sandbox/src/index.ts") },
    outdir: dist,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    splitting: false,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    sourcemap: "linked",
    logLevel: "warning",
  });
  writeFileSync(stamp, JSON.stringify({ builtAt: new Date().toISOString() }));
  if (!process.argv.includes("--quiet")) {
    console.log(`Bundled Mailroom into dist/ in ${Math.round(performance.now() - started)} ms`);
  }
}
