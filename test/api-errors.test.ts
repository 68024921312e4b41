import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createTestApp, type TestApp } from "./support/app.ts";

describe("API errors use Unipile's shape and content type", () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp(
      "sqlite",
      {},
      {
        routes: async (app) => {
          app.post("/api/v1/__echo", async (request) => ({ got: request.body }));
        },
      },
    );
  });
  after(async () => {
    await t.dispose();
  });

  function assertErrorShape(
    res: { statusCode: number; headers: Record<string, unknown>; json(): unknown },
    status: number,
    type: string,
  ) {
    assert.equal(res.statusCode, status);
    assert.equal(res.headers["content-type"], "application/json; charset=utf-8");
    const body = res.json() as Record<string, unknown>;
    assert.equal(body.status, status);
    assert.equal(body.type, type);
    assert.equal(typeof body.title, "string");
    return body;
  }

  it("a request without X-API-KEY gets 401 errors/missing_credentials", async () => {
    const res = await t.app.inject({ method: "GET", url: "/api/v1/accounts" });
    assertErrorShape(res, 401, "errors/missing_credentials");
  });

  it("a wrong or revoked key gets 401 errors/invalid_credentials", async () => {
    const wrong = await t.app.inject({
      method: "GET",
      url: "/api/v1/accounts",
      headers: { "x-api-key": "mr_nope" },
    });
    assertErrorShape(wrong, 401, "errors/invalid_credentials");
    const { key, summary } = await t.services.apiKeys.create("short-lived");
    const ok = await t.app.inject({ method: "GET", url: "/api/v1/accounts", headers: { "x-api-key": key } });
    assert.equal(ok.statusCode, 200);
    await t.services.apiKeys.revoke(summary.id);
    const revoked = await t.app.inject({
      method: "GET",
      url: "/api/v1/accounts",
      headers: { "x-api-key": key },
    });
    assertErrorShape(revoked, 401, "errors/invalid_credentials");
  });

  it("an empty database lists no accounts with a null cursor", async () => {
    const res = await t.app.inject({
      method: "GET",
      url: "/api/v1/accounts",
      headers: { "x-api-key": t.apiKey },
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers["content-type"], "application/json; charset=utf-8");
    assert.deepEqual(res.json(), { object: "AccountList", items: [], cursor: null });
  });

  it("the SDK's double slash after the host still routes", async () => {
    const res = await t.app.inject({
      method: "GET",
      url: "//api/v1/accounts",
      headers: { "x-api-key": t.apiKey },
    });
    assert.equal(res.statusCode, 200);
  });

  it("an unknown route gets 404 errors/resource_not_found", async () => {
    const res = await t.app.inject({
      method: "GET",
      url: "/api/v1/nothing-here",
      headers: { "x-api-key": t.apiKey },
    });
    assertErrorShape(res, 404, "errors/resource_not_found");
  });

  it("a schema violation gets 400 errors/invalid_parameters naming the field", async () => {
    const res = await t.app.inject({
      method: "GET",
      url: "/api/v1/accounts?limit=999",
      headers: { "x-api-key": t.apiKey },
    });
    const body = assertErrorShape(res, 400, "errors/invalid_parameters");
    assert.match(String(body.detail), /limit/);
  });

  it("a cursor that was not issued by Mailroom gets 400, not 500", async () => {
    const res = await t.app.inject({
      method: "GET",
      url: "/api/v1/accounts?cursor=%%%",
      headers: { "x-api-key": t.apiKey },
    });
    const body = assertErrorShape(res, 400, "errors/invalid_parameters");
    assert.match(String(body.detail), /cursor/);
  });

  it("malformed JSON gets 400 errors/malformed_request", async () => {
    const res = await t.app.inject({
      method: "POST",
      url: "/api/v1/__echo",
      headers: { "x-api-key": t.apiKey, "content-type": "application/json" },
      payload: "{not json",
    });
    assertErrorShape(res, 400, "errors/malformed_request");
  });
});

describe("unexpected failures leak no internals", () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp(
      "sqlite",
      {},
      {
        routes: async (app) => {
          app.get("/api/v1/__boom", async () => {
            throw new Error("secret internal detail at /srv/mailroom/x.ts:42");
          });
        },
      },
    );
  });
  after(async () => {
    await t.dispose();
  });

  it("a thrown error becomes 500 errors/unexpected_error without the message or stack", async () => {
    const res = await t.app.inject({
      method: "GET",
      url: "/api/v1/__boom",
      headers: { "x-api-key": t.apiKey },
    });
    assert.equal(res.statusCode, 500);
    const body = res.json() as Record<string, unknown>;
    assert.equal(body.type, "errors/unexpected_error");
    assert.doesNotMatch(res.body, /secret internal|x\.ts|stack/);
    assert.match(t.logs.text, /secret internal detail/, "the operator's log keeps the cause");
  });
});
