import assert from "node:assert/strict";
import { connect, createServer, type Server, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { createTestApp, type TestApp } from "./support/app.ts";
import { POSTGRES_ADMIN_URL } from "./support/databases.ts";
import { until } from "./support/until.ts";

describe("health, readiness, metrics and the API description", () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp("sqlite");
  });
  after(async () => {
    await t.dispose();
  });

  it("GET /health answers while the process is alive, without an API key", async () => {
    const res = await t.app.inject({ method: "GET", url: "/health" });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { status: "ok" });
  });

  it("GET /ready answers 200 when the database is reachable", async () => {
    const res = await t.app.inject({ method: "GET", url: "/ready" });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().status, "ready");
  });

  it("GET /metrics exposes Prometheus metrics including request durations", async () => {
    await t.app.inject({ method: "GET", url: "/api/v1/accounts", headers: { "x-api-key": t.apiKey } });
    const res = await t.app.inject({ method: "GET", url: "/metrics" });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers["content-type"]), /text\/plain/);
    assert.match(
      res.body,
      /mailroom_http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/accounts",status="200"\} \d+/,
    );
    assert.match(res.body, /mailroom_process_resident_memory_bytes/);
  });

  it("serves an OpenAPI 3.1 document generated from the route schemas, and a reference page", async () => {
    const res = await t.app.inject({ method: "GET", url: "/api/v1/openapi.json" });
    assert.equal(res.statusCode, 200);
    const doc = res.json();
    assert.equal(doc.openapi, "3.1.0");
    const list = doc.paths["/api/v1/accounts"].get;
    assert.ok(list.parameters.some((p: { name: string }) => p.name === "limit"));
    assert.ok(list.responses["200"]);
    assert.deepEqual(doc.components.securitySchemes["Access-Token"], {
      type: "apiKey",
      in: "header",
      name: "X-API-KEY",
    });
    const page = await t.app.inject({ method: "GET", url: "/docs/" });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<html/i);
  });
});

/** A TCP proxy in front of PostgreSQL that the test can cut and restore. */
async function startProxy(target: { host: string; port: number }) {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((client) => {
        const upstream = connect(target.port, target.host);
        sockets.add(client).add(upstream);
        client.pipe(upstream).pipe(client);
        const drop = () => {
          client.destroy();
          upstream.destroy();
        };
        client.on("error", drop).on("close", drop);
        upstream.on("error", drop).on("close", drop);
      });
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        port = (server!.address() as { port: number }).port;
        resolve();
      });
    });
  await listen();
  const cut = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      sockets.clear();
      if (!server?.listening) return resolve();
      server.close(() => resolve());
    });
  return { port, cut, restore: listen, close: cut };
}

describe("PostgreSQL going away mid-run", () => {
  let t: TestApp;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  before(async () => {
    const admin = new URL(POSTGRES_ADMIN_URL);
    proxy = await startProxy({ host: admin.hostname, port: Number(admin.port || 5432) });
    // Create the database directly, then connect Mailroom through the proxy.
    t = await createTestApp("postgres");
    await t.app.close();
    await t.services.close();
    const url = new URL((t.database.config as { url: string }).url);
    url.port = String(proxy.port);
    const { buildServices } = await import("../src/app/services.ts");
    const { buildApp } = await import("../src/http/app.ts");
    const { loadConfig } = await import("../src/config/config.ts");
    const { createLogger } = await import("../src/lib/logger.ts");
    const config = loadConfig({ DATA_DIR: t.dataDir, SANDBOX: "off", DATABASE_URL: url.toString() });
    const services = await buildServices(config, createLogger({ level: "silent" }));
    const app = await buildApp(services);
    await app.ready();
    const { key } = await services.apiKeys.create("pg");
    t = { ...t, app, services, apiKey: key };
  });
  after(async () => {
    await t.app.close();
    await t.services.close();
    await proxy.close();
    await t.database.drop();
  });

  it("/ready goes false and API requests answer 503 errors/service_unavailable, then recover without a restart", async () => {
    const ok = await t.app.inject({
      method: "GET",
      url: "/api/v1/accounts",
      headers: { "x-api-key": t.apiKey },
    });
    assert.equal(ok.statusCode, 200);

    await proxy.cut();
    const ready = await t.app.inject({ method: "GET", url: "/ready" });
    assert.equal(ready.statusCode, 503);
    assert.equal(ready.json().status, "unavailable");
    const down = await t.app.inject({
      method: "GET",
      url: "/api/v1/accounts?limit=5",
      headers: { "x-api-key": t.apiKey },
    });
    assert.equal(down.statusCode, 503);
    assert.equal(down.json().type, "errors/service_unavailable");
    assert.equal(down.headers["retry-after"], "5");
    assert.doesNotMatch(down.body, /ECONNREFUSED|127\.0\.0\.1/);

    await proxy.restore();
    const recovered = await until(
      "/ready to answer 200 again",
      async () => {
        const res = await t.app.inject({ method: "GET", url: "/ready" });
        return res.statusCode === 200 && res;
      },
      { intervalMs: 100 },
    );
    assert.equal(recovered.statusCode, 200);
    const again = await t.app.inject({
      method: "GET",
      url: "/api/v1/accounts",
      headers: { "x-api-key": t.apiKey },
    });
    assert.equal(again.statusCode, 200);
  });
});
