// Broken multipart bodies on the send and draft routes are the client's fault: 400 in Unipile's shape,
// naming what is wrong, never 500.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createTestApp, type TestApp } from "./support/app.ts";

const FORM = "multipart/form-data; boundary=XX";
const part = (headers: string, value: string) => `--XX\r\n${headers}\r\n\r\n${value}\r\n`;
const named = (name: string, value: string) => part(`Content-Disposition: form-data; name="${name}"`, value);

const cases: { name: string; contentType: string; payload: string; type: string; detail: RegExp }[] = [
  {
    name: "a multipart content type without a boundary",
    contentType: "multipart/form-data",
    payload: named("account_id", "x"),
    type: "errors/malformed_request",
    detail: /boundary/,
  },
  {
    name: "a body truncated inside a part",
    contentType: FORM,
    payload: '--XX\r\nContent-Disposition: form-data; name="to"\r\n\r\nabc',
    type: "errors/malformed_request",
    detail: /closing boundary/,
  },
  {
    name: "a boundary that never closes",
    contentType: FORM,
    payload: `${named("account_id", "x")}--XX\r\n`,
    type: "errors/malformed_request",
    detail: /closing boundary/,
  },
  {
    name: "a text part without a name",
    contentType: FORM,
    payload: `${part("Content-Disposition: form-data", "abc")}--XX--\r\n`,
    type: "errors/malformed_request",
    detail: /no name/,
  },
  {
    name: "a file part without a name",
    contentType: FORM,
    payload: `${part('Content-Disposition: form-data; filename=""\r\nContent-Type: application/octet-stream', "x".repeat(5000))}--XX--\r\n`,
    type: "errors/malformed_request",
    detail: /no name/,
  },
  {
    name: "a JSON body sent as multipart",
    contentType: FORM,
    payload: '{"account_id":"x","to":[]}',
    type: "errors/malformed_request",
    detail: /closing boundary/,
  },
  {
    name: "a multipart body sent as JSON",
    contentType: "application/json",
    payload: `${named("account_id", "x")}--XX--\r\n`,
    type: "errors/malformed_request",
    detail: /JSON/,
  },
  {
    name: "a text field over the form's field size",
    contentType: FORM,
    payload: `${named("body", "a".repeat(32 * 1024 * 1024 + 1))}--XX--\r\n`,
    type: "errors/content_too_large",
    detail: /"body" exceeds/,
  },
];

describe("malformed multipart bodies on POST /api/v1/emails and /api/v1/drafts", () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp("sqlite");
  });
  after(async () => {
    await t.dispose();
  });

  for (const url of ["/api/v1/emails", "/api/v1/drafts"]) {
    for (const c of cases) {
      it(`${url}: ${c.name} gets 400 ${c.type} saying what is wrong`, async () => {
        const res = await t.app.inject({
          method: "POST",
          url,
          headers: { "x-api-key": t.apiKey, "content-type": c.contentType },
          payload: c.payload,
        });
        assert.equal(res.statusCode, 400, res.body);
        assert.equal(res.headers["content-type"], "application/json; charset=utf-8");
        const body = res.json() as Record<string, unknown>;
        assert.equal(body.status, 400);
        assert.equal(body.type, c.type);
        assert.equal(body.title, "Bad Request");
        assert.match(String(body.detail), c.detail);
      });
    }
  }
});
