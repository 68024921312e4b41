// The build's staleness check (scripts/build.mjs), on a copy of the sources built into a temporary
// directory: a build is fresh right after it ran, and a change to any file it read makes it stale,
// so `npm start` rebuilds and bin/mailroom.js stops running an outdated bundle.
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  buildBundle,
  buildDashboard,
  isBundleFresh,
  isDashboardFresh,
  // @ts-expect-error: a plain ES module without type declarations
} from "../scripts/build.mjs";

const ROOT = join(import.meta.dirname, "..");

/** Rewrites a file with its own content: only its modification time changes. */
function touch(file: string): void {
  writeFileSync(file, readFileSync(file));
}

describe("build staleness", () => {
  let copy: string;

  before(async () => {
    copy = mkdtempSync(join(tmpdir(), "mailroom-build-"));
    for (const path of ["src", "sandbox/src", "web/src", "web/index.html", "web/vite.config.ts"])
      cpSync(join(ROOT, path), join(copy, path), { recursive: true });
    for (const file of ["package.json", "tsconfig.json"]) cpSync(join(ROOT, file), join(copy, file));
    symlinkSync(join(ROOT, "node_modules"), join(copy, "node_modules"), "dir");
    assert.equal(await buildBundle(copy), true);
    assert.equal(await buildDashboard(copy), true);
  });
  after(() => {
    if (copy) rmSync(copy, { recursive: true, force: true });
  });

  // One ordered story on one copy: each step leaves it as the next one expects.
  it("both builds are fresh right after they ran; a changed contracts file makes both stale", async () => {
    assert.equal(isBundleFresh(copy), true);
    assert.equal(isDashboardFresh(copy), true);

    touch(join(copy, "src/contracts/dashboard/constants.ts"));
    assert.equal(isBundleFresh(copy), false, "the server bundle imports the contracts");
    assert.equal(isDashboardFresh(copy), false, "the dashboard imports the contracts");

    assert.equal(await buildBundle(copy), true);
    assert.equal(await buildDashboard(copy), true);
    assert.equal(isBundleFresh(copy), true);
    assert.equal(isDashboardFresh(copy), true);

    // A file the browser takes only types from never reaches the bundler; it counts all the same.
    touch(join(copy, "src/contracts/dashboard/accounts.ts"));
    assert.equal(isBundleFresh(copy), false);
    assert.equal(isDashboardFresh(copy), false);
    await buildBundle(copy);
    await buildDashboard(copy);
  });

  it("a changed server file makes only the bundle stale; a changed page only the dashboard", () => {
    assert.equal(isBundleFresh(copy), true);
    assert.equal(isDashboardFresh(copy), true);
    touch(join(copy, "sandbox/src/index.ts"));
    assert.equal(isBundleFresh(copy), false);
    assert.equal(isDashboardFresh(copy), true);
    touch(join(copy, "web/src/pages/WebhooksPage.tsx"));
    assert.equal(isDashboardFresh(copy), false);
  });

  it("a missing output or a deleted input is stale, and so is a build without a stamp", async () => {
    await buildBundle(copy);
    assert.equal(isBundleFresh(copy), true);
    unlinkSync(join(copy, "dist/sandbox.mjs"));
    assert.equal(isBundleFresh(copy), false);
    await buildBundle(copy);
    rmSync(join(copy, "src/contracts/credential-check.ts"));
    assert.equal(isBundleFresh(copy), false);
    assert.equal(isDashboardFresh(copy), false);
    unlinkSync(join(copy, "dist/build-stamp.json"));
    assert.equal(isBundleFresh(copy), false);
  });
});
