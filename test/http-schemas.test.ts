// Route schemas are compiled on each route's first request in production (a start-up does not pay for
// routes it never serves). These tests keep the guarantee that every schema compiles, and that a
// schema compiled late validates, coerces and serializes exactly as one compiled at start.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance, InjectOptions } from "fastify";
import { buildApp } from "../src/http/app.ts";
import { createTestApp, type TestApp } from "./support/app.ts";

describe("route schemas", () => {
  let t: TestApp;
  let atStart: FastifyInstance;

  before(async () => {
    t = await createTestApp();
    atStart = await buildApp(t.services, { compileSchemas: "at-start" });
    await atStart.ready();
  });
  after(async () => {
    await atStart?.close();
    await t?.dispose();
  });

  it("every route's validators and serializers compile (the app is ready with all of them compiled at start)", () => {
    assert.ok(atStart.printRoutes().includes("accounts"));
  });

  it("a schema compiled on first use answers exactly like one compiled at start", async () => {
    const auth = { "x-api-key": t.apiKey };
    const requests: InjectOptions[] = [
      { method: "GET", url: "/api/v1/accounts", headers: auth },
      { method: "GET", url: "/api/v1/accounts?limit=7", headers: auth },
      { method: "GET", url: "/api/v1/accounts?limit=0", headers: auth },
      { method: "GET", url: "/api/v1/accounts?limit=abc", headers: auth },
      { method: "GET", url: "/api/v1/accounts?limit=251", headers: auth },
      {
        method: "POST",
        url: "/api/v1/hosted/accounts/link",
        headers: { ...auth, "content-type": "application/json" },
        payload: { type: "create" },
      },
      {
        method: "POST",
        url: "/api/v1/hosted/accounts/link",
        headers: { ...auth, "content-type": "application/json" },
        payload: { type: "create", providers: "*", api_url: "http://localhost", expiresOn: 12 },
      },
      { method: "GET", url: "/api/v1/webhooks", headers: auth },
    ];
    // Twice: the first request compiles, the second reuses what was compiled.
    for (const round of [1, 2]) {
      for (const request of requests) {
        const late = await t.app.inject(request);
        const early = await atStart.inject(request);
        const what = `${request.method} ${request.url} (round ${round})`;
        assert.equal(late.statusCode, early.statusCode, what);
        assert.equal(late.headers["content-type"], early.headers["content-type"], what);
        assert.equal(late.body, early.body, what);
      }
    }
  });
});
