// Every answer under /api/v1 that is not a success has Unipile's error shape and the JSON content type,
// whoever produced it: the router, Fastify's body parsers, Node's HTTP parser, a draining server.
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import type { InjectOptions } from "fastify";
import { AppError } from "../src/lib/errors.ts";
import { translateGraphError } from "../src/providers/microsoft/graph-errors.ts";
import { createTestApp, type TestApp } from "./support/app.ts";

type Res = { statusCode: number; headers: Record<string, unknown>; body: string };

function assertUnipileError(res: Res, status: number, type: string, detail?: RegExp): void {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(res.headers["content-type"], "application/json; charset=utf-8");
  const body = JSON.parse(res.body) as Record<string, unknown>;
  assert.equal(body.status, status);
  assert.equal(body.type, type);
  assert.equal(typeof body.title, "string");
  assert.equal(typeof body.detail, "string");
  if (detail) assert.match(String(body.detail), detail);
}

/** One raw HTTP/1.1 exchange (or several pipelined): what Node's parser and the socket see. */
function rawExchange(port: number, request: string, then?: Promise<string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.write(request);
      then?.then((more) => socket.write(more));
    });
    let data = "";
    socket.on("data", (chunk) => (data += chunk.toString("utf8")));
    socket.on("error", reject);
    socket.on("close", () => resolve(data));
  });
}

function parseRaw(raw: string): Res {
  const [head = "", body = ""] = raw.split("\r\n\r\n");
  const [statusLine = "", ...lines] = head.split("\r\n");
  const headers: Record<string, unknown> = {};
  for (const line of lines) {
    const i = line.indexOf(":");
    headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return { statusCode: Number(statusLine.split(" ")[1]), headers, body };
}

describe("error answers under /api/v1 have Unipile's shape, whatever produced them", () => {
  let t: TestApp;
  let port: number;
  let release: () => void = () => {};
  let entered: () => void = () => {};
  const slowEntered = new Promise<void>((resolve) => {
    entered = resolve;
  });
  let answered: () => void = () => {};
  const probeAnswered = new Promise<void>((resolve) => {
    answered = resolve;
  });
  let draining: () => void = () => {};
  const drainStarted = new Promise<void>((resolve) => {
    draining = resolve;
  });
  before(async () => {
    t = await createTestApp(
      "sqlite",
      {},
      {
        routes: async (app) => {
          app.addHook("preClose", async () => draining());
          // Runs for every reply to this plugin's routes, including one sent by an onRequest hook.
          app.addHook("onSend", async (request, _reply, payload) => {
            if (request.url === "/api/v1/__probe") answered();
            return payload;
          });
          app.get("/api/v1/__probe", async () => ({ ok: true }));
          app.post("/api/v1/__small", { bodyLimit: 16 }, async () => ({ ok: true }));
          app.get("/api/v1/__throttled", async () => {
            throw translateGraphError(429, { error: { code: "TooManyRequests" } }, { retryAfterSeconds: 3 });
          });
          app.get("/api/v1/__slow", async () => {
            await new Promise<void>((resolve) => {
              release = resolve;
              entered();
            });
            return { ok: true };
          });
        },
      },
    );
    await t.app.listen({ port: 0, host: "127.0.0.1" });
    port = (t.app.server.address() as { port: number }).port;
  });
  after(async () => {
    await t.dispose();
  });

  const key = () => ({ "x-api-key": t.apiKey });
  const cases: {
    name: string;
    request: () => InjectOptions;
    status: number;
    type: string;
    detail?: RegExp;
  }[] = [
    {
      name: "404: an unknown route",
      request: () => ({ method: "GET", url: "/api/v1/nothing-here", headers: key() }),
      status: 404,
      type: "errors/resource_not_found",
    },
    {
      name: "404 (no 405): a method the route does not have",
      request: () => ({ method: "PATCH", url: "/api/v1/accounts", headers: key() }),
      status: 404,
      type: "errors/resource_not_found",
    },
    {
      name: "414 → 400: a path parameter over the router's 2048 characters",
      request: () => ({ method: "GET", url: `/api/v1/emails/${"a".repeat(3000)}`, headers: key() }),
      status: 400,
      type: "errors/too_many_characters",
      detail: /2048 characters/,
    },
    {
      name: "400: a path with a broken percent-encoding",
      request: () => ({ method: "GET", url: "/api/v1/emails/%E0%A4%A", headers: key() }),
      status: 400,
      type: "errors/invalid_parameters",
      detail: /percent-encoded/,
    },
    {
      name: "413 → 400: a body over the route's limit",
      request: () => ({
        method: "POST",
        url: "/api/v1/__small",
        headers: { ...key(), "content-type": "application/json" },
        payload: JSON.stringify({ text: "x".repeat(100) }),
      }),
      status: 400,
      type: "errors/content_too_large",
      detail: /16 bytes/,
    },
    {
      name: "415: a content type no parser accepts",
      request: () => ({
        method: "POST",
        url: "/api/v1/webhooks",
        headers: { ...key(), "content-type": "application/xml" },
        payload: "<webhook/>",
      }),
      status: 415,
      type: "errors/unsupported_media_type",
      detail: /application\/xml/,
    },
    {
      name: "400: a JSON body that does not parse",
      request: () => ({
        method: "POST",
        url: "/api/v1/webhooks",
        headers: { ...key(), "content-type": "application/json" },
        payload: '{"request_url":',
      }),
      status: 400,
      type: "errors/malformed_request",
      detail: /JSON/,
    },
    {
      name: "400: a query value over its documented length",
      request: () => ({
        method: "GET",
        url: `/api/v1/emails?account_id=x&from=${"a".repeat(400)}`,
        headers: key(),
      }),
      status: 400,
      type: "errors/too_many_characters",
      detail: /from/,
    },
    {
      name: "400: any_email with more addresses than Microsoft's URL can carry",
      request: () => ({
        method: "GET",
        url: `/api/v1/emails?account_id=x&any_email=${Array.from({ length: 21 }, (_, i) => `u${i}@x.io`).join(",")}`,
        headers: key(),
      }),
      status: 400,
      type: "errors/too_many_characters",
      detail: /any_email: at most 20 addresses/,
    },
    {
      name: "429: Microsoft's throttling after retries",
      request: () => ({ method: "GET", url: "/api/v1/__throttled", headers: key() }),
      status: 429,
      type: "errors/too_many_requests",
    },
  ];

  for (const c of cases) {
    it(`${c.name} gets ${c.type} with the JSON content type`, async () => {
      assertUnipileError(await t.app.inject(c.request()), c.status, c.type, c.detail);
    });
  }

  it("an invalid Content-Length gets 400 errors/malformed_request, not Fastify's own body", async () => {
    const raw = await rawExchange(
      port,
      "POST /api/v1/webhooks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}",
    );
    assertUnipileError(parseRaw(raw), 400, "errors/malformed_request", /Content-Length/);
  });

  it("headers over Node's 16 KB limit get 400 errors/too_many_characters, not Fastify's 431 body", async () => {
    const raw = await rawExchange(
      port,
      `GET /api/v1/accounts HTTP/1.1\r\nHost: x\r\nX-Filler: ${"a".repeat(20_000)}\r\n\r\n`,
    );
    assertUnipileError(parseRaw(raw), 400, "errors/too_many_characters", /headers/);
  });

  it("a request arriving while the server drains gets 503 errors/service_unavailable with Retry-After", async () => {
    // The first request holds a kept-alive connection open while the server closes; the second is
    // written on it once the drain has started.
    let second: (request: string) => void = () => {};
    const secondRequest = new Promise<string>((resolve) => {
      second = resolve;
    });
    const raw = rawExchange(
      port,
      `GET /api/v1/__slow HTTP/1.1\r\nHost: x\r\nX-API-KEY: ${t.apiKey}\r\n\r\n`,
      secondRequest,
    );
    await slowEntered;
    const closed = t.app.close();
    await drainStarted;
    second(`GET /api/v1/__probe HTTP/1.1\r\nHost: x\r\nX-API-KEY: ${t.apiKey}\r\n\r\n`);
    await probeAnswered;
    release();
    const text = await raw;
    await closed;
    const res = parseRaw(text.slice(text.indexOf("HTTP/1.1", 10)));
    assertUnipileError(res, 503, "errors/service_unavailable");
    assert.equal(res.headers["retry-after"], "5");
  });
});

describe("Graph answers that mean the request was too large for Microsoft", () => {
  const tooLong = (status: number, body: unknown) => translateGraphError(status, body);
  const page = "<HTML><BODY><h2>Bad Request - Request Too Long</h2></BODY></HTML>";
  for (const [name, error] of [
    ["414 URI Too Long", tooLong(414, { error: { code: "UnknownError", message: "<HTML>…" } })],
    ["431 Request Header Fields Too Large", tooLong(431, undefined)],
    [
      "400 'Request Too Long' from the front end",
      tooLong(400, { error: { code: "UnknownError", message: page } }),
    ],
  ] as const) {
    it(`${name} becomes 400 errors/too_many_characters, not a 5xx`, () => {
      assert.ok(error instanceof AppError);
      assert.equal(error.code, "too_many_characters");
      assert.equal(error.status, 400);
    });
  }
  it("any other 400 stays errors/invalid_parameters", () => {
    assert.equal(
      tooLong(400, { error: { code: "BadRequest", message: "Invalid filter clause" } }).code,
      "invalid_parameters",
    );
  });
});
