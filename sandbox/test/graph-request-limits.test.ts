// Microsoft's front end refuses over-long URLs and header blocks before Graph sees them; the sandbox
// answers like it, so Mailroom's handling of those answers is exercised over HTTP.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MAX_HEADER_BYTES, MAX_URL_BYTES } from "../src/graph/request-limits.ts";
import { type Sandbox, startSandbox } from "../src/server.ts";

describe("sandbox front-end length limits", () => {
  let sandbox: Sandbox;
  before(async () => {
    sandbox = await startSandbox({ port: 0 });
  });
  after(async () => {
    await sandbox.close();
  });

  it("a Graph URL over 16 KB gets 414 with an UnknownError body, before authentication", async () => {
    const filter = encodeURIComponent(`from/emailAddress/address eq '${"a".repeat(MAX_URL_BYTES)}'`);
    const res = await fetch(`${sandbox.url}/v1.0/me/messages?$filter=${filter}`);
    assert.equal(res.status, 414);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, "UnknownError");
    assert.match(body.error.message, /Request URL Too Long/);
  });

  it("request headers over 16 KB get 400 'Request Too Long'", async () => {
    const res = await fetch(`${sandbox.url}/v1.0/me`, {
      headers: { "x-filler": "a".repeat(MAX_HEADER_BYTES) },
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, "UnknownError");
    assert.match(body.error.message, /Request Too Long/);
  });

  it("a URL just under the limit reaches Graph (401 without a token)", async () => {
    const res = await fetch(`${sandbox.url}/v1.0/me/messages?$filter=${"a".repeat(8000)}`);
    assert.equal(res.status, 401);
  });
});
