// The dashboard API's contract (src/contracts/dashboard) and the server agree: every endpoint of the
// table is a route with the same method, path and schemas, and no /dashboard/api route exists outside
// the table. The contracts stay a leaf, and the browser code loads none of TypeBox.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify from "fastify";
import { DASHBOARD_API, DASHBOARD_ENDPOINTS, DASHBOARD_PAGES } from "../src/contracts/dashboard/index.ts";
import { routeOf } from "../src/http/routes/dashboard/endpoint.ts";
import { dashboardRoutes } from "../src/http/routes/dashboard/index.ts";
import { createTestApp, type TestApp } from "./support/app.ts";

const ROOT = join(import.meta.dirname, "..");

interface Registered {
  method: string;
  url: string;
  schema: unknown;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => /\.tsx?$/.test(f))
    .map((f) => join(dir, f));
}

/** Module specifiers of a file's imports and re-exports, with whether each is type-only. */
function importsOf(file: string): { from: string; typeOnly: boolean }[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  return [...text.matchAll(/^(import|export)\s+(type\s+)?[^;]*?from\s+"([^"]+)"/gms)].map((m) => ({
    from: m[3]!,
    typeOnly: m[2] !== undefined,
  }));
}

describe("dashboard API contract", () => {
  let t: TestApp;
  const registered: Registered[] = [];

  before(async () => {
    t = await createTestApp("sqlite");
    // The same plugin buildApp registers, in an instance that records every route it adds.
    const probe = Fastify();
    probe.addHook("onRoute", (route) => {
      for (const method of [route.method].flat())
        if (method !== "HEAD") registered.push({ method, url: route.url, schema: route.schema });
    });
    await probe.register(dashboardRoutes(t.services));
    await probe.ready();
    await probe.close();
  });
  after(async () => {
    await t?.dispose();
  });

  it("the server registers every endpoint of the contract with its method, path and schemas", () => {
    for (const [key, endpoint] of Object.entries(DASHBOARD_ENDPOINTS)) {
      assert.equal(key, `${endpoint.method} ${endpoint.path}`);
      const url = `${DASHBOARD_API}${endpoint.path}`;
      const route = registered.find((r) => r.method === endpoint.method && r.url === url);
      assert.ok(route, `${endpoint.method} ${url} is in the contract but not registered`);
      assert.equal(route.schema, endpoint.schema, `${key} is registered with other schemas`);
      assert.ok(t.app.hasRoute({ method: endpoint.method, url }), `${key} is missing from the app`);
    }
  });

  it("every /dashboard/api route the server registers is in the contract", () => {
    const api = registered.filter((r) => r.url.startsWith(`${DASHBOARD_API}/`));
    assert.ok(api.length > 0);
    const keys = new Set(Object.keys(DASHBOARD_ENDPOINTS));
    for (const route of api) {
      const key = `${route.method} ${route.url.slice(DASHBOARD_API.length)}`;
      assert.ok(keys.has(key), `${route.method} ${route.url} is registered but not in the contract`);
    }
    assert.equal(api.length, keys.size);
  });

  it("the server answers every dashboard page with the app, so a reload never lands on a JSON 404", () => {
    const pages = registered.filter((r) => r.method === "GET" && !r.url.startsWith(`${DASHBOARD_API}/`));
    for (const path of Object.values(DASHBOARD_PAGES))
      assert.ok(
        pages.some((r) => r.url === path),
        `the SPA fallback lacks ${path}`,
      );
  });

  it("a handler's answer goes out through its contract's schema: fields outside it are never sent", async () => {
    const app = Fastify().withTypeProvider<TypeBoxTypeProvider>();
    const stored = { id: "k1", name: "n", prefix: "mr_", createdAt: 1, lastUsedAt: null, revokedAt: null };
    const withSecret = { ...stored, hash: "never sent" };
    app.route({
      ...routeOf(DASHBOARD_ENDPOINTS["GET /api-keys"]),
      handler: async () => ({ keys: [withSecret] }),
    });
    // Checked by `tsc --noEmit`: an answer that is not the contract's does not compile.
    app.route({
      ...routeOf(DASHBOARD_ENDPOINTS["GET /admins"]),
      // @ts-expect-error: GET /admins answers { admins, invites }
      handler: async () => ({ keys: [stored] }),
    });
    const res = await app.inject({ url: "/api-keys" });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { keys: [stored] });
    await app.close();
  });

  it("src/contracts imports nothing but typebox and its own files", () => {
    for (const file of sourceFiles("src/contracts"))
      for (const { from } of importsOf(file))
        assert.ok(from === "typebox" || from.startsWith("./") || from.startsWith("../"), `${file}: ${from}`);
    for (const file of sourceFiles("src/contracts"))
      for (const { from } of importsOf(file).filter((i) => i.from.startsWith("../")))
        assert.ok(
          !relative(join(ROOT, "src/contracts"), join(ROOT, file, "..", from)).startsWith(".."),
          `${file} reaches outside src/contracts: ${from}`,
        );
  });

  it("the browser code takes only types from the contracts, besides their import-free constants", () => {
    const runtime = new Set(["src/contracts/dashboard/constants.ts", "src/contracts/webhook-events.ts"]);
    for (const file of runtime)
      assert.deepEqual(importsOf(file), [], `${file} must import nothing (the browser loads it)`);
    let seen = 0;
    for (const file of sourceFiles("web/src"))
      for (const { from, typeOnly } of importsOf(file)) {
        if (!from.includes("src/contracts")) continue;
        seen++;
        const target = relative(ROOT, join(ROOT, file, "..", from));
        assert.ok(typeOnly || runtime.has(target), `${file} loads ${target} at run time`);
      }
    assert.ok(seen > 0);
  });
});
